/**
 * The Files API client on undici, for both API shapes (docs/files-api-facts.md §0). One keep-alive Agent
 * serves every request; the retry policy is the SDKs' (./retry.ts); uploads stream a hand-built
 * multipart body (./multipart.ts) and never create the duplicate the SDKs create when a response
 * is lost (see #recoverLostUpload).
 */
import { createWriteStream } from 'node:fs';
import { constants as fsConstants } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { Agent, type Dispatcher } from 'undici';
import mime from 'mime-types';
import { USER_AGENT } from '../version.js';
import { ConfigError } from '../errors.js';
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  BadRequestError,
  UploadSourceError,
  errorFromResponse,
  redact,
  type ResponseHeaders,
} from './errors.js';
import { MultipartBody, chunksOf, layoutMultipart } from './multipart.js';
import { ProgressTimer } from './progress-timer.js';
import { encodeListQuery, nextBetaQuery, nextGaQuery, type ListQuery } from './pagination.js';
import { DEFAULT_MAX_RETRIES, decideRetry, isRetryable, type AttemptOutcome } from './retry.js';
import { filenameProblem } from './filename-rules.js';
import {
  ANTHROPIC_VERSION,
  BETA_HEADER_VALUE,
  DEFAULT_BASE_URL,
  type ApiShape,
  type DeletedFile,
  type FileMetadata,
  type FilesApi,
  type FilesClientOptions,
  type ListOptions,
  type ListPage,
  type UploadOptions,
  type UploadResult,
  type UploadSource,
} from './types.js';

export const DEFAULT_TIMEOUT_MS = 600_000;
export const DEFAULT_LIST_LIMIT = 1000;
/**
 * How far a remote `created_at` may lag our clock and still count as "created after the attempt
 * began" when looking for an upload whose response was lost. Two minutes covers ordinary NTP drift
 * and the time a server spends storing a large file before it stamps it; it is small enough that
 * an older file of the same name and size is rarely mistaken for the lost one.
 */
export const DEFAULT_RECOVERY_CLOCK_SKEW_MS = 120_000;
/** One short page, newest first, is enough to find a file uploaded seconds ago. */
export const DEFAULT_RECOVERY_LIST_LIMIT = 100;
/** Error bodies are read up to this size; the rest of a proxy's page is dropped. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const MIN_EXPIRES_IN_SECONDS = 3600;
const MAX_EXPIRES_IN_SECONDS = 7_776_000;

/** Options beyond the contract's FilesClientOptions. */
export interface FilesClientExtraOptions {
  /** See DEFAULT_RECOVERY_CLOCK_SKEW_MS. @default 120_000 */
  recoveryClockSkewMs?: number;
  /** Page size of the lost-upload lookup. @default 100 */
  recoveryListLimit?: number;
}

export type ResolvedClientOptions = Readonly<{
  apiKey: string;
  baseURL: string;
  shape: ApiShape;
  maxRetries: number;
  timeoutMs: number;
  recoveryClockSkewMs: number;
  recoveryListLimit: number;
}>;

interface RequestSpec<T> {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path and query, relative to the base URL's path. */
  path: string;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
  /** A fresh body for each attempt. */
  body?: () => AsyncIterable<Uint8Array> | undefined;
  /** Reads a 2xx body; `touch` tells the progress timer that bytes arrived. */
  consume: (body: AsyncIterable<Uint8Array>, touch: () => void) => Promise<T>;
  /**
   * The value for a 404 on a retry after an attempt that got no answer: the lost attempt did the
   * work (a delete), so "not found" now means done.
   */
  notFoundAfterLost?: () => T;
}

type AttemptResult<T> =
  | { ok: true; value: T }
  | { ok: false; outcome: AttemptOutcome; error: Error; requestId: string | null; status: number | null };

