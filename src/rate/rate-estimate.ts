/**
 * What the rate controller (src/rate/rate-controller.ts) learns about the server's limit: the
 * `anthropic-ratelimit-requests-*` and `retry-after` headers read, the budget they show, and the
 * estimate of this daemon's share of the limit at a congestion signal. Pure: no clock, no state
 * of its own; everything, `now` included, comes in (issue 9, files-api.md §5, §7, §11, §12).
 *
 * Why the share is estimated this way:
 * - **With headers** the key's rate is read from the budget's fall (plus its refill) since a mark
 *   a few seconds back, and this daemon's share is its own accepted rate scaled down by how far
 *   the key as a whole is over its limit.
 * - **Without headers** only a 429 says the budget is gone. The share is what the server accepted
 *   just before: since the previous 429 when there was one (the budget was empty at both ends, so
 *   what was accepted in between is exactly what the server refilled), otherwise as if the job
 *   started on a full bucket whose capacity is one minute of the limit (what `requests per
 *   minute` with a continuously refilled bucket means, §7): accepted = limit + limit × elapsed /
 *   60 s. After a long `retry-after` (a window that must drain) the share is simply what the
 *   server accepted in its last minute.
 * - A few acceptances say how busy we were, not what the server would grant: below
 *   MIN_EVIDENCE there is no estimate, and the controller only pauses.
 */
import { serverWaitMs } from '../api/retry.js';

/** Response headers as undici or fetch give them; names in lower case. */
export type HeaderSource =
  | Readonly<Record<string, string | string[] | undefined>>
  | { get(name: string): string | null };

/** Acceptances in the last minute below which a 429 teaches nothing about the limit. */
export const MIN_EVIDENCE = 10;

export const MINUTE = 60_000;

/** The server's budget as the headers last showed it, and what we spent of it since. */
export interface Budget {
  limit: number;
  remaining: number;
  /** When the server's bucket is full again, or null. */
  resetAt: number | null;
  at: number;
  /** Requests this controller started since `at`. */
  spent: number;
  /** The server's limiter, as the reset header last showed it. */
  shape: 'window' | 'bucket' | null;
}

/** A snapshot of the key's budget (taken about a second apart), to read the key's rate from. */
export interface BudgetMark {
  remaining: number;
  at: number;
  /** Our accepted count when it was taken. */
  accepted: number;
}

/**
 * A window's budget below which no request starts: a window refills only as old requests leave
 * it, all at the pace they came, so what the other daemons take shows late; a larger reserve.
 */
export function windowReserveFor(limit: number): number {
  return Math.max(2, Math.ceil(limit * 0.05));
}

/**
 * Budget left, in requests, at which a bucket's headers count as a congestion signal. Small: it
 * is also about what a job leaves unspent in the server's bucket at its end (marginFor).
 */
export function reserveFor(limit: number): number {
  return Math.max(2, Math.ceil(limit * 0.02));
}

/**
 * Acceptances in a row a header-less 429 needs behind it to cut the rate: ten seconds at the
 * rate (at most 400/min's worth), at least MIN_EVIDENCE. At 10 % random 429s, that many in a
 * row almost never happen; before a limiter's 429 the run is its whole cycle (the bucket
 * drained, or the additive increase climbing back over the limit).
 */
export function evidenceFor(rate: number): number {
  return Math.max(MIN_EVIDENCE, Math.min(rate, 400) / 6);
}

/**
 * Whether this daemon is the only one drawing from the key: over the last few seconds (from a
 * mark 2–8 s back) the budget fell by no more than what we were answered, plus its refill.
 * Read only while the bucket is well below full (a full bucket's refill is lost, and says
 * nothing). Alone, the surplus may be spent down to one request: no one else needs the margin,
 * and a job then ends with nothing left unspent in the server's bucket.
 */
export function aloneOnKey(
  marks: readonly BudgetMark[],
  now: number,
  remaining: number,
  limit: number,
  acceptedCount: number,
): boolean {
  const m = marks.find((k) => now - k.at >= 2_000 && now - k.at <= 8_000);
  if (m === undefined || m.remaining >= limit - 1 || remaining >= limit - 1) return false;
  const keyUsed = m.remaining - remaining + ((now - m.at) * limit) / MINUTE;
  const mine = acceptedCount - m.accepted;
  return keyUsed <= mine * 1.1 + 2;
}

/** Surplus above which the server's budget is spent at once, not paced. */
export function highWaterFor(limit: number): number {
  return Math.max(4, limit * 0.25);
}

/**
 * Budget the surplus spending leaves in the server's bucket: one more than the reserve, so that
 * spending it never reads as congestion. It is also what a job leaves unspent at its end.
 */
export function marginFor(limit: number): number {
  return reserveFor(limit) + 1;
}

/** What a bucket budget holds at `now`: refilled continuously since `at`, less what we spent. */
export function budgetLeft(b: Budget, now: number): number {
  const refilled = ((now - b.at) * b.limit) / MINUTE;
  return Math.min(b.limit, b.remaining + refilled) - b.spent;
}

