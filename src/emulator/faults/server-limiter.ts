/**
 * The request limiters behind `requestsPerMinute`, one per key (a key stands for an
 * organization: every client presenting it shares its limit, as several daemons on one key do).
 * Pure: every method takes `now` in ms.
 *
 * - `token-bucket`: what the API documents (docs/files-api-facts.md §7): capacity = the limit, refilled
 *   continuously, so a burst can trip it even below the per-minute total.
 * - `sliding-window`: a strict window of the last 60 s of accepted requests; harsher on bursts
 *   at the window's edge (issue 9 measures clients against both).
 */

export type RateLimitMode = 'token-bucket' | 'sliding-window';
export const RATE_LIMIT_MODES: readonly RateLimitMode[] = ['token-bucket', 'sliding-window'];

export type TakeResult = { ok: true; remaining: number } | { ok: false; waitMs: number };

export interface RateLimiter {
  readonly perMinute: number;
  /** Takes one request's worth, or says how many ms until one is available. */
  take(nowMs: number): TakeResult;
  /** Requests that could be accepted right now (for `anthropic-ratelimit-requests-remaining`). */
  remaining(nowMs: number): number;
  /** When the limiter is completely refilled (for `anthropic-ratelimit-requests-reset`). */
  fullAt(nowMs: number): number;
}

const WINDOW_MS = 60_000;

export class TokenBucket implements RateLimiter {
  readonly perMinute: number;
  #tokens: number;
  #at: number;

  constructor(perMinute: number, nowMs: number) {
    this.perMinute = perMinute;
    this.#tokens = perMinute;
    this.#at = nowMs;
  }

  #refill(nowMs: number): void {
    const elapsed = Math.max(0, nowMs - this.#at);
    this.#tokens = Math.min(this.perMinute, this.#tokens + (elapsed * this.perMinute) / WINDOW_MS);
    this.#at = Math.max(this.#at, nowMs);
  }

  take(nowMs: number): TakeResult {
    this.#refill(nowMs);
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return { ok: true, remaining: Math.floor(this.#tokens) };
    }
    return { ok: false, waitMs: ((1 - this.#tokens) * WINDOW_MS) / this.perMinute };
  }

  remaining(nowMs: number): number {
    this.#refill(nowMs);
    return Math.floor(this.#tokens);
  }

  fullAt(nowMs: number): number {
    this.#refill(nowMs);
    return nowMs + ((this.perMinute - this.#tokens) * WINDOW_MS) / this.perMinute;
  }
}

/** At most floor(perMinute) accepted requests in any 60 s; refused requests do not count. */
export class SlidingWindow implements RateLimiter {
  readonly perMinute: number;
  readonly #capacity: number;
  /** Times of accepted requests still inside the window, oldest first. */
  readonly #accepted: number[] = [];
  #head = 0;

  constructor(perMinute: number) {
    this.perMinute = perMinute;
    this.#capacity = Math.max(1, Math.floor(perMinute));
  }

  #expire(nowMs: number): void {
    while (this.#head < this.#accepted.length && (this.#accepted[this.#head] as number) <= nowMs - WINDOW_MS)
      this.#head++;
    // Compact now and then so a long run does not keep every timestamp.
    if (this.#head > 1024 && this.#head * 2 > this.#accepted.length) {
      this.#accepted.splice(0, this.#head);
      this.#head = 0;
    }
  }

  #inWindow(): number {
    return this.#accepted.length - this.#head;
  }

  take(nowMs: number): TakeResult {
    this.#expire(nowMs);
    if (this.#inWindow() < this.#capacity) {
      this.#accepted.push(Math.max(nowMs, this.#accepted[this.#accepted.length - 1] ?? nowMs));
      return { ok: true, remaining: this.#capacity - this.#inWindow() };
    }
    return { ok: false, waitMs: (this.#accepted[this.#head] as number) + WINDOW_MS - nowMs };
  }

  remaining(nowMs: number): number {
    this.#expire(nowMs);
    return this.#capacity - this.#inWindow();
  }

  fullAt(nowMs: number): number {
    this.#expire(nowMs);
    const newest = this.#accepted[this.#accepted.length - 1];
    return this.#inWindow() === 0 || newest === undefined ? nowMs : newest + WINDOW_MS;
  }
}

export function createRateLimiter(mode: RateLimitMode, perMinute: number, nowMs: number): RateLimiter {
  return mode === 'sliding-window' ? new SlidingWindow(perMinute) : new TokenBucket(perMinute, nowMs);
}
