/**
 * Public types of the Files API emulator. The emulator is a product feature (`claude-filesync
 * emulator`) and the test double every other module runs against.
 */
import type { FileMetadata } from '../files-api/wire.js';
import type { RateLimitMode } from './faults/server-limiter.js';

/** Faults injected into /v1 requests. Admin (/_emulator/) requests never see faults. */
export interface FaultConfig {
  /** Share (0..1) of /v1 requests answered 500 api_error. @default 0 */
  readonly error500Rate: number;
  /** Share (0..1) of /v1 requests answered 529 overloaded_error. @default 0 */
  readonly error529Rate: number;
  /** Share (0..1) of /v1 requests answered 429 rate_limit_error. @default 0 */
  readonly error429Rate: number;
  /** `retry-after` (seconds) on injected 429s and 529s; null sends none. @default null */
  readonly retryAfterSeconds: number | null;
  /** `retry-after-ms` on injected 429s and 529s; null sends none. @default null */
  readonly retryAfterMs: number | null;
  /** Share of /v1 requests whose socket is destroyed before handling (nothing stored). @default 0 */
  readonly resetRate: number;
  /** Share of uploads and deletes that do the work, then destroy the socket unanswered. @default 0 */
  readonly lostResponseRate: number;
  /** Milliseconds added before each /v1 response. @default 0 */
  readonly latencyMs: number;
  /**
   * Requests a minute per key (every client presenting one key shares its limit); the excess
   * gets 429 with `retry-after`. While set, /v1 answers carry `anthropic-ratelimit-requests-*`.
   * null = unlimited. @default null
   */
  readonly requestsPerMinute: number | null;
  /**
   * How `requestsPerMinute` is enforced: `token-bucket` (capacity = the limit, refilled
   * continuously, as the API documents) or `sliding-window` (at most the limit in any 60 s).
   * Changing it (or the limit) starts every key afresh. @default 'token-bucket'
   */
  readonly rateLimitMode: RateLimitMode;
  /** Whether the limiter's 429s carry `retry-after-ms` next to `retry-after`. @default true */
  readonly rateLimitRetryAfterMs: boolean;
  /** Accept /v1 requests and never answer them. @default false */
  readonly hang: boolean;
  /** Seed of the PRNG that draws the faults; setting it restarts the sequence. @default 1 */
  readonly seed: number;
}

export interface EmulatorLogger {
  info(obj: object, msg?: string): void;
}

export interface EmulatorOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 0 */
  port?: number;
  /** Folder that keeps files across restarts; null/undefined keeps them in memory. @default null */
  dataDir?: string | null;
  /** The accepted key; null accepts any non-empty key. @default null */
  apiKey?: string | null;
  /** Per-file limit; larger uploads get 413 request_too_large. @default 524288000 (500 MB) */
  maxFileBytes?: number;
  /**
   * Total bytes of unexpired files (the organization's storage); an upload beyond it gets 400
   * invalid_request_error with details.error_code storage_quota_exceeded and stores nothing.
   * Changeable at run time (setStorageLimitBytes, PUT /_emulator/storage). @default 1 TB
   */
  storageLimitBytes?: number;
  /**
   * Sent as `anthropic-workspace-id` on every answer. Default: a generated `wrkspc_…` id, kept
   * in the data folder (so a restart keeps it) when there is one. Changeable at run time
   * (setWorkspaceId, PUT /_emulator/workspace).
   */
  workspaceId?: string;
  faults?: Partial<FaultConfig>;
  /** Clock in ms since the epoch (may be fractional). @default Date.now */
  now?: () => number;
  logger?: EmulatorLogger;
}

/** A stored file: its GA-shape metadata (expires_at always present) plus the content's sha256. */
export interface StoredFile extends FileMetadata {
  /** Hex sha256 of the stored content. */
  sha256: string;
}

export type RouteName = 'upload' | 'list' | 'retrieve' | 'download' | 'delete';

export interface AnswerCounts {
  /** /v1 answers with a 2xx status. */
  accepted: number;
  /** /v1 answers with a 429 (limiter, storm or injected). */
  rejected429: number;
}

export interface EmulatorStats {
  /** RFC 3339 time of the start or of the last reset-stats, to turn counts into rates. */
  since: string;
  /** /v1 requests received (admin requests are not counted). */
  requests: number;
  byRoute: Record<RouteName, number>;
  /** Responses sent, by HTTP status (resets, lost responses and hangs send none). */
  byStatus: Record<number, number>;
  accepted: number;
  rejected429: number;
  byKind: Record<RouteName, AnswerCounts>;
  /** By key fingerprint (see keyLabel); answers to requests that failed authentication are not here. */
  byKey: Record<string, AnswerCounts>;
  /** rateLimited: 429s from requestsPerMinute; storm: 429s from a 429 storm. */
  injected: {
    e500: number;
    e529: number;
    e429: number;
    reset: number;
    lost: number;
    rateLimited: number;
    storm: number;
  };
  /** Request body bytes read on /v1 routes. */
  bytesReceived: number;
}

export interface AddFileInput {
  filename: string;
  bytes: Uint8Array;
  /** @default from the filename's extension, else application/octet-stream */
  mimeType?: string;
  /** @default false */
  downloadable?: boolean;
  expiresInSeconds?: number;
}
