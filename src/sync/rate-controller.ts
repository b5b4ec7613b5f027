/**
 * The rate controller: decides when the next Files API request may start, and learns the
 * server's limit from what the server says. Pure: no timers, no IO; every method takes `now`
 * (ms). The request gate (request-gate.ts) is its IO shell; test/helpers/rate-sim.ts drives it
 * in virtual time.
 *
 * Why it is built this way (issue 9, files-api.md §7, §11, §12):
 *
 * - **Pacing.** A token bucket at the current rate with a burst of two: requests leave evenly,
 *   so the server's bucket or window is never hit by a clump. The configured
 *   `requestsPerMinute` is an upper bound the rate never exceeds.
 *
 * - **The limit is shared and mostly invisible.** The API limits per organization; every
 *   daemon and script on the organization's keys draws from one budget (§11). A daemon sees
 *   the others only through the budget the server reports, or through 429s.
 *
 * - **With `anthropic-ratelimit-requests-*` headers** (limit, remaining, reset) the controller
 *   knows the limit and the budget left, which is the same number for every daemon on the key.
 *   It spends the budget while it is large (a full bucket is a burst the server grants), keeps a
 *   local count of what it has spent since the last answer so it never starts a request the
 *   budget cannot cover, and treats a budget falling to a small reserve as the congestion
 *   signal, before any 429 (ECN-style). Every daemon sees the same reserve crossing, so they all
 *   decrease together.
 *
 * - **Without headers** only a 429 says the budget is gone. At a 429 the controller estimates
 *   its share of the limit from what the server accepted just before (src/sync/rate-estimate.ts
 *   says how). A long `retry-after` (longer than a bucket would need for one request) means a
 *   window that must drain. Either way a rate above the estimate drops to it in one step, not
 *   blindly ×0.7 per 429; a rate already at or below it is multiplied by β (next point); after
 *   a window's long wait it goes to 95 % of what the window took.
 *   A header-less 429 counts only when a run of acceptances a limiter would explain came
 *   before it (about ten seconds' worth at the rate): random 429s from a faulty server follow
 *   short runs at any rate, and cutting on each would drag the rate to nothing; they pause only.
 *
 * - **AIMD, so several daemons converge to equal shares.** Each congestion signal multiplies the
 *   rate by β ≈ 0.85 (at most once per round trip: the 429s of requests already in flight
 *   belong to the same episode); between signals the rate grows by a fixed amount per second
 *   (0.3 % of the limit per second, so the daemons on a key together climb back a few percent
 *   per minute; ten times that while the headers show the key's budget well above its reserve,
 *   which every daemon on the key sees alike, so the increase stays equal across them).
 *   Multiplicative decrease shrinks the gap between a large and a small share,
 *   additive increase keeps it, so repeated rounds converge to equal shares (Chiu and Jain's
 *   argument for TCP). β and the increase carry ±5 % random jitter, so daemons that saw the same
 *   signal do not move in lock step and overshoot together. On a token bucket, the rounds spent
 *   below the limit refill the server's bucket and the rounds above it spend that reserve, so the
 *   throughput stays at the limit while the rates saw-tooth around it. The surplus (above) goes
 *   to whichever daemon asks first; every daemon asks at its configured rate, so it splits about
 *   evenly, and the AIMD rates underneath keep converging.
 *
 * - **Pauses.** A 429 pauses every request until its `retry-after-ms` / `retry-after` (the
 *   API: retrying earlier will fail). When the pause ends one request goes first; the others
 *   follow as soon as it is answered with anything but 429, so a storm costs one request per
 *   retry-after, not one per worker. 429s with no acceptance in between are one episode and cut
 *   the rate at most once. A 429 that the headers show was not the limiter's doing (budget left)
 *   and an episode that lasted far longer than the limit can explain (a storm, an outage) leave
 *   the learned rate as it was before it: after a storm the daemon resumes at once at the rate it
 *   had learned.
 */
