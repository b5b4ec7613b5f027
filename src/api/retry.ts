/**
 * The SDKs' retry policy as pure data and functions (docs/files-api-facts.md §5). No IO, no clock, no
 * randomness of its own: `now` and `random` come in as arguments so the tests can pin them.
 */
import { ErrorCode } from '../errors.js';

/** Statuses retried when the server says nothing through `x-should-retry`. Any status >= 500 too. */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 409, 429]);

/**
 * Stable codes (src/api/errors.ts) of failures that got no usable answer and that the policy
 * retries: the request may not have arrived, or its answer was lost or garbled. An APIError with
 * one of these codes is `retryable` unless it says otherwise.
 */
export const RETRYABLE_ERROR_CODES: ReadonlySet<string> = new Set([
  ErrorCode.ApiConnection,
  ErrorCode.ApiTimeout,
  ErrorCode.ApiBadResponse,
  ErrorCode.UploadUnconfirmed,
]);

/** undici's codes for a timer of its own that fired: a timeout, retried. */
export const TIMEOUT_ERROR_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** undici's codes for a pool that was closed under the request: no retry can succeed. */
export const CLIENT_CLOSED_ERROR_CODES: ReadonlySet<string> = new Set(['UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);

/**
 * Failures that are not the connection's: a bad argument to undici, a local file that cannot be
 * read. Not retried; anything else without a response is a connection failure, which is.
 */
export const LOCAL_FAILURE_ERROR_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_INVALID_ARG',
  'ENOENT',
  'EACCES',
  'EISDIR',
  'EPERM',
  'EMFILE',
  'ENFILE',
]);

export const DEFAULT_MAX_RETRIES = 2;
const INITIAL_RETRY_DELAY_S = 0.5;
const MAX_RETRY_DELAY_S = 8;

/** What one attempt ended with, as far as the policy cares. */
export type AttemptOutcome =
  | { kind: 'response'; status: number; headers: Readonly<Record<string, string>> }
  /** No usable response: refused, reset, closed, DNS. */
  | { kind: 'connection' }
  /** Our own per-attempt timer (or undici's) fired. */
  | { kind: 'timeout' }
  /** The caller's signal fired. */
  | { kind: 'user-abort' }
  /** A failure no retry can mend: a local file unreadable, a source that changed, a body that is not JSON. */
  | { kind: 'fatal' };

/** Whether the SDKs would retry this outcome, ignoring how many retries remain. */
export function isRetryable(outcome: AttemptOutcome): boolean {
  switch (outcome.kind) {
    case 'user-abort':
    case 'fatal':
      return false;
    case 'connection':
    case 'timeout':
      return true;
    case 'response': {
      // The server's explicit word beats the status, in both directions.
      const should = outcome.headers['x-should-retry'];
      if (should === 'true') return true;
      if (should === 'false') return false;
      return RETRYABLE_STATUSES.has(outcome.status) || outcome.status >= 500;
    }
  }
}

interface RetryDelay {
  waitMs: number;
  /** True when the wait came from retry-after-ms / retry-after rather than default backoff. */
  fromServer: boolean;
}

/**
 * The wait before the next attempt, as TS SDK 0.120's `retryRequest`:
 * 1. `retry-after-ms` as float milliseconds, if it parses (and is not 0 when `retry-after` exists);
 * 2. else `retry-after` as float seconds, else as an HTTP date (minus `now`);
 * 3. else the default backoff. No upper bound (the SDK dropped its 60 s cap in 0.79.0).
 * A date in the past or a negative number means no wait (0). Where the SDK would sleep NaN ms
 * (an unparseable date) we use the default backoff instead, as Python does.
 *
 * @param retriesTaken retries already made: 0 before the first retry.
 */
export function retryDelay(
  headers: Readonly<Record<string, string>> | undefined,
  retriesTaken: number,
  now: number,
  random: number,
): RetryDelay {
  const serverMs = serverWaitMs((name) => headers?.[name], now);
  if (serverMs !== null) return { waitMs: serverMs, fromServer: true };
  return { waitMs: defaultBackoffMs(retriesTaken, random), fromServer: false };
}

/**
 * The wait the server asked for (steps 1 and 2 of retryDelay), or null when it asked none: the
 * one parse of `retry-after-ms` / `retry-after`, shared by the client's retry loop, the error it
 * throws (APIError.retryAfterMs) and the rate controller.
 */
export function serverWaitMs(header: (name: string) => string | null | undefined, now: number): number | null {
  let serverMs: number | undefined;
  const afterMs = header('retry-after-ms');
  if (afterMs) {
    const v = Number.parseFloat(afterMs);
    if (!Number.isNaN(v)) serverMs = v;
  }
  const after = header('retry-after');
  // `!serverMs` as the SDK: a retry-after-ms of 0 defers to retry-after when there is one.
  if (after && !serverMs) {
    const seconds = Number.parseFloat(after);
    if (!Number.isNaN(seconds)) {
      serverMs = seconds * 1000;
    } else {
      const date = Date.parse(after);
      if (!Number.isNaN(date)) serverMs = date - now;
    }
  }
  return serverMs !== undefined && Number.isFinite(serverMs) ? Math.max(0, serverMs) : null;
}

/** min(0.5 * 2^n, 8) seconds, times a jitter in (0.75, 1]. */
export function defaultBackoffMs(retriesTaken: number, random: number): number {
  const n = Math.min(Math.max(0, retriesTaken), 1000);
  const sleepSeconds = Math.min(INITIAL_RETRY_DELAY_S * 2 ** n, MAX_RETRY_DELAY_S);
  const jitter = 1 - random * 0.25;
  return sleepSeconds * jitter * 1000;
}

export type RetryDecision = { retry: false } | ({ retry: true } & RetryDelay);

/**
 * The whole decision after a failed attempt: retry (and how long to wait) or give up.
 * @param retriesTaken retries already made before this decision.
 */
export function decideRetry(
  outcome: AttemptOutcome,
  retriesTaken: number,
  maxRetries: number,
  now: number,
  random: number,
): RetryDecision {
  if (retriesTaken >= maxRetries || !isRetryable(outcome)) return { retry: false };
  const headers = outcome.kind === 'response' ? outcome.headers : undefined;
  return { retry: true, ...retryDelay(headers, retriesTaken, now, random) };
}