function normalizeHeaders(raw: Record<string, string | string[] | undefined>): ResponseHeaders {
  const out: ResponseHeaders = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

const UNDICI_TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

function errorCodeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** An upload source with a path already opened (see upload()). */
type OpenedSource = Exclude<UploadSource, { path: string }> | { handle: FileHandle };

function badResponse(what: string): APIError {
  return new APIError('E_API_BAD_RESPONSE', `The API answered with a bad response: ${what}.`, {
    hint: 'Check the API base URL: it may point at something other than the Files API (a proxy, a captive portal).',
  });
}

/** Checks the fields claude-filesync relies on; anything else is a bad response, not a file. */
export function asFileMetadata(x: unknown): FileMetadata {
  const f = x as Partial<FileMetadata> | null;
  if (
    f === null ||
    typeof f !== 'object' ||
    typeof f.id !== 'string' ||
    f.id === '' ||
    typeof f.filename !== 'string' ||
    typeof f.size_bytes !== 'number' ||
    typeof f.created_at !== 'string'
  ) {
    throw badResponse('something that is not a file object (no id, filename, size_bytes or created_at)');
  }
  return f as FileMetadata;
}

async function readAll(body: AsyncIterable<Uint8Array>, touch: () => void, max = Infinity): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    touch();
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (total + buf.length > max) {
      chunks.push(buf.subarray(0, max - total));
      break;
    }
    chunks.push(buf);
    total += buf.length;
  }
  return Buffer.concat(chunks);
}

export class FilesClient implements FilesApi {
  readonly shape: ApiShape;
  readonly baseURL: string;
  readonly options: ResolvedClientOptions;
  #dispatcher: Dispatcher;
  #ownsDispatcher: boolean;
  #origin: string;
  #basePath: string;
  #beforeRequest: (() => Promise<void>) | undefined;
  #onRetryWait: FilesClientOptions['onRetryWait'];
  #now: () => number;
  #random: () => number;
  #closing: Promise<void> | undefined;

  constructor(options: FilesClientOptions & FilesClientExtraOptions) {
    if (typeof options.apiKey !== 'string' || options.apiKey === '') {
      throw new ConfigError('The Files API client needs an API key, got none.', {
        hint: 'Set ANTHROPIC_API_KEY or the api key in the configuration.',
      });
    }
    const baseURL = (options.baseURL ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    let url: URL;
    try {
      url = new URL(baseURL);
    } catch (cause) {
      throw new ConfigError(`The API base URL is not a URL, got ${JSON.stringify(baseURL)}.`, { cause });
    }
    const shape = options.shape ?? 'ga';
    if (shape !== 'ga' && shape !== 'beta') {
      throw new ConfigError(`The API shape must be "ga" or "beta", got ${JSON.stringify(shape)}.`);
    }
    for (const [name, value, min] of [
      ['maxRetries', options.maxRetries, 0],
      ['timeoutMs', options.timeoutMs, 1],
      ['recoveryClockSkewMs', options.recoveryClockSkewMs, 0],
      ['recoveryListLimit', options.recoveryListLimit, 1],
    ] as const) {
      if (value !== undefined && !(Number.isInteger(value) && value >= min)) {
        throw new ConfigError(`Expected ${name} to be an integer >= ${min}, got ${JSON.stringify(value)} (${typeof value}).`);
      }
    }
    if (options.recoveryListLimit !== undefined && options.recoveryListLimit > 1000) {
      throw new ConfigError(`Expected recoveryListLimit to be at most 1000, got ${options.recoveryListLimit}.`);
    }
    this.shape = shape;
    this.baseURL = baseURL;
    this.#origin = url.origin;
    this.#basePath = url.pathname.replace(/\/+$/, '');
    this.options = Object.freeze({
      apiKey: options.apiKey,
      baseURL,
      shape,
      maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      recoveryClockSkewMs: options.recoveryClockSkewMs ?? DEFAULT_RECOVERY_CLOCK_SKEW_MS,
      recoveryListLimit: options.recoveryListLimit ?? DEFAULT_RECOVERY_LIST_LIMIT,
    });
    // The key must not leak through util.inspect(client) into a log line.
    Object.defineProperty(this, 'options', { enumerable: false });
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.#dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 30_000 });
    this.#beforeRequest = options.beforeRequest;
    this.#onRetryWait = options.onRetryWait;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  /** Closes the connection pool if this client created it. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#ownsDispatcher ? this.#dispatcher.close() : Promise.resolve();
    return this.#closing;
  }

  async retrieve(fileId: string, options: { signal?: AbortSignal } = {}): Promise<FileMetadata> {
    return this.#request<FileMetadata>({
      method: 'GET',
      path: `/v1/files/${encodeURIComponent(fileId)}`,
      signal: options.signal,
      consume: async (body, touch) => asFileMetadata(await this.#json(body, touch)),
    });
  }