export function isWindow(b: Budget): boolean {
  return b.shape === 'window';
}

/**
 * A window (reset a minute after the newest request) or a bucket (reset when refilled)? Only
 * tells when the budget is far from empty (both reset a minute ahead when it is empty).
 */
export function shapeOf(limit: number, remaining: number, resetIn: number): 'window' | 'bucket' | null {
  const bucketReset = ((limit - remaining) * MINUTE) / limit;
  if (MINUTE - bucketReset < 10_000) return null;
  return resetIn > bucketReset + 5_000 ? 'window' : 'bucket';
}

/** The `anthropic-ratelimit-requests-*` headers, each null when absent or not a number / date. */
export function rateLimitHeaders(h: HeaderSource | undefined): {
  limit: number | null;
  remaining: number | null;
  resetAt: number | null;
} {
  if (h === undefined) return { limit: null, remaining: null, resetAt: null };
  const reset = headerString(h, 'anthropic-ratelimit-requests-reset');
  const resetAt = reset === null ? NaN : Date.parse(reset);
  return {
    limit: headerNumber(h, 'anthropic-ratelimit-requests-limit'),
    remaining: headerNumber(h, 'anthropic-ratelimit-requests-remaining'),
    resetAt: Number.isFinite(resetAt) ? resetAt : null,
  };
}

interface ShareInput {
  now: number;
  /** 'window' or 'bucket' at a 429 (the limiter's shape as the wait showed it); null from headers. */
  kind: 'window' | 'bucket' | null;
  /** Times of accepted answers, oldest first; those before `head` have left the last minute. */
  accepted: readonly number[];
  head: number;
  /** Our accepted count so far. */
  acceptedCount: number;
  marks: readonly BudgetMark[];
  budget: Budget | null;
  /** When the server's budget was last known to be empty (a 429 from the limiter), or null. */
  emptyAt: number | null;
  /** When the controller began counting. */
  historyStart: number;
}

/**
 * The share of the limit this controller has been granted, per minute, from what the server
 * accepted before `now`; null when there is too little to go on.
 */
export function estimateShare(input: ShareInput): number | null {
  const { now, kind, accepted, head, emptyAt } = input;
  const minuteAgo = now - MINUTE;
  const inLastMinute = accepted.length - head;
  // A few acceptances say how busy we were, not what the server would grant (a daemon that
  // was idle before a storm): too little to estimate from.
  if (kind !== null && inLastMinute < MIN_EVIDENCE && (emptyAt === null || emptyAt < minuteAgo)) return null;
  if (kind === 'window') return inLastMinute > 0 ? inLastMinute : null;
  const m = input.marks.find((k) => now - k.at >= 2_000 && now - k.at <= 8_000) ?? null;
  if (kind === null && m !== null && input.budget !== null) {
    // Headers: my share = my accepted rate scaled down by how far the key as a whole is over
    // its limit, the key's rate read from the budget's fall (plus its refill) since the mark.
    const dt = now - m.at;
    if (dt < 1_000) return null;
    const b = input.budget;
    const keyRate = ((m.remaining - b.remaining) * MINUTE) / dt + b.limit;
    const mine = ((input.acceptedCount - m.accepted) * MINUTE) / dt;
    if (keyRate <= 0 || mine <= 0) return null;
    return (mine * b.limit) / Math.max(keyRate, b.limit);
  }
  if (emptyAt !== null && emptyAt >= minuteAgo && now - emptyAt >= 2_000) {
    let since = 0;
    for (let i = accepted.length - 1; i >= head && (accepted[i] as number) > emptyAt; i--) since++;
    return (since * MINUTE) / (now - emptyAt);
  }
  if (inLastMinute === 0) return null;
  // A minute of history: what the server granted in it is the share.
  if (now - input.historyStart >= MINUTE) return inLastMinute;
  // Less: assume the job began on a full bucket of one minute's worth, which it drained.
  return (inLastMinute * MINUTE) / (MINUTE + (now - input.historyStart));
}

function headerString(h: HeaderSource, name: string): string | null {
  if (typeof (h as { get?: unknown }).get === 'function') return (h as { get(n: string): string | null }).get(name);
  const v = (h as Readonly<Record<string, string | string[] | undefined>>)[name];
  if (v === undefined) return null;
  return Array.isArray(v) ? (v[0] ?? null) : v;
}

function headerNumber(h: HeaderSource, name: string): number | null {
  const s = headerString(h, name);
  if (s === null || s.trim() === '') return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

/** `retry-after-ms` (ms), else `retry-after` (seconds or an HTTP date), as the client reads them (src/api/retry.ts). */
export function retryAfterMs(h: HeaderSource | undefined, now: number): number | null {
  if (h === undefined) return null;
  return serverWaitMs((name) => headerString(h, name), now);
}
