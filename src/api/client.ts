/**
 * The Files API client on undici, for both API shapes (docs/files-api-facts.md §0): the facade the rest of
 * claude-filesync uses. Every verb is one RequestSpec on the transport (./transport.ts), which
 * holds the one keep-alive pool and the one retry loop; the multipart upload and its lost-answer
 * recovery live in ./upload.ts.
 */
import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { ConfigError, ErrorCode } from '../errors.js';
import { BadRequestError } from './errors.js';
import { encodeListQuery, nextBetaQuery, nextGaQuery, type ListQuery } from './pagination.js';
import { DEFAULT_MAX_RETRIES } from './retry.js';
import { Transport } from './transport.js';
import { asFileMetadata, badResponse } from './as-file-metadata.js';
import { readAll } from './read-all.js';
import { RECENT_UPLOADS_WINDOW_MS, RecentUploadsLookup } from './recent-uploads.js';
import { uploadFile } from './upload.js';
import {
  DEFAULT_LIST_LIMIT,
  DEFAULT_RECOVERY_LIST_LIMIT,
  DEFAULT_TIMEOUT_MS,
  INTENT_CLOCK_SKEW_MS,
} from '../files-api/limits.js';
import type {
  FilesApi,
  FilesClientOptions,
  ListOptions,
  ListPage,
  RecentFiles,
  UploadOptions,
  UploadResult,
  UploadSource,
} from './types.js';
import { DEFAULT_BASE_URL, type ApiShape, type DeletedFile, type FileMetadata } from '../files-api/wire.js';

/** Options beyond the contract's FilesClientOptions. */
export interface FilesClientExtraOptions {
  /** How far a stored file's created_at may lag our clock (see INTENT_CLOCK_SKEW_MS). @default 600_000 */
  recoveryClockSkewMs?: number;
  /** Page size of the lost-upload lookup. @default 100 */
  recoveryListLimit?: number;
  /** How long a lost-upload lookup waits for others to share its listing. @default RECENT_UPLOADS_WINDOW_MS */
  recoveryWindowMs?: number;
}

export type ResolvedClientOptions = Readonly<{
  apiKey: string;
  baseURL: string;
  shape: ApiShape;
  maxRetries: number;
  timeoutMs: number;
  recoveryClockSkewMs: number;
  recoveryListLimit: number;
  recoveryWindowMs: number;
}>;

/**
 * A list page in the client's shape. A page without a proper `data` array must not read as an
 * empty remote: reconcile would then upload everything again.
 */
function asListPage(raw: unknown): ListPage {
  if (raw === null || typeof raw !== 'object' || !Array.isArray((raw as { data?: unknown }).data)) {
    throw badResponse('a list page without a `data` array');
  }
  const r = raw as Record<string, unknown> & { data: unknown[] };
  const page: ListPage = { data: r.data.map((f) => asFileMetadata(f)) };
  // Read every field either shape may carry (the compatibility case sends both).
  if ('next_page' in r) page.nextPage = typeof r.next_page === 'string' ? r.next_page : null;
  if ('has_more' in r) page.hasMore = r.has_more === true;
  if ('first_id' in r) page.firstId = typeof r.first_id === 'string' ? r.first_id : null;
  if ('last_id' in r) page.lastId = typeof r.last_id === 'string' ? r.last_id : null;
  return page;
}

export class FilesClient implements FilesApi {
  readonly shape: ApiShape;
  readonly baseURL: string;
  readonly options: ResolvedClientOptions;
  #transport: Transport;
  #recent: RecentUploadsLookup;

