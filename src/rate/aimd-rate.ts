/**
 * The rate controller's AIMD rate (src/rate/rate-controller.ts), so that several daemons on one
 * key converge to equal shares. Pure: no timers; every method takes `now` (ms).
 *
 * Each congestion signal multiplies the rate by β ≈ 0.85 (at most once per round trip: the 429s
 * of requests already in flight belong to the same episode); between signals the rate grows by a
 * fixed amount per second (0.3 % of the limit per second, so the daemons on a key together climb
 * back a few percent per minute; ten times that while the headers show the key's budget well
 * above its reserve, which every daemon on the key sees alike, so the increase stays equal
 * across them). Multiplicative decrease shrinks the gap between a large and a small share,
 * additive increase keeps it, so repeated rounds converge to equal shares (Chiu and Jain's
 * argument for TCP). β and the increase carry ±5 % random jitter, so daemons that saw the same
 * signal do not move in lock step and overshoot together. On a token bucket, the rounds spent
 * below the limit refill the server's bucket and the rounds above it spend that reserve, so the
 * throughput stays at the limit while the rates saw-tooth around it.
 *
 * Growth does not run during a pause: it counts from the later of the last change and the
 * pause's end, so every method takes the controller's `pausedUntil`, and `limit` (the learned
 * one, or null: the configured rate stands in) sets the increase's size.
 */

/** Multiplicative decrease on a congestion signal (before jitter). */
export const DECREASE_FACTOR = 0.85;
/** Additive increase per second, as a share of the limit. */
export const INCREASE_PER_SECOND = 0.003;
/**
 * With headers, while the key's budget stays above twice its reserve the key as a whole is under
 * its limit: the additive increase runs this many times faster (every daemon sees the same
 * budget, so their increases stay equal and the shares still converge).
 */
export const FAST_INCREASE = 10;
/** After a window's 429: the share of what the window took in its last minute to go on at. */
export const WINDOW_MARGIN = 0.95;
/** Jitter applied to both, ±. */
export const JITTER = 0.05;
/** The rate never drops below this (requests per minute). */
export const MIN_RPM = 1;

export class AimdRate {
  readonly #max: number;
  #random: () => number;
  /** The rate (per minute) as of `#at`; grows additively from there. */
  #rate: number;
  #at: number;
  #lastDecreaseAt = -Infinity;
  /** The additive increase's pace: FAST_INCREASE while the key's budget is well above its reserve. */
  #increaseFactor = 1;

  /** Starts at `requestsPerMinute`, the upper bound the rate never exceeds. */
  constructor(requestsPerMinute: number, now: number, random: () => number) {
    this.#max = requestsPerMinute;
    this.#rate = requestsPerMinute;
    this.#at = now;
    this.#random = random;
  }

  /** The rate (per minute) at `now`, grown additively since the last change or pause. */
  at(now: number, pausedUntil: number, limit: number | null): number {
    if (this.#rate >= this.#max) return this.#max;
    const ref = limit ?? this.#max;
    const seconds = Math.max(0, now - Math.max(this.#at, pausedUntil)) / 1000;
    const grown = this.#rate + ref * INCREASE_PER_SECOND * this.#increaseFactor * seconds;
    return Math.min(this.#max, grown);
  }

  /**
   * Keeps the growth so far and sets its pace from here on: fast while the key's budget is well
   * above its reserve (the same for every daemon on the key, so the increase stays additive and
   * fair).
   */
  pace(now: number, pausedUntil: number, limit: number | null, fast: boolean): void {
    if (this.#rate < this.#max && now > Math.max(this.#at, pausedUntil)) {
      this.#rate = this.at(now, pausedUntil, limit);
      this.#at = now;
    }
    this.#increaseFactor = fast ? FAST_INCREASE : 1;
  }

  /**
   * A congestion signal: multiplicative decrease, once per round trip. `share` is the estimate of
   * this daemon's share (per minute) or null; `window` says the share is exact (what a window
   * took in its minute). Returns whether it cut.
   */
  decrease(
    now: number,
    startedAt: number | undefined,
    share: number | null,
    pausedUntil: number,
    limit: number | null,
    window: boolean,
  ): boolean {
    // An answer to a request that started before the last cut reflects the old rate.
    if (startedAt !== undefined && startedAt <= this.#lastDecreaseAt) return false;
    if (startedAt === undefined && now - this.#lastDecreaseAt < 1_000) return false;
    const current = this.at(now, pausedUntil, limit);
    let base = Math.min(current, this.#max);
    if (share !== null) base = Math.min(base, share / DECREASE_FACTOR);
    if (limit !== null) base = Math.min(base, limit);
    const jitter = 1 + JITTER * (2 * this.#random() - 1);
    // A window states the share exactly: go just under it.
    this.#rate =
      window && share !== null
        ? Math.max(MIN_RPM, Math.min(current, share) * WINDOW_MARGIN * jitter)
        : Math.max(MIN_RPM, base * DECREASE_FACTOR * jitter);
    this.#at = now;
    this.#lastDecreaseAt = now;
    return true;
  }

  /** After a storm or an outage: back to `before` (the rate from before it) if that is higher. */
  restore(now: number, pausedUntil: number, limit: number | null, before: number): void {
    this.#rate = Math.max(this.at(now, pausedUntil, limit), before);
    this.#at = now;
  }
}
