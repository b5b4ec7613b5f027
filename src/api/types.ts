/**
 * The client's contract: what the sync engine asks of the Files API and the hooks it is told
 * through. The wire shapes themselves are src/files-api/wire.ts.
 */
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';

import type { ApiShape, DeletedFile, FileMetadata } from '../files-api/wire.js';

/** A retry about to happen, and how long to wait before it (see FilesClientOptions.beforeRequest). */
export interface RetryWaitInfo {
  status: number | null;
  /** How long to wait before the next attempt (for a 429 with a gate: how long the gate should pause). */
  waitMs: number;
  /** True when the wait came from retry-after / retry-after-ms rather than default backoff. */
  fromServer: boolean;
  attempt: number;
  requestId: string | null;
  method: string;
  path: string;
}

/** One attempt that has ended, whatever its outcome (see FilesClientOptions.onAttempt). */
export interface AttemptInfo {
  method: string;
  /** Path and query, relative to the base URL's path. */
  path: string;
  /** The HTTP status, or null when no response came (a reset, a timeout, an abort). */
  status: number | null;
  /** 'ok' for a 2xx read in full, 'response' for another status, else why there was none. */
  outcome: 'ok' | 'response' | 'connection' | 'timeout' | 'user-abort' | 'fatal';
}

/** One answer (or its absence) to one attempt, as `onResponse` reports it. */
export interface ResponseInfo {
  /** The HTTP status, or null when no answer came (reset, refused, timed out, aborted). */
  status: number | null;
  /** Response headers, names in lower case; empty when no answer came. */
  headers: Readonly<Record<string, string>>;
  /** The client's clock when the attempt was sent. */
  startedAt: number;
}

export interface FilesClientOptions {
  apiKey: string;
  /** Default https://api.anthropic.com. */
  baseURL?: string;
  /** @default 'ga' */
  shape?: ApiShape;
  /** Retries after the first attempt. @default 2 (as the SDKs) */
  maxRetries?: number;
  /** Per-attempt timeout in ms. @default 600_000 (as the SDKs) */
  timeoutMs?: number;
  /** One keep-alive pool for every request; tests may pass a MockAgent. */
  dispatcher?: Dispatcher;
  /**
   * Awaited before every attempt (first and retries), with the request's signal. The daemon
   * passes its request gate's `acquire` here: the gate spaces requests and holds them all while
   * the API has asked us to back off.
   *
   * One answer to a 429: when this hook and `onRetryWait` are both given, a 429 is reported
   * through `onRetryWait` (with the server's wait, or the default backoff) and the client does
   * NOT sleep; it goes straight back to this hook, which waits out the pause the gate has set.
   * Such a 429 is waiting, not failing: it does not count against `maxRetries`, so a storm of
   * any length ends with the request done (or aborted through its signal), never failed.
   * Without this hook (the CLI's `files` command) the client sleeps the wait itself. Waits after
   * a 5xx, a reset or a timeout are always the client's own per-request sleep.
   */
  beforeRequest?: (signal?: AbortSignal) => Promise<void>;
  /**
   * Attempts in flight at once, across every request of this client; more wait for a slot before
   * `beforeRequest`. The daemon sets it to queue.concurrency, so that its jobs can prepare (check
   * the file, record the upload intent) while as many requests as configured are on the wire.
   * @default no bound
   */
  maxInFlight?: number;
  /**
   * Called when a failed attempt will be retried, before the wait. `status` 429 means the API
   * asked to slow down; see `beforeRequest` for who waits then.
   */
  onRetryWait?: (info: RetryWaitInfo) => void;
  /** Called after every attempt (first and retries) with its outcome; the daemon's metrics count them. */
  onAttempt?: (info: AttemptInfo) => void;
  /**
   * Called once per attempt with its status and headers as soon as they arrive (before the body
   * is read), or with status null when no answer came. The request gate learns the server's rate
   * limit from every answer, not only from 429s (`anthropic-ratelimit-requests-*`).
   */
  onResponse?: (info: ResponseInfo) => void;
  /** Called with the `anthropic-workspace-id` of every answer that carries one (success or error). */
  onWorkspaceId?: (id: string) => void;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
  /** Random in [0,1) for jitter, for tests. @default Math.random */
  random?: () => number;
}

/** Where the bytes of an upload come from. A path is streamed from disk in constant memory. */
export type UploadSource =
  | { path: string }
  | { bytes: Uint8Array }
  | { stream: Readable | AsyncIterable<Uint8Array>; size: number };

export interface UploadOptions {
  /** The remote filename: 1–255 characters, none of / \ < > : " | ? * or control characters. */
  filename: string;
  /** Default: from the filename's extension, else application/octet-stream. */
  mimeType?: string;
  /** GA only: 3600..7_776_000. */
  expiresInSeconds?: number;
  /** For a path source: the inode the caller scanned; another file at that path is refused. */
  expectedIno?: number;
  /**
   * Remote files known to exist before this upload (e.g. the previous copy of the same path).
   * When a response is lost, the client looks for the stored file by name and size; these ids are
   * never taken for it, so an older copy of the same name and size cannot be mistaken for the new one.
   */
  recoveryExcludeIds?: readonly string[];
  signal?: AbortSignal;
}

export interface UploadResult {
  file: FileMetadata;
  /** sha256 (hex) of the bytes actually sent in the attempt that stored the file. */
  sha256: string;
  bytesSent: number;
  /**
   * True when the response was lost and the file was found by listing instead of uploading a
   * second copy.
   */
  recovered: boolean;
}

export interface ListOptions {
  /** Page size, 1..1000. @default 1000 */
  limit?: number;
  /** Beta only: page backwards from before_id (newer files), as the SDKs' reverse mode. */
  beforeId?: string;
  /** Beta only: start after this id. */
  afterId?: string;
  /** GA only: fetch exactly these ids (≤100), one page. */
  ids?: string[];
  signal?: AbortSignal;
}

export interface ListPage {
  data: FileMetadata[];
  /** GA cursor. */
  nextPage?: string | null;
  /** Beta fields. */
  hasMore?: boolean;
  firstId?: string | null;
  lastId?: string | null;
}

/** The newest files, one page. */
export interface RecentFiles {
  files: FileMetadata[];
  /** No older file exists: the page is the whole listing. */
  complete: boolean;
}

/** The client contract the sync engine depends on (src/api/client.ts implements it). */
export interface FilesApi {
  readonly shape: ApiShape;
  readonly baseURL: string;
  upload(source: UploadSource, options: UploadOptions): Promise<UploadResult>;
  retrieve(fileId: string, options?: { signal?: AbortSignal }): Promise<FileMetadata>;
  delete(fileId: string, options?: { signal?: AbortSignal }): Promise<DeletedFile>;
  /** Every file, page by page (newest first), as an async iterator. */
  list(options?: ListOptions): AsyncIterable<FileMetadata>;
  /**
   * The newest files (one short page), from a listing sent after the call; concurrent callers
   * share one listing. What an upload whose answer was lost may have stored.
   */
  recentFiles(options?: { signal?: AbortSignal | undefined }): Promise<RecentFiles>;
  /** Bytes of a downloadable file; with `toPath`, streams it to that file and returns null. */
  download(fileId: string, options?: { toPath?: string; signal?: AbortSignal }): Promise<Uint8Array | null>;
  close(): Promise<void>;
}