import { aloneOnKey, budgetLeft, estimateShare, evidenceFor, highWaterFor, isWindow, marginFor, MINUTE, rateLimitHeaders, reserveFor, retryAfterMs, shapeOf, windowReserveFor } from './rate-estimate.js';
import type { Budget, BudgetMark, HeaderSource } from './rate-estimate.js';

export { MIN_EVIDENCE, retryAfterMs, type HeaderSource } from './rate-estimate.js';

export interface RateAnswer {
  /** The HTTP status, or null when no answer came (network error, timeout). */
  readonly status: number | null;
  readonly headers?: HeaderSource;
  /** When the answered request started (its `start()`); older answers cannot re-trigger a cut. */
  readonly startedAt?: number;
  /** The wait the client computed for a 429, used when the headers carry none. */
  readonly retryAfterMs?: number;
}

export interface RateControllerOptions {
  /** The configured upper bound, requests started per minute (all kinds together). */
  readonly requestsPerMinute: number;
  /** Creation time (ms). */
  readonly now: number;
  /** Random in [0,1) for jitter. @default Math.random */
  readonly random?: () => number;
}

/**
 * What the surplus spending leaves in the key's bucket when we are alone on it: two requests,
 * not none, because the headers lag (an answer to an older request can arrive after a newer
 * one's) and the server's clock is not ours.
 */
export const ALONE_MARGIN = 2;
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
/** A 429 episode longer than this, refused again after its waits, was not the limit. */
export const STORM_MS = 10_000;
/** Jitter applied to both, ±. */
export const JITTER = 0.05;
/** Requests the pacer may start back to back once the server's limit is in view. */
export const BURST = 2;
/** A pause shorter than this after a 429 the headers showed was not the limiter's needs no probe. */
export const PROBE_MIN_WAIT_MS = 1_000;
/** The rate never drops below this (requests per minute). */
export const MIN_RPM = 1;

/** What a budget holds at `now` by its own account (a window's refill is not counted). */
function leftOf(b: Budget, now: number): number {
  return isWindow(b) ? b.remaining - b.spent : budgetLeft(b, now);
}

export class RateController {
  readonly requestsPerMinute: number;
  #random: () => number;
  /** The AIMD rate (per minute) as of `#rateAt`; grows additively from there. */
  #rate: number;
  #rateAt: number;
  #limit: number | null = null;
  #limitSource: 'header' | 'estimate' | null = null;
  #budget: Budget | null = null;
  /** When the request whose answer set #budget started. */
  #budgetFrom = -Infinity;
  /** Budget snapshots about a second apart (the last ten), to read the key's rate from. */
  #marks: BudgetMark[] = [];
  #tokens = BURST;
  #refilledAt: number;
  /** The last 429 came with headers showing budget left: not the limiter's. */
  #lastRefusalNotLimiter = false;
  #pausedUntil = 0;
  /** After a pause: one request goes first; set while it is in flight. */
  #probing = false;
  #probeOwed = false;
  /** An open 429 episode: it ends with the first acceptance. */
  #episode: { start: number; rateBefore: number; decreased: boolean; firstPauseEnd: number; refusedAfterWait: boolean } | null = null;
  #lastDecreaseAt = -Infinity;
  /** The additive increase's pace: FAST_INCREASE while the key's budget is well above its reserve. */
  #increaseFactor = 1;
  /** Answers below 500 other than 429, counted for the run before a 429 (a 5xx says nothing of the limiter). */
  #served = 0;
  /** #served at the last 429. */
  #servedAt429 = 0;
  /** When the server's budget was last known to be empty (a 429 from the limiter). */
  #emptyAt: number | null = null;
  #historyStart: number;
  /** Times of accepted answers, oldest first (kept for one minute). */
  #accepted: number[] = [];
  #acceptedHead = 0;
  #counts = { started: 0, accepted: 0, rejected429: 0, decreases: 0 };
  /** The key's budget fell by no more than we spent, lately: nobody else draws from it. */
  #alone = false;
  /** Requests started and not answered yet. */
  #inFlight = 0;
  /** Start times in the last minute, oldest first (from #startsHead). */
  #starts: number[] = [];
  #startsHead = 0;

