/**
 * Next-page rules of the SDKs' paginators (docs/files-api-facts.md §2), pure: given the query that fetched a
 * page and the page, the query for the next one, or null when paging is over.
 */
import type { ListPage } from './types.js';

/** Query parameters of one list request (wire names). */
export interface ListQuery {
  limit?: number;
  /** GA cursor. */
  page?: string;
  /** Beta cursors. */
  before_id?: string;
  after_id?: string;
  /** GA: exact ids, one page. */
  ids?: readonly string[];
}

/**
 * Beta `Page`: reverse mode while the query carries a before_id (next before_id = first_id),
 * forward otherwise (next after_id = last_id). A missing has_more counts as false, as in TS.
 */
export function nextBetaQuery(query: ListQuery, page: ListPage): ListQuery | null {
  if (page.hasMore !== true) return null;
  if (page.data.length === 0) return null;
  if (query.before_id) {
    if (!page.firstId) return null;
    return { ...query, before_id: page.firstId };
  }
  if (!page.lastId) return null;
  return { ...query, after_id: page.lastId };
}

/** GA `PageCursor`: next page while data is non-empty and next_page is set. */
export function nextGaQuery(query: ListQuery, page: ListPage): ListQuery | null {
  if (page.data.length === 0 || !page.nextPage) return null;
  return { ...query, page: page.nextPage };
}

/** The query string (without '?'); arrays in bracket form (`ids[]=a&ids[]=b`) as the SDKs. */
export function encodeListQuery(query: ListQuery): string {
  const params = new URLSearchParams();
  if (query.limit !== undefined) params.append('limit', String(query.limit));
  if (query.page !== undefined) params.append('page', query.page);
  if (query.before_id !== undefined) params.append('before_id', query.before_id);
  if (query.after_id !== undefined) params.append('after_id', query.after_id);
  for (const id of query.ids ?? []) params.append('ids[]', id);
  return params.toString();
}