  async delete(fileId: string, options: { signal?: AbortSignal } = {}): Promise<DeletedFile> {
    return this.#request<DeletedFile>({
      method: 'DELETE',
      path: `/v1/files/${encodeURIComponent(fileId)}`,
      signal: options.signal,
      consume: (body, touch) => this.#json(body, touch),
      notFoundAfterLost: () => ({ id: fileId, type: 'file_deleted' }),
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
      return this.#request<Uint8Array>({
        method: 'GET',
        path,
        headers,
        signal: options.signal,
        consume: async (body, touch) => new Uint8Array(await readAll(body, touch)),
      });
    }
    await this.#request<null>({
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
  async listPage(query: ListQuery = {}, options: { signal?: AbortSignal } = {}): Promise<ListPage> {
    const qs = encodeListQuery(query);
    const raw = await this.#request<Record<string, unknown>>({
      method: 'GET',
      path: `/v1/files${qs ? `?${qs}` : ''}`,
      signal: options.signal,
      consume: (body, touch) => this.#json(body, touch),
    });
    // A page without a proper `data` array must not read as an empty remote: reconcile would
    // then upload everything again.
    if (raw === null || typeof raw !== 'object' || !Array.isArray(raw.data)) {
      throw badResponse('a list page without a `data` array');
    }
    const page: ListPage = { data: raw.data.map((f) => asFileMetadata(f)) };
    // Read every field either shape may carry (the compatibility case sends both).
    if ('next_page' in raw) page.nextPage = typeof raw.next_page === 'string' ? raw.next_page : null;
    if ('has_more' in raw) page.hasMore = raw.has_more === true;
    if ('first_id' in raw) page.firstId = typeof raw.first_id === 'string' ? raw.first_id : null;
    if ('last_id' in raw) page.lastId = typeof raw.last_id === 'string' ? raw.last_id : null;
    return page;
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
      throw new BadRequestError('E_API_BAD_OPTION', `The list limit must be an integer from 1 to 1000, got ${limit}.`);
    }
    if (this.shape === 'ga') {
      if (options.beforeId !== undefined || options.afterId !== undefined) {
        throw new BadRequestError('E_API_BAD_OPTION', 'beforeId/afterId need the beta API shape; the GA shape pages with cursors.');
      }
      if (options.ids !== undefined) {
        const ids = [...new Set(options.ids)];
        if (ids.length > 100) {
          throw new BadRequestError('E_API_BAD_OPTION', `The API takes at most 100 ids per list, got ${ids.length}.`);
        }
        // ids[] cannot be combined with limit or page (docs/files-api-facts.md §1.3).
        return { ids };
      }
      return { limit };
    }
    if (options.ids !== undefined) {
      throw new BadRequestError('E_API_BAD_OPTION', 'Listing by ids needs the GA API shape.');
    }
    const query: ListQuery = { limit };
    if (options.beforeId !== undefined) query.before_id = options.beforeId;
    if (options.afterId !== undefined) query.after_id = options.afterId;
    return query;
  }

  /**
   * Uploads a file as multipart/form-data. A `{path}` is stat'ed per attempt and streamed from
   * disk (at most the stat'ed size, so a growing file is not over-sent; a shrinking one aborts
   * with UploadSourceError). The returned sha256 is of the bytes that were sent.
   */
  async upload(source: UploadSource, options: UploadOptions): Promise<UploadResult> {
    if (!('path' in source)) return this.#upload(source, options);
    // Open once, without following a final symlink, and send every attempt from that one file:
    // a path swapped for a link between attempts can never make a retry read something else.
    const handle = await open(source.path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
    try {
      if (options.expectedIno !== undefined) {
        const st = await handle.stat();
        if (st.ino !== options.expectedIno) {
          throw new UploadSourceError(`${source.path} is no longer the file that was scanned (it was replaced); not uploaded.`, st.size, st.size);
        }
      }
      return await this.#upload({ handle }, options);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  async #upload(source: OpenedSource, options: UploadOptions): Promise<UploadResult> {
    const problem = filenameProblem(options.filename);
    if (problem !== null) {
      throw new BadRequestError('E_API_BAD_FILENAME', `The remote filename ${JSON.stringify(options.filename)} ${problem}.`, {
        hint: 'Rename the file, or let the sync engine derive a valid remote name.',
      });
    }
    const fields: Array<[string, string]> = [];
    if (options.expiresInSeconds !== undefined) {
      const s = options.expiresInSeconds;
      if (this.shape !== 'ga') {
        throw new BadRequestError('E_API_BAD_OPTION', 'expires_in_seconds needs the GA API shape.');
      }
      if (!Number.isInteger(s) || s < MIN_EXPIRES_IN_SECONDS || s > MAX_EXPIRES_IN_SECONDS) {
        throw new BadRequestError(
          'E_API_BAD_OPTION',
          `expires_in_seconds must be an integer from ${MIN_EXPIRES_IN_SECONDS} to ${MAX_EXPIRES_IN_SECONDS}, got ${s}.`,
        );
      }
      fields.push(['expires_in_seconds', String(s)]);
    }
    const mimeType = options.mimeType || mime.lookup(options.filename) || 'application/octet-stream';
    const layout = layoutMultipart(options.filename, mimeType, fields);
    const path = '/v1/files';
    const signal = options.signal;

    let retriesTaken = 0;
    /** Start of the earliest attempt whose complete body got no answer: the file may exist since. */
    let lostSince: number | undefined;
    let lostBody: MultipartBody | undefined;
    for (let attempt = 1; ; attempt++) {
      await this.#gate(signal);
      const size = await this.#sourceSize(source);
      let body: MultipartBody | undefined;
      const attemptStart = this.#now();
      const result = await this.#attempt<FileMetadata>(
        {
          method: 'POST',
          path,
          signal,
          headers: { 'content-type': layout.contentType },
          body: () => body,
          consume: async (b, touch) => asFileMetadata(await this.#json(b, touch)),
        },
        (touch) => {
          body = new MultipartBody(layout, size, () => this.#sourceChunks(source, size), touch);
          return body.contentLength;
        },
      );
      if (result.ok) {
        return { file: result.value, sha256: body!.digest(), bytesSent: body!.bytesSent, recovered: false };
      }
      if (body?.sourceError) throw body.sourceError;
      if (result.error instanceof UploadSourceError || !(result.error instanceof APIError)) throw result.error;

      const lost = (result.outcome.kind === 'connection' || result.outcome.kind === 'timeout') && body?.complete === true;
      if (lost) {
        lostSince ??= attemptStart;
        lostBody = body;
      }
      if (lostSince !== undefined && lostBody !== undefined && isRetryable(result.outcome)) {
        const found = await this.#recoverLostUpload(options, lostBody.size, lostSince);
        if (found) {
          return { file: found, sha256: lostBody.digest(), bytesSent: lostBody.bytesSent, recovered: true };
        }
      }
      // A stream can be read once: after its first byte was taken there is nothing to send again.
      if ('stream' in source && body?.sourceTouched) throw result.error;
      const decision = decideRetry(result.outcome, retriesTaken, this.options.maxRetries, this.#now(), this.#random());
      if (!decision.retry) throw result.error;
      await this.#wait(decision, attempt, result, 'POST', path, signal);
      retriesTaken++;
    }
  }

  /**
   * Looks for the file a lost response may have stored: the newest file in one short page with the
   * same filename and size, created no earlier than the attempt's start minus the clock-skew
   * allowance. The SDKs skip this and upload a second copy.
   */
  async #recoverLostUpload(options: UploadOptions, size: number, since: number): Promise<FileMetadata | undefined> {
    const limit = this.options.recoveryListLimit;
    const page = await this.listPage({ limit }, { signal: options.signal });
    const earliest = since - this.options.recoveryClockSkewMs;
    const excluded = new Set(options.recoveryExcludeIds ?? []);
    return page.data.find(
      (f) =>
        f.filename === options.filename &&
        f.size_bytes === size &&
        Date.parse(f.created_at) >= earliest &&
        !excluded.has(f.id),
    );
  }

  async #sourceSize(source: OpenedSource): Promise<number> {
    if ('handle' in source) return (await source.handle.stat()).size;
    if ('bytes' in source) return source.bytes.length;
    if (!Number.isInteger(source.size) || source.size < 0) {
      throw new BadRequestError('E_API_BAD_OPTION', `A stream source needs its size in bytes, got ${source.size}.`);
    }
    return source.size;
  }

  #sourceChunks(source: OpenedSource, size: number): AsyncIterable<Uint8Array> {
    if ('handle' in source) {
      return size === 0 ? chunksOf(new Uint8Array(0)) : source.handle.createReadStream({ start: 0, end: size - 1, autoClose: false });
    }
    if ('bytes' in source) return chunksOf(source.bytes);
    return source.stream;
  }

  /** A request with the SDKs' retries. */
  async #request<T>(spec: RequestSpec<T>): Promise<T> {
    let lost = false;
    for (let attempt = 1, retriesTaken = 0; ; attempt++) {
      await this.#gate(spec.signal);
      const result = await this.#attempt(spec);
      if (result.ok) return result.value;
      if (lost && result.status === 404 && spec.notFoundAfterLost) return spec.notFoundAfterLost();
      if (result.outcome.kind === 'connection' || result.outcome.kind === 'timeout') lost = true;
      const decision = decideRetry(result.outcome, retriesTaken, this.options.maxRetries, this.#now(), this.#random());
      if (!decision.retry) throw result.error;
      await this.#wait(decision, attempt, result, spec.method, spec.path, spec.signal);
      retriesTaken++;
    }
  }

  async #gate(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw new APIUserAbortError();
    await this.#beforeRequest?.();
    if (signal?.aborted) throw new APIUserAbortError();
  }

  async #wait(
    decision: { waitMs: number; fromServer: boolean },
    attempt: number,
    failed: { status: number | null; requestId: string | null },
    method: string,
    path: string,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    this.#onRetryWait?.({
      status: failed.status,
      waitMs: decision.waitMs,
      fromServer: decision.fromServer,
      attempt,
      requestId: failed.requestId,
      method,
      path,
    });
    try {
      await sleep(decision.waitMs, undefined, signal ? { signal } : undefined);
    } catch {
      throw new APIUserAbortError();
    }
  }

  /**
   * One attempt: send, read the whole response. Never throws for HTTP or network failures: they
   * come back as an outcome for the retry policy. `prepare` builds a per-attempt body and returns
   * its length.
   */
  async #attempt<T>(spec: RequestSpec<T>, prepare?: (touch: () => void) => number): Promise<AttemptResult<T>> {
    const controller = new AbortController();
    const timer = new ProgressTimer(this.options.timeoutMs, () => controller.abort());
    const signal = spec.signal ? AbortSignal.any([spec.signal, controller.signal]) : controller.signal;
    const headers: Record<string, string> = {
      'x-api-key': this.options.apiKey,
      'anthropic-version': ANTHROPIC_VERSION,
      'user-agent': USER_AGENT,
      accept: 'application/json',
      ...(this.shape === 'beta' ? { 'anthropic-beta': BETA_HEADER_VALUE } : {}),
      ...spec.headers,
    };
    let body: AsyncIterable<Uint8Array> | undefined;
    if (prepare) {
      headers['content-length'] = String(prepare(timer.touch));
      body = spec.body?.();
    }
    const path = `${this.#basePath}${spec.path}`;
    let status: number | null = null;
    let requestId: string | null = null;
    try {
      const res = await this.#dispatcher.request({
        origin: this.#origin,
        path,
        method: spec.method,
        headers,
        body: body as Dispatcher.DispatchOptions['body'],
        signal,
        // Backstops for our progress timer; undici pauses the headers timer while it writes.
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
      });
      timer.touch();
      status = res.statusCode;
      const resHeaders = normalizeHeaders(res.headers);
      requestId = resHeaders['request-id'] ?? null;
      if (res.statusCode >= 200 && res.statusCode < 300) {
        return { ok: true, value: await spec.consume(res.body, timer.touch) };
      }
      const text = (await readAll(res.body, timer.touch, MAX_ERROR_BODY_BYTES)).toString('utf8');
      const outcome: AttemptOutcome = { kind: 'response', status: res.statusCode, headers: resHeaders };
      const error = errorFromResponse({
        status: res.statusCode,
        headers: resHeaders,
        bodyText: text,
        method: spec.method,
        path: spec.path,
        retryable: isRetryable(outcome),
        apiKey: this.options.apiKey,
      });
      return { ok: false, outcome, error, requestId: error.requestId, status };
    } catch (err) {
      return { ok: false, ...this.#classify(err, spec, timer.fired), requestId, status: null };
    } finally {
      timer.clear();
    }
  }

  #classify(err: unknown, spec: RequestSpec<unknown>, timedOut: boolean): { outcome: AttemptOutcome; error: Error } {
    const where = `${spec.method} ${spec.path}`;
    if (err instanceof UploadSourceError) return { outcome: { kind: 'fatal' }, error: err };
    if (spec.signal?.aborted) {
      return { outcome: { kind: 'user-abort' }, error: new APIUserAbortError(`Request was aborted (${where}).`) };
    }
    // A 2xx whose body is garbled (a proxy, a truncated answer) is treated like a lost response:
    // retried, and an upload first looks for the file it may have stored.
    if (err instanceof APIError && err.code === 'E_API_BAD_RESPONSE') return { outcome: { kind: 'connection' }, error: err };
    if (err instanceof APIError) return { outcome: { kind: 'fatal' }, error: err };
    const code = errorCodeOf(err);
    if (timedOut || (code !== undefined && UNDICI_TIMEOUT_CODES.has(code))) {
      return {
        outcome: { kind: 'timeout' },
        error: new APIConnectionTimeoutError(`No progress from the API for ${this.options.timeoutMs} ms (${where}).`, {
          hint: 'Check the network, or raise the API timeout if the link is slow.',
          cause: err,
        }),
      };
    }
    if (code === 'UND_ERR_CLOSED' || code === 'UND_ERR_DESTROYED') {
      return {
        outcome: { kind: 'fatal' },
        error: new APIConnectionError(`The Files API client is closed (${where}).`, { retryable: false, cause: err }),
      };
    }
    if (code === 'UND_ERR_INVALID_ARG') return { outcome: { kind: 'fatal' }, error: err as Error };
    // Local failures (a file that cannot be read) are not the connection's fault: not retried.
    if (code !== undefined && /^E(NOENT|ACCES|ISDIR|PERM|MFILE|NFILE)$/.test(code)) {
      return { outcome: { kind: 'fatal' }, error: err as Error };
    }
    const detail = err instanceof Error ? redact(err.message, this.options.apiKey) : 'unknown error';
    return {
      outcome: { kind: 'connection' },
      error: new APIConnectionError(`Connection to the API failed: ${detail} (${where}).`, {
        hint: `Check the network, any proxy, and the API base URL (${this.baseURL}).`,
        cause: err,
      }),
    };
  }

  async #json<T>(body: AsyncIterable<Uint8Array>, touch: () => void): Promise<T> {
    const text = (await readAll(body, touch)).toString('utf8');
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new APIError('E_API_BAD_RESPONSE', `The API answered with a body that is not JSON: ${JSON.stringify(redact(text.slice(0, 200), this.options.apiKey))}.`, {
        hint: 'Check the API base URL: it may point at something other than the Files API.',
        cause,
      });
    }
  }
}