  constructor(options: RateControllerOptions) {
    const rpm = options.requestsPerMinute;
    if (!Number.isFinite(rpm) || rpm <= 0) {
      throw new TypeError(`Expected requestsPerMinute to be a finite number > 0, got ${String(rpm)} (${typeof rpm})`);
    }
    this.requestsPerMinute = rpm;
    this.#random = options.random ?? Math.random;
    this.#rate = rpm;
    this.#rateAt = options.now;
    this.#refilledAt = options.now;
    this.#historyStart = options.now;
  }

  /** The limit learned from the headers or estimated from 429s, or null while unknown. */
  get limit(): number | null {
    return this.#limit;
  }

  get limitSource(): 'header' | 'estimate' | null {
    return this.#limitSource;
  }

  /** The end of the current pause, or null. */
  pausedUntil(now: number): number | null {
    return this.#pausedUntil > now ? this.#pausedUntil : null;
  }

  get counts(): Readonly<{ started: number; accepted: number; rejected429: number; decreases: number }> {
    return { ...this.#counts };
  }

  /** The rate (per minute) the pacer runs at now. */
  rate(now: number): number {
    const b = this.#budget;
    // A window: nothing refills until old requests leave it; the budget itself is the pacer.
    if (b !== null && isWindow(b)) return this.requestsPerMinute;
    // The key's bucket holds more than the margin: spend it at the configured rate.
    if (this.#surplus(now) >= 1) return this.requestsPerMinute;
    const aimd = this.#aimdRate(now);
    return Math.max(MIN_RPM, Math.min(this.requestsPerMinute, aimd));
  }

  /**
   * How long until a request may start: 0 means now, Infinity means after the next answer
   * (a probe is in flight after a pause).
   */
  wait(now: number): number {
    if (this.#pausedUntil > now) return this.#pausedUntil - now;
    if (this.#probing) return Infinity;
    // The configured rate is a cap on any 60 s: never more than that many starts in a minute.
    const capWait = this.#capWait(now);
    if (capWait > 0) return capWait;
    if (this.#burstable(now)) return 0;
    const rate = this.rate(now);
    this.#refill(now, rate);
    let wait = this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) * MINUTE) / rate);
    const b = this.#budget;
    if (b !== null) {
      // What the server's budget holds by now, counting what we spent and what it refilled
      // (a bucket refills continuously; a window may refill later: a 429 then says so).
      if (isWindow(b)) {
        const need = 1 + windowReserveFor(b.limit);
        const left = b.remaining - b.spent + this.#ownExpired(b.at, now);
        if (left < need) wait = Math.max(wait, this.#untilOwnExpire(b, now, need - left));
      } else {
        const left = budgetLeft(b, now);
        if (left < 1) wait = Math.max(wait, Math.ceil(((1 - left) * MINUTE) / b.limit));
        // Look again when the bucket's refill makes a surplus: it is spent at the configured rate.
        if (b.shape === 'bucket' && wait > 0) {
          const toSurplus = Math.ceil(((1 + this.#marginNow(b) - left) * MINUTE) / b.limit);
          wait = Math.max(1, Math.min(wait, toSurplus));
        }
      }
    }
    return wait;
  }

  /** A request starts now (call when wait(now) is 0). */
  start(now: number): void {
    const rate = this.rate(now);
    this.#refill(now, rate);
    // The server's surplus goes first; the pacer's tokens are kept for when it is spent.
    if (!this.#burstable(now)) this.#tokens -= 1;
    this.#counts.started += 1;
    this.#inFlight += 1;
    this.#starts.push(now);
    if (this.#budget !== null) this.#budget.spent += 1;
    if (this.#probeOwed) {
      this.#probeOwed = false;
      this.#probing = true;
    }
  }

  /**
   * Holds every request until `until` at least (a 429 whose wait the client computed: its
   * default backoff when the answer carried no `retry-after`). Learns nothing; `answer` does.
   */
  holdUntil(until: number, now?: number): void {
    if (until <= this.#pausedUntil) return;
    this.#pausedUntil = until;
    this.#refilledAt = Math.max(this.#refilledAt, until);
    // A short wait after a 429 the headers showed was not the limiter's costs only itself.
    if (now !== undefined && until - now < PROBE_MIN_WAIT_MS && this.#lastRefusalNotLimiter) return;
    this.#tokens = 0;
    this.#probing = false;
    this.#probeOwed = true;
  }

  /** An answer (or its absence) for a request started earlier. */
  answer(now: number, answer: RateAnswer): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
    const { limit, remaining, resetAt } = rateLimitHeaders(answer.headers);
    if (limit !== null && limit > 0 && remaining !== null) {
      this.#limit = limit;
      this.#limitSource = 'header';
      const shape = resetAt !== null ? shapeOf(limit, remaining, resetAt - now) : null;
      // Our requests still in flight may reach the server after this answer left it: counted as
      // spent already (an overcount when they arrived first; never an undercount).
      const next: Budget = { limit, remaining, resetAt, at: now, spent: this.#inFlight, shape: shape ?? this.#budget?.shape ?? null };
      // An answer to an older request can arrive after a newer one's and show a budget from
      // before the newer one took its share: keep the lower of the two views then.
      const from = answer.startedAt ?? now;
      const prev = this.#budget;
      const stale = prev !== null && prev.limit === limit && from < this.#budgetFrom && leftOf(prev, now) < leftOf(next, now);
      if (!stale) {
        this.#budget = next;
        this.#budgetFrom = from;
      }
      // The growth so far is kept, and its pace set by the key's budget from here on: the same
      // for every daemon on the key, so the increase stays additive and fair (see above).
      if (this.#rate < this.requestsPerMinute && now > Math.max(this.#rateAt, this.#pausedUntil)) {
        this.#rate = this.#aimdRate(now);
        this.#rateAt = now;
      }
      this.#increaseFactor = remaining > 2 * reserveFor(limit) ? FAST_INCREASE : 1;
      // The mark the key's rate is measured from: a few seconds back, renewed as time goes on.
      const last = this.#marks[this.#marks.length - 1];
      if (last === undefined || now - last.at >= 1_000) {
        this.#marks.push({ remaining, at: now, accepted: this.#counts.accepted });
        if (this.#marks.length > 10) this.#marks.shift();
      }
      this.#alone = aloneOnKey(this.#marks, now, remaining, limit, this.#counts.accepted);
    }
    if (answer.status === 429) {
      this.#counts.rejected429 += 1;
      this.#on429(now, answer, remaining);
    } else {
      if (answer.status !== null) this.#onAccepted(now);
      if (answer.status !== null && answer.status < 500) this.#served += 1;
      const b = this.#budget;
      if (b !== null && !isWindow(b) && remaining !== null && remaining <= reserveFor(b.limit) && this.#budgetFalling(now, remaining)) {
        this.#congestion(now, answer.startedAt, this.#shareEstimate(now, null));
      }
    }
    if (answer.status !== 429) this.#probing = false;
  }

  #onAccepted(now: number): void {
    this.#counts.accepted += 1;
    this.#accepted.push(now);
    this.#expire(now);
    const ep = this.#episode;
    if (ep !== null) {
      this.#episode = null;
      // Refused again after waiting as long as it asked, for many seconds: a storm or an outage,
      // not our rate (a limiter admits once its own wait is over, give or take a request another
      // daemon took first). Resume at the rate from before it.
      if (ep.decreased && ep.refusedAfterWait && now - ep.start > STORM_MS) {
        this.#rate = Math.max(this.#aimdRate(now), ep.rateBefore);
        this.#rateAt = now;
      }
    }
  }

  #windowEpisode = false;

  #on429(now: number, answer: RateAnswer, remaining: number | null): void {
    const wait = retryAfterMs(answer.headers, now) ?? answer.retryAfterMs ?? 1_000;
    const until = now + Math.max(0, wait);
    const ep0 = this.#episode;
    if (ep0 !== null && answer.startedAt !== undefined && answer.startedAt >= ep0.firstPauseEnd) ep0.refusedAfterWait = true;
    if (until > this.#pausedUntil) this.#pausedUntil = until;
    this.#refilledAt = Math.max(this.#refilledAt, this.#pausedUntil);
    // The pacer starts from empty when the pause ends (the server's budget may be empty too),
    // and one request goes first.
    const limiters = () => {
      this.#tokens = 0;
      this.#probing = false;
      this.#probeOwed = true;
    };
    // The headers say budget was left: the refusal was not the limiter's (a storm, a faulty
    // server). Pause only; after a short pause (under a second) the requests go on as before,
    // without a probe: the budget the headers show is still there.
    this.#lastRefusalNotLimiter = remaining !== null && remaining >= 1;
    if (this.#lastRefusalNotLimiter) {
      if (wait >= PROBE_MIN_WAIT_MS) limiters();
      return;
    }
    // Without headers, a 429 that came before the server had accepted a few seconds' worth in a
    // row since the previous 429 is not taken as the limit's word: a limiter refuses after a
    // long run of acceptances (the bucket drained, or the rate climbed back over it), whereas
    // random 429s (a faulty server) come after short runs at any rate and would cut it to nothing.
    const run = this.#served - this.#servedAt429;
    this.#servedAt429 = this.#served;
    limiters();
    if (remaining === null && run < evidenceFor(this.#aimdRate(now))) return;
    const first = this.#episode === null;
    if (first) this.#windowEpisode = false;
    if (first) this.#episode = { start: now, rateBefore: this.#aimdRate(now), decreased: false, firstPauseEnd: until, refusedAfterWait: false };
    const ep = this.#episode!;
    if (ep.decreased) return;
    const oneRequest = this.#limit !== null ? MINUTE / this.#limit : 0;
    // A bucket needs at most one request's time to admit the next; a window may need much longer.
    if (wait > Math.max(2_000, 2 * oneRequest)) this.#windowEpisode = true;
    const share = this.#shareEstimate(now, this.#windowEpisode ? 'window' : 'bucket');
    if (this.#congestion(now, answer.startedAt, share, this.#windowEpisode)) ep.decreased = true;
    this.#emptyAt = now;
  }

  /** The share of the limit granted to this controller, per minute (src/sync/rate-estimate.ts). */
  #shareEstimate(now: number, kind: 'window' | 'bucket' | null): number | null {
    this.#expire(now);
    return estimateShare({
      now,
      kind,
      accepted: this.#accepted,
      head: this.#acceptedHead,
      acceptedCount: this.#counts.accepted,
      marks: this.#marks,
      budget: this.#budget,
      emptyAt: this.#emptyAt,
      historyStart: this.#historyStart,
    });
  }

  /**
   * What the server's bucket holds (its last word, what it refilled since, less what we spent)
   * beyond the margin left to the other clients on the key: requests that may start now, at
   * once, whatever the pacer says. 0 without a bucket budget (no headers, or a window).
   */
  #surplus(now: number): number {
    const b = this.#budget;
    if (b === null || b.shape !== 'bucket' || this.#pausedUntil > now) return 0;
    return Math.max(0, budgetLeft(b, now) - this.#marginNow(b));
  }

  /** How long until one more start fits in the configured rate's 60-s cap; 0 if it fits now. */
  #capWait(now: number): number {
    const cut = now - MINUTE;
    while (this.#startsHead < this.#starts.length && (this.#starts[this.#startsHead] as number) <= cut) this.#startsHead++;
    if (this.#startsHead > 1024 && this.#startsHead * 2 > this.#starts.length) {
      this.#starts.splice(0, this.#startsHead);
      this.#startsHead = 0;
    }
    const inMinute = this.#starts.length - this.#startsHead;
    if (inMinute < Math.floor(this.requestsPerMinute) || inMinute === 0) return 0;
    const oldest = this.#starts[this.#starts.length - Math.max(1, Math.floor(this.requestsPerMinute))] as number;
    return Math.max(1, oldest + MINUTE - now);
  }

  /** What the surplus spending leaves in the key's bucket: one request alone on the key. */
  #marginNow(b: Budget): number {
    return this.#alone ? ALONE_MARGIN : marginFor(b.limit);
  }

  /**
   * A large surplus (above a quarter of the limit) is a burst the server grants: requests go at
   * once, as many as the workers can start, until it falls to that high-water mark.
   */
  #burstable(now: number): boolean {
    const b = this.#budget;
    return b !== null && this.#surplus(now) >= 1 + highWaterFor(b.limit);
  }

  /** Whether the key's budget fell over the last seconds (a window that stays empty does not). */
  #budgetFalling(now: number, remaining: number): boolean {
    const m = this.#marks.find((k) => now - k.at >= 1_000 && now - k.at <= 8_000);
    return m === undefined || m.remaining > remaining;
  }

  /** Own acceptances that left a 60-s window between `from` and `now`. */
  #ownExpired(from: number, now: number): number {
    let n = 0;
    for (const t of this.#accepted) if (t > from - MINUTE && t <= now - MINUTE) n++;
    return n;
  }

  /** How long until `count` more of our own acceptances leave the window; a poll interval if never. */
  #untilOwnExpire(b: Budget, now: number, count: number): number {
    let n = 0;
    for (const t of this.#accepted) {
      if (t <= now - MINUTE) continue;
      n++;
      if (n >= count) return Math.max(1, t + MINUTE - now);
    }
    return Math.ceil(MINUTE / b.limit);
  }

  /** A congestion signal: multiplicative decrease, once per round trip. Returns whether it cut. */
  #congestion(now: number, startedAt: number | undefined, share: number | null, window = false): boolean {
    // An answer to a request that started before the last cut reflects the old rate.
    if (startedAt !== undefined && startedAt <= this.#lastDecreaseAt) return false;
    if (startedAt === undefined && now - this.#lastDecreaseAt < 1_000) return false;
    const current = this.#aimdRate(now);
    let base = Math.min(current, this.requestsPerMinute);
    if (share !== null) base = Math.min(base, share / DECREASE_FACTOR);
    if (this.#limit !== null) base = Math.min(base, this.#limit);
    const jitter = 1 + JITTER * (2 * this.#random() - 1);
    // A window states the share exactly (what it took in its minute): go just under it.
    this.#rate = window && share !== null ? Math.max(MIN_RPM, Math.min(current, share) * WINDOW_MARGIN * jitter) : Math.max(MIN_RPM, base * DECREASE_FACTOR * jitter);
    this.#rateAt = now;
    this.#lastDecreaseAt = now;
    this.#counts.decreases += 1;
    if (this.#limitSource !== 'header' && share !== null) {
      this.#limit = share;
      this.#limitSource = 'estimate';
    }
    return true;
  }

  #aimdRate(now: number): number {
    if (this.#rate >= this.requestsPerMinute) return this.requestsPerMinute;
    const ref = this.#limit ?? this.requestsPerMinute;
    const seconds = Math.max(0, now - Math.max(this.#rateAt, this.#pausedUntil)) / 1000;
    const grown = this.#rate + ref * INCREASE_PER_SECOND * this.#increaseFactor * seconds;
    return Math.min(this.requestsPerMinute, grown);
  }

  #refill(now: number, rate: number): void {
    if (now <= this.#refilledAt) return;
    this.#tokens = Math.min(BURST, this.#tokens + ((now - this.#refilledAt) * rate) / MINUTE);
    this.#refilledAt = now;
  }


  #expire(now: number): void {
    const cut = now - MINUTE;
    while (this.#acceptedHead < this.#accepted.length && (this.#accepted[this.#acceptedHead] as number) <= cut) this.#acceptedHead++;
    if (this.#acceptedHead > 1024 && this.#acceptedHead * 2 > this.#accepted.length) {
      this.#accepted.splice(0, this.#acceptedHead);
      this.#acceptedHead = 0;
    }
  }
}
