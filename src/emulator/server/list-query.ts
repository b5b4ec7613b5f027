/**
 * GET /v1/files in its three flavours (docs/files-api-facts.md §0, §1.3, §2), as pure functions over the
 * FileTable:
 * - beta (files-api-2025-04-14): after_id/before_id, body {data, has_more, first_id, last_id};
 * - GA: page/limit or ids[], body {data, next_page}; before_id/after_id refused;
 * - compat (managed-agents-2026-04-01 without the files beta): GA plus after_id/before_id and the
 *   beta fields next to next_page.
 */
import type { Entry, FileTable, Slice } from '../store/file-table.js';
import type { FileMetadata } from '../../files-api/wire.js';

export type ListMode = 'ga' | 'beta' | 'compat';

export const DEFAULT_LIST_LIMIT = 20;
export const MAX_LIST_LIMIT = 1000;
export const MAX_LIST_IDS = 100;

export type ListQuery =
  | { kind: 'ids'; ids: string[] }
  | { kind: 'page'; limit: number; page: string | null }
  | { kind: 'after'; limit: number; afterId: string }
  | { kind: 'before'; limit: number; beforeId: string };

/** A query the API refuses (400 invalid_request_error). */
export class ListQueryError extends Error {
  override readonly name = 'ListQueryError';
}

export function parseListQuery(params: URLSearchParams, mode: ListMode): ListQuery {
  const rawLimit = params.get('limit');
  let limit = DEFAULT_LIST_LIMIT;
  if (rawLimit !== null) {
    if (!/^\d+$/.test(rawLimit) || Number(rawLimit) < 1 || Number(rawLimit) > MAX_LIST_LIMIT) {
      throw new ListQueryError(
        `limit: expected an integer from 1 to ${MAX_LIST_LIMIT}, got ${JSON.stringify(rawLimit)}`,
      );
    }
    limit = Number(rawLimit);
  }
  const afterId = params.get('after_id');
  const beforeId = params.get('before_id');
  if (afterId !== null && beforeId !== null) throw new ListQueryError('before_id and after_id cannot be used together');

  if (mode === 'beta') {
    if (afterId !== null) return { kind: 'after', limit, afterId };
    if (beforeId !== null) return { kind: 'before', limit, beforeId };
    return { kind: 'page', limit, page: null };
  }

  const ids = [...params.getAll('ids[]'), ...params.getAll('ids')];
  const page = params.get('page');
  if (mode === 'ga' && (afterId !== null || beforeId !== null)) {
    throw new ListQueryError(
      'before_id and after_id are not supported on this API version; page with `page` and `next_page` instead',
    );
  }
  if (afterId !== null || beforeId !== null) {
    if (page !== null || ids.length > 0)
      throw new ListQueryError('before_id/after_id cannot be combined with page or ids[]');
    return afterId !== null
      ? { kind: 'after', limit, afterId }
      : { kind: 'before', limit, beforeId: beforeId as string };
  }
  if (ids.length > 0) {
    if (page !== null || rawLimit !== null) throw new ListQueryError('ids[] cannot be combined with page or limit');
    const unique = [...new Set(ids)];
    if (unique.length > MAX_LIST_IDS)
      throw new ListQueryError(`ids[]: at most ${MAX_LIST_IDS} ids, got ${unique.length}`);
    return { kind: 'ids', ids: unique };
  }
  return { kind: 'page', limit, page };
}

export function encodePageCursor(micros: number): string {
  return `page_${Buffer.from(`o:${micros}`).toString('base64url')}`;
}

export function decodePageCursor(cursor: string): number {
  const m = /^page_([A-Za-z0-9_-]+)$/.exec(cursor);
  const text = m?.[1] ? Buffer.from(m[1], 'base64url').toString('utf8') : '';
  const n = /^o:(\d+)$/.exec(text);
  if (!n?.[1]) throw new ListQueryError(`page: not a cursor this API returned: ${JSON.stringify(cursor.slice(0, 80))}`);
  return Number(n[1]);
}

export function runListQuery(
  table: FileTable,
  query: ListQuery,
  mode: ListMode,
  render: (entry: Entry) => FileMetadata,
): Record<string, unknown> {
  if (query.kind === 'ids') {
    const items = query.ids
      .map((id) => table.get(id))
      .filter((e): e is Entry => e !== undefined)
      .sort((a, b) => b.micros - a.micros);
    return body({ items, hasMore: false }, mode, render, false);
  }
  let slice: Slice;
  if (query.kind === 'after' || query.kind === 'before') {
    const id = query.kind === 'after' ? query.afterId : query.beforeId;
    const at = table.position(id);
    if (at === undefined) throw new ListQueryError(`${query.kind}_id: no file with id ${JSON.stringify(id)}`);
    slice = query.kind === 'after' ? table.olderThan(at, query.limit) : table.newerThan(at, query.limit);
  } else {
    slice =
      query.page === null ? table.newest(query.limit) : table.olderThan(decodePageCursor(query.page), query.limit);
  }
  // next_page always continues towards older files, whatever direction this page went.
  const last = slice.items[slice.items.length - 1];
  const olderRemain =
    query.kind === 'before' ? last !== undefined && table.olderThan(last.micros, 1).items.length > 0 : slice.hasMore;
  return body(slice, mode, render, olderRemain);
}

function body(
  slice: Slice,
  mode: ListMode,
  render: (e: Entry) => FileMetadata,
  olderRemain: boolean,
): Record<string, unknown> {
  const data = slice.items.map(render);
  const first = slice.items[0]?.file.id ?? null;
  const last = slice.items[slice.items.length - 1];
  const beta = { has_more: slice.hasMore, first_id: first, last_id: last?.file.id ?? null };
  if (mode === 'beta') return { data, ...beta };
  const next_page = olderRemain && last ? encodePageCursor(last.micros) : null;
  return mode === 'compat' ? { data, next_page, ...beta } : { data, next_page };
}