  constructor(options: FilesClientOptions & FilesClientExtraOptions) {
    if (typeof options.apiKey !== 'string' || options.apiKey === '') {
      throw new ConfigError('The Files API client needs an API key, got none.', {
        hint: 'Set ANTHROPIC_API_KEY or the api key in the configuration.',
      });
    }
    const baseURL = (options.baseURL ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    try {
      new URL(baseURL);
    } catch (cause) {
      throw new ConfigError(`The API base URL is not a URL, got ${JSON.stringify(baseURL)}.`, { cause });
    }
    const shape = options.shape ?? 'ga';
    if (shape !== 'ga' && shape !== 'beta') {
      throw new ConfigError(`The API shape must be "ga" or "beta", got ${JSON.stringify(shape)}.`);
    }
    for (const [name, value, min] of [
      ['maxRetries', options.maxRetries, 0],
      ['maxInFlight', options.maxInFlight, 1],
      ['timeoutMs', options.timeoutMs, 1],
      ['recoveryClockSkewMs', options.recoveryClockSkewMs, 0],
      ['recoveryListLimit', options.recoveryListLimit, 1],
      ['recoveryWindowMs', options.recoveryWindowMs, 0],
    ] as const) {
      if (value !== undefined && !(Number.isInteger(value) && value >= min)) {
        throw new ConfigError(
          `Expected ${name} to be an integer >= ${min}, got ${JSON.stringify(value)} (${typeof value}).`,
        );
      }
    }
    if (options.recoveryListLimit !== undefined && options.recoveryListLimit > 1000) {
      throw new ConfigError(`Expected recoveryListLimit to be at most 1000, got ${options.recoveryListLimit}.`);
    }
    this.shape = shape;
    this.baseURL = baseURL;
    this.options = Object.freeze({
      apiKey: options.apiKey,
      baseURL,
      shape,
      maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      recoveryClockSkewMs: options.recoveryClockSkewMs ?? INTENT_CLOCK_SKEW_MS,
      recoveryListLimit: options.recoveryListLimit ?? DEFAULT_RECOVERY_LIST_LIMIT,
      recoveryWindowMs: options.recoveryWindowMs ?? RECENT_UPLOADS_WINDOW_MS,
    });
    // The key must not leak through util.inspect(client) into a log line.
    Object.defineProperty(this, 'options', { enumerable: false });
    this.#transport = new Transport({
      apiKey: options.apiKey,
      baseURL,
      shape,
      maxRetries: this.options.maxRetries,
      timeoutMs: this.options.timeoutMs,
      dispatcher: options.dispatcher,
      beforeRequest: options.beforeRequest,
      maxInFlight: options.maxInFlight,
      onRetryWait: options.onRetryWait,
      onAttempt: options.onAttempt,
      onResponse: options.onResponse,
      onWorkspaceId: options.onWorkspaceId,
      now: options.now ?? Date.now,
      random: options.random ?? Math.random,
    });
    this.#recent = new RecentUploadsLookup(async () => {
      const query = { limit: this.options.recoveryListLimit };
      const page = await this.listPage(query);
      return {
        files: page.data,
        complete: (this.shape === 'beta' ? nextBetaQuery : nextGaQuery)(query, page) === null,
      };
    }, this.options.recoveryWindowMs);
  }

  /** Closes the connection pool if this client created it. Idempotent. */
  close(): Promise<void> {
    return this.#transport.close();
  }

  async retrieve(fileId: string, options: { signal?: AbortSignal } = {}): Promise<FileMetadata> {
    return this.#transport.request<FileMetadata>({
      method: 'GET',
      path: `/v1/files/${encodeURIComponent(fileId)}`,
      signal: options.signal,
      consume: async (body, touch) => asFileMetadata(await this.#transport.json(body, touch)),
    });
  }

  async delete(fileId: string, options: { signal?: AbortSignal } = {}): Promise<DeletedFile> {
    return this.#transport.request<DeletedFile>({
      method: 'DELETE',
      path: `/v1/files/${encodeURIComponent(fileId)}`,
      signal: options.signal,
      consume: (body, touch) => this.#transport.json(body, touch),
      // A 404 after an attempt that got no answer: the lost attempt did the work.
      onFailure: (failed) =>
        failed.earlierUnanswered && failed.status === 404 ? { value: { id: fileId, type: 'file_deleted' } } : undefined,
    });
  }

  /**
   * The content of a downloadable file. With `toPath`, streams it into a temporary file beside
   * `toPath` and renames it into place (so a reader never sees half a file), returning null.
   */
  async download(fileId: string, options: { toPath?: string; signal?: AbortSignal } = {}): Promise<Uint8Array | null> {
    const path = `/v1/files/${encodeURIComponent(fileId)}/content`;
    const headers = { accept: 'application/binary' };
    const toPath = options.toPath;
    if (toPath === undefined) {
      return this.#transport.request<Uint8Array>({
        method: 'GET',
        path,
        headers,
        signal: options.signal,
        consume: async (body, touch) => new Uint8Array(await readAll(body, touch)),
      });
    }
    await this.#transport.request<null>({
      method: 'GET',
      path,
      headers,
      signal: options.signal,
      consume: async (body, touch) => {
        const tmp = join(dirname(toPath), `.${basename(toPath)}.${randomBytes(6).toString('hex')}.download`);
        try {
          await pipeline(
            body,
            async function* (source: AsyncIterable<Uint8Array>) {
              for await (const chunk of source) {
                touch();
                yield chunk;
              }
            },
            createWriteStream(tmp),
          );
          await rename(tmp, toPath);
        } catch (err) {
          await unlink(tmp).catch(() => {});
          throw err;
        }
        return null;
      },
    });
    return null;
  }

  /** One page of the listing, in the client's shape. */
  async listPage(query: ListQuery = {}, options: { signal?: AbortSignal | undefined } = {}): Promise<ListPage> {
    const qs = encodeListQuery(query);
    return this.#transport.request<ListPage>({
      method: 'GET',
      path: `/v1/files${qs ? `?${qs}` : ''}`,
      signal: options.signal,
      // Checked inside the loop: a garbled page is retried like any other garbled answer.
      consume: async (body, touch) => asListPage(await this.#transport.json(body, touch)),
    });
  }

  /**
   * Every file, newest first, page by page (1000 per page by default). Beta: forward from
   * `afterId`, or in reverse (newer files) from `beforeId`, as the SDKs' Page. GA: `page`
   * cursors, or one page of exactly `ids`.
   */
  async *list(options: ListOptions = {}): AsyncGenerator<FileMetadata> {
    let query: ListQuery | null = this.#firstListQuery(options);
    const next = this.shape === 'beta' ? nextBetaQuery : nextGaQuery;
    while (query) {
      const page = await this.listPage(query, { signal: options.signal });
      yield* page.data;
      query = next(query, page);
    }
  }

  #firstListQuery(options: ListOptions): ListQuery {
    const limit = options.limit ?? DEFAULT_LIST_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new BadRequestError(
        ErrorCode.ApiBadOption,
        `The list limit must be an integer from 1 to 1000, got ${limit}.`,
      );
    }
    if (this.shape === 'ga') {
      if (options.beforeId !== undefined || options.afterId !== undefined) {
        throw new BadRequestError(
          ErrorCode.ApiBadOption,
          'beforeId/afterId need the beta API shape; the GA shape pages with cursors.',
        );
      }
      if (options.ids !== undefined) {
        const ids = [...new Set(options.ids)];
        if (ids.length > 100) {
          throw new BadRequestError(
            ErrorCode.ApiBadOption,
            `The API takes at most 100 ids per list, got ${ids.length}.`,
          );
        }
        // ids[] cannot be combined with limit or page (docs/files-api-facts.md §1.3).
        return { ids };
      }
      return { limit };
    }
    if (options.ids !== undefined) {
      throw new BadRequestError(ErrorCode.ApiBadOption, 'Listing by ids needs the GA API shape.');
    }
    const query: ListQuery = { limit };
    if (options.beforeId !== undefined) query.before_id = options.beforeId;
    if (options.afterId !== undefined) query.after_id = options.afterId;
    return query;
  }

  /**
   * The newest files (one page of recoveryListLimit), from a listing sent after this call and
   * shared by every caller within a few milliseconds (./recent-uploads.ts): what an upload whose
   * answer was lost may have stored.
   */
  recentFiles(options: { signal?: AbortSignal | undefined } = {}): Promise<RecentFiles> {
    return this.#recent.newest(options.signal);
  }

  /** Listings sent by recentFiles() so far. */
  get recentListings(): number {
    return this.#recent.listings;
  }

  /** See uploadFile (./upload.ts). */
  async upload(source: UploadSource, options: UploadOptions): Promise<UploadResult> {
    return uploadFile(
      {
        transport: this.#transport,
        shape: this.shape,
        recentFiles: (signal) => this.recentFiles({ signal }),
        recoveryClockSkewMs: this.options.recoveryClockSkewMs,
      },
      source,
      options,
    );
  }
}

/** A client for the given options (the config layer resolves key, base URL and shape). */
export function createFilesClient(options: FilesClientOptions & FilesClientExtraOptions): FilesClient {
  return new FilesClient(options);
}
