/**
 * The key's budget as the `anthropic-ratelimit-requests-*` headers show it, and how the rate
 * controller (src/rate/rate-controller.ts) spends it. Pure: no timers; every method takes `now`.
 *
 * The headers give the limit and the budget left, which is the same number for every daemon on
 * the key. The budget is spent while it is large (a full bucket is a burst the server grants),
 * a local count of what was spent since the last answer keeps any request the budget cannot
 * cover from starting (requests in flight count as spent: they may reach the server after the
 * answer left it), and a budget falling to a small reserve is the congestion signal, before any
 * 429 (ECN-style): every daemon sees the same reserve crossing, so they all decrease together.
 * The surplus above the margin goes to whichever daemon asks first; every daemon asks at its
 * configured rate, so it splits about evenly, and the AIMD rates underneath keep converging.
 */
import {
  aloneOnKey,
  budgetLeft,
  highWaterFor,
  isWindow,
  marginFor,
  MINUTE,
  reserveFor,
  shapeOf,
  windowReserveFor,
} from './rate-estimate.js';
import type { Budget, BudgetMark } from './rate-estimate.js';

/**
 * What the surplus spending leaves in the key's bucket when we are alone on it: two requests,
 * not none, because the headers lag (an answer to an older request can arrive after a newer
 * one's) and the server's clock is not ours.
 */
export const ALONE_MARGIN = 2;

/** The three `anthropic-ratelimit-requests-*` headers of one answer, all present. */
interface BudgetHeaders {
  readonly limit: number;
  readonly remaining: number;
  readonly resetAt: number | null;
}

/** What a budget holds at `now` by its own account (a window's refill is not counted). */
function leftOf(b: Budget, now: number): number {
  return isWindow(b) ? b.remaining - b.spent : budgetLeft(b, now);
}

/** Own acceptances (`accepted`, oldest first) that left a 60-s window between `from` and `now`. */
function ownExpired(accepted: readonly number[], from: number, now: number): number {
  let n = 0;
  for (const t of accepted) if (t > from - MINUTE && t <= now - MINUTE) n++;
  return n;
}

/** How long until `count` more of our own acceptances leave the window; a poll interval if never. */
function untilOwnExpire(accepted: readonly number[], b: Budget, now: number, count: number): number {
  let n = 0;
  for (const t of accepted) {
    if (t <= now - MINUTE) continue;
    n++;
    if (n >= count) return Math.max(1, t + MINUTE - now);
  }
  return Math.ceil(MINUTE / b.limit);
}

export class KeyBudget {
  #budget: Budget | null = null;
  /** When the request whose answer set #budget started. */
  #budgetFrom = -Infinity;
  /** Budget snapshots about a second apart (the last ten), to read the key's rate from. */
  #marks: BudgetMark[] = [];
  /** The key's budget fell by no more than we spent, lately: nobody else draws from it. */
  #alone = false;

  /** The budget as last seen, with what we spent since; null before any headers. */
  get budget(): Budget | null {
    return this.#budget;
  }

  get marks(): readonly BudgetMark[] {
    return this.#marks;
  }

  /** The budget is a 60-s window (it refills only as old requests leave it). */
  get isWindow(): boolean {
    return this.#budget !== null && isWindow(this.#budget);
  }

  /**
   * An answer's headers. `inFlight`: our requests still unanswered; `startedAt`: when the
   * answered request started; `acceptedCount`: our acceptances so far.
   */
  observe(now: number, h: BudgetHeaders, inFlight: number, startedAt: number | undefined, acceptedCount: number): void {
    const { limit, remaining, resetAt } = h;
    const shape = resetAt !== null ? shapeOf(limit, remaining, resetAt - now) : null;
    // Our requests still in flight may reach the server after this answer left it: counted as
    // spent already (an overcount when they arrived first; never an undercount).
    const next: Budget = {
      limit,
      remaining,
      resetAt,
      at: now,
      spent: inFlight,
      shape: shape ?? this.#budget?.shape ?? null,
    };
    // An answer to an older request can arrive after a newer one's and show a budget from
    // before the newer one took its share: keep the lower of the two views then.
    const from = startedAt ?? now;
    const prev = this.#budget;
    const stale =
      prev !== null && prev.limit === limit && from < this.#budgetFrom && leftOf(prev, now) < leftOf(next, now);
    if (!stale) {
      this.#budget = next;
      this.#budgetFrom = from;
    }
    // The mark the key's rate is measured from: a few seconds back, renewed as time goes on.
    const last = this.#marks[this.#marks.length - 1];
    if (last === undefined || now - last.at >= 1_000) {
      this.#marks.push({ remaining, at: now, accepted: acceptedCount });
      if (this.#marks.length > 10) this.#marks.shift();
    }
    this.#alone = aloneOnKey(this.#marks, now, remaining, limit, acceptedCount);
  }

  /** A request of ours started. */
  spend(): void {
    if (this.#budget !== null) this.#budget.spent += 1;
  }

  /**
   * What the server's bucket holds (its last word, what it refilled since, less what we spent)
   * beyond the margin left to the other clients on the key: requests that may start now, at
   * once, whatever the pacer says. 0 without a bucket budget (no headers, or a window) or while
   * `paused`.
   */
  surplus(now: number, paused: boolean): number {
    const b = this.#budget;
    if (b === null || b.shape !== 'bucket' || paused) return 0;
    return Math.max(0, budgetLeft(b, now) - this.#margin(b));
  }

  /**
   * A large surplus (above a quarter of the limit) is a burst the server grants: requests go at
   * once, as many as the workers can start, until it falls to that high-water mark.
   */
  burstable(now: number, paused: boolean): boolean {
    const b = this.#budget;
    return b !== null && this.surplus(now, paused) >= 1 + highWaterFor(b.limit);
  }

  /**
   * The pacer's `wait`, lengthened until the server's budget holds a request by now, counting
   * what we spent and what it refilled (a bucket refills continuously; a window may refill
   * later: a 429 then says so). `accepted`: our acceptance times, oldest first.
   */
  wait(now: number, wait: number, accepted: readonly number[]): number {
    const b = this.#budget;
    if (b === null) return wait;
    if (isWindow(b)) {
      const need = 1 + windowReserveFor(b.limit);
      const left = b.remaining - b.spent + ownExpired(accepted, b.at, now);
      return left < need ? Math.max(wait, untilOwnExpire(accepted, b, now, need - left)) : wait;
    }
    const left = budgetLeft(b, now);
    if (left < 1) wait = Math.max(wait, Math.ceil(((1 - left) * MINUTE) / b.limit));
    // Look again when the bucket's refill makes a surplus: it is spent at the configured rate.
    if (b.shape === 'bucket' && wait > 0) {
      const toSurplus = Math.ceil(((1 + this.#margin(b) - left) * MINUTE) / b.limit);
      wait = Math.max(1, Math.min(wait, toSurplus));
    }
    return wait;
  }

  /**
   * The headers' congestion signal: a bucket's budget at or below its reserve, and falling over
   * the last seconds (a budget that stays low is not a new signal).
   */
  congested(now: number, remaining: number | null): boolean {
    const b = this.#budget;
    if (b === null || isWindow(b) || remaining === null || remaining > reserveFor(b.limit)) return false;
    const m = this.#marks.find((k) => now - k.at >= 1_000 && now - k.at <= 8_000);
    return m === undefined || m.remaining > remaining;
  }

  /** What the surplus spending leaves in the key's bucket: less alone on the key. */
  #margin(b: Budget): number {
    return this.#alone ? ALONE_MARGIN : marginFor(b.limit);
  }
}
