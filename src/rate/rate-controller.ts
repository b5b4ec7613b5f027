/**
 * The rate controller: decides when the next Files API request may start, and learns the
 * server's limit from what the server says. Pure: no timers, no IO; every method takes `now`
 * (ms). The request gate (request-gate.ts) is its IO shell; test/helpers/rate-sim.ts drives it
 * in virtual time. Its parts: key-budget.ts spends the budget the headers show, aimd-rate.ts
 * keeps the AIMD rate, start-cap.ts caps the starts in any 60 s, rate-estimate.ts reads the
 * headers and estimates this daemon's share at a congestion signal.
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
 *   knows the limit and the budget left, the same for every daemon on the key: it spends the
 *   budget while it is large, and a budget falling to a small reserve is the congestion signal,
 *   before any 429 (key-budget.ts says how).
 *
 * - **Without headers** only a 429 says the budget is gone. At a 429 the controller estimates
 *   its share of the limit from what the server accepted just before (src/rate/rate-estimate.ts
 *   says how). A long `retry-after` (longer than a bucket would need for one request) means a
 *   window that must drain. Either way a rate above the estimate drops to it in one step, not
 *   blindly ×0.7 per 429; a rate already at or below it is multiplied by β (next point); after
 *   a window's long wait it goes to 95 % of what the window took.
 *   A header-less 429 counts only when a run of acceptances a limiter would explain came
 *   before it (about ten seconds' worth at the rate): random 429s from a faulty server follow
 *   short runs at any rate, and cutting on each would drag the rate to nothing; they pause only.
 *
 * - **AIMD, so several daemons converge to equal shares.** Each congestion signal multiplies the
 *   rate by β ≈ 0.85, at most once per round trip; between signals the rate grows by a fixed
 *   amount per second; both carry jitter (aimd-rate.ts says why this converges).
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
import { AimdRate, MIN_RPM } from './aimd-rate.js';
import { KeyBudget } from './key-budget.js';
import { MinuteLog } from './minute-log.js';
import { estimateShare, evidenceFor, MINUTE, rateLimitHeaders, reserveFor, retryAfterMs } from './rate-estimate.js';
import type { HeaderSource } from './rate-estimate.js';
import { StartCap } from './start-cap.js';

export { MIN_EVIDENCE, retryAfterMs, type HeaderSource } from './rate-estimate.js';
export { ALONE_MARGIN } from './key-budget.js';
export { DECREASE_FACTOR, FAST_INCREASE, INCREASE_PER_SECOND, JITTER, MIN_RPM, WINDOW_MARGIN } from './aimd-rate.js';

export interface RateAnswer {
  /** The HTTP status, or null when no answer came (network error, timeout). */
  readonly status: number | null;
  readonly headers?: HeaderSource;
  /** When the answered request started (its `start()`); older answers cannot re-trigger a cut. */
  readonly startedAt?: number;
  /** The wait the client computed for a 429, used when the headers carry none. */
  readonly retryAfterMs?: number;
}

interface RateControllerOptions {
  /** The configured upper bound, requests started per minute (all kinds together). */
  readonly requestsPerMinute: number;
  /** Creation time (ms). */
  readonly now: number;
  /** Random in [0,1) for jitter. @default Math.random */
  readonly random?: () => number;
}

/** A 429 episode longer than this, refused again after its waits, was not the limit. */
const STORM_MS = 10_000;
/** Requests the pacer may start back to back once the server's limit is in view. */
export const BURST = 2;
/** A pause shorter than this after a 429 the headers showed was not the limiter's needs no probe. */
const PROBE_MIN_WAIT_MS = 1_000;

/** A 429 episode: it ends with the first acceptance. */
interface Episode {
  start: number;
  rateBefore: number;
  decreased: boolean;
  firstPauseEnd: number;
  refusedAfterWait: boolean;
}

export class RateController {
  readonly requestsPerMinute: number;
  #aimd: AimdRate;
  #key = new KeyBudget();
  #cap: StartCap;
  #limit: number | null = null;
  #limitSource: 'header' | 'estimate' | null = null;
  #tokens = BURST;
  #refilledAt: number;
  /** The last 429 came with headers showing budget left: not the limiter's. */
  #lastRefusalNotLimiter = false;
  #pausedUntil = 0;
  /** After a pause: one request goes first; set while it is in flight. */
  #probing = false;
  #probeOwed = false;
  #episode: Episode | null = null;
  /** The open episode's wait showed a window that must drain. */
  #windowEpisode = false;
  /** Answers below 500 other than 429, counted for the run before a 429 (a 5xx says nothing of the limiter). */
  #served = 0;
  /** #served at the last 429. */
  #servedAt429 = 0;
  /** When the server's budget was last known to be empty (a 429 from the limiter). */
  #emptyAt: number | null = null;
  #historyStart: number;
  /** Times of accepted answers in the last minute. */
  #accepted = new MinuteLog();
  #counts = { started: 0, accepted: 0, rejected429: 0, decreases: 0 };
  /** Requests started and not answered yet. */
  #inFlight = 0;

  constructor(options: RateControllerOptions) {
    const rpm = options.requestsPerMinute;
    if (!Number.isFinite(rpm) || rpm <= 0) {
      throw new TypeError(`Expected requestsPerMinute to be a finite number > 0, got ${String(rpm)} (${typeof rpm})`);
    }
    this.requestsPerMinute = rpm;
    this.#aimd = new AimdRate(rpm, options.now, options.random ?? Math.random);
    this.#cap = new StartCap(rpm);
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
    // A window: nothing refills until old requests leave it; the budget itself is the pacer.
    if (this.#key.isWindow) return this.requestsPerMinute;
    // The key's bucket holds more than the margin: spend it at the configured rate.
    if (this.#key.surplus(now, this.#pausedUntil > now) >= 1) return this.requestsPerMinute;
    return Math.max(MIN_RPM, Math.min(this.requestsPerMinute, this.#aimdRate(now)));
  }

  /**
   * How long until a request may start: 0 means now, Infinity means after the next answer
   * (a probe is in flight after a pause).
   */
  wait(now: number): number {
    if (this.#pausedUntil > now) return this.#pausedUntil - now;
    if (this.#probing) return Infinity;
    const capWait = this.#cap.wait(now);
    if (capWait > 0) return capWait;
    if (this.#burstable(now)) return 0;
    const rate = this.rate(now);
    this.#refill(now, rate);
    const wait = this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) * MINUTE) / rate);
    return this.#key.wait(now, wait, this.#accepted.times);
  }

  /** A request starts now (call when wait(now) is 0). */
  start(now: number): void {
    const rate = this.rate(now);
    this.#refill(now, rate);
    // The server's surplus goes first; the pacer's tokens are kept for when it is spent.
    if (!this.#burstable(now)) this.#tokens -= 1;
    this.#counts.started += 1;
    this.#inFlight += 1;
    this.#cap.record(now);
    this.#key.spend();
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
    this.#probeAfterPause();
  }

  /** An answer (or its absence) for a request started earlier. */
  answer(now: number, answer: RateAnswer): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
    const { limit, remaining, resetAt } = rateLimitHeaders(answer.headers);
    if (limit !== null && limit > 0 && remaining !== null) {
      this.#limit = limit;
      this.#limitSource = 'header';
      this.#key.observe(now, { limit, remaining, resetAt }, this.#inFlight, answer.startedAt, this.#counts.accepted);
      this.#aimd.pace(now, this.#pausedUntil, this.#limit, remaining > 2 * reserveFor(limit));
    }
    if (answer.status === 429) {
      this.#counts.rejected429 += 1;
      this.#on429(now, answer, remaining);
    } else {
      if (answer.status !== null) this.#onAccepted(now);
      if (answer.status !== null && answer.status < 500) this.#served += 1;
      if (this.#key.congested(now, remaining)) this.#congestion(now, answer.startedAt, this.#shareEstimate(now, null));
    }
    if (answer.status !== 429) this.#probing = false;
  }

  #onAccepted(now: number): void {
    this.#counts.accepted += 1;
    this.#accepted.push(now);
    this.#accepted.expire(now);
    const ep = this.#episode;
    if (ep !== null) {
      this.#episode = null;
      // Refused again after waiting as long as it asked, for many seconds: a storm or an outage,
      // not our rate (a limiter admits once its own wait is over, give or take a request another
      // daemon took first). Resume at the rate from before it.
      if (ep.decreased && ep.refusedAfterWait && now - ep.start > STORM_MS) {
        this.#aimd.restore(now, this.#pausedUntil, this.#limit, ep.rateBefore);
      }
    }
  }

  #on429(now: number, answer: RateAnswer, remaining: number | null): void {
    const wait = retryAfterMs(answer.headers, now) ?? answer.retryAfterMs ?? 1_000;
    const until = now + Math.max(0, wait);
    const ep0 = this.#episode;
    if (ep0 !== null && answer.startedAt !== undefined && answer.startedAt >= ep0.firstPauseEnd)
      ep0.refusedAfterWait = true;
    if (until > this.#pausedUntil) this.#pausedUntil = until;
    this.#refilledAt = Math.max(this.#refilledAt, this.#pausedUntil);
    // The headers say budget was left: the refusal was not the limiter's (a storm, a faulty
    // server). Pause only; after a short pause (under a second) the requests go on as before,
    // without a probe: the budget the headers show is still there.
    this.#lastRefusalNotLimiter = remaining !== null && remaining >= 1;
    if (this.#lastRefusalNotLimiter) {
      if (wait >= PROBE_MIN_WAIT_MS) this.#probeAfterPause();
      return;
    }
    // Without headers, a 429 that came before the server had accepted a few seconds' worth in a
    // row since the previous 429 is not taken as the limit's word: a limiter refuses after a
    // long run of acceptances (the bucket drained, or the rate climbed back over it), whereas
    // random 429s (a faulty server) come after short runs at any rate and would cut it to nothing.
    const run = this.#served - this.#servedAt429;
    this.#servedAt429 = this.#served;
    this.#probeAfterPause();
    if (remaining === null && run < evidenceFor(this.#aimdRate(now))) return;
    if (this.#episode === null) {
      this.#windowEpisode = false;
      this.#episode = {
        start: now,
        rateBefore: this.#aimdRate(now),
        decreased: false,
        firstPauseEnd: until,
        refusedAfterWait: false,
      };
    }
    const ep = this.#episode;
    if (ep.decreased) return;
    const oneRequest = this.#limit !== null ? MINUTE / this.#limit : 0;
    // A bucket needs at most one request's time to admit the next; a window may need much longer.
    if (wait > Math.max(2_000, 2 * oneRequest)) this.#windowEpisode = true;
    const share = this.#shareEstimate(now, this.#windowEpisode ? 'window' : 'bucket');
    if (this.#congestion(now, answer.startedAt, share, this.#windowEpisode)) ep.decreased = true;
    this.#emptyAt = now;
  }

  /**
   * The pacer starts from empty when a pause ends (the server's budget may be empty too), and
   * one request goes first; the others follow its answer.
   */
  #probeAfterPause(): void {
    this.#tokens = 0;
    this.#probing = false;
    this.#probeOwed = true;
  }

  /** The share of the limit granted to this controller, per minute (src/rate/rate-estimate.ts). */
  #shareEstimate(now: number, kind: 'window' | 'bucket' | null): number | null {
    this.#accepted.expire(now);
    return estimateShare({
      now,
      kind,
      accepted: this.#accepted.times,
      head: this.#accepted.head,
      acceptedCount: this.#counts.accepted,
      marks: this.#key.marks,
      budget: this.#key.budget,
      emptyAt: this.#emptyAt,
      historyStart: this.#historyStart,
    });
  }

  #burstable(now: number): boolean {
    return this.#key.burstable(now, this.#pausedUntil > now);
  }

  /** A congestion signal: the AIMD decrease; a share estimated without headers becomes the limit. */
  #congestion(now: number, startedAt: number | undefined, share: number | null, window = false): boolean {
    if (!this.#aimd.decrease(now, startedAt, share, this.#pausedUntil, this.#limit, window)) return false;
    this.#counts.decreases += 1;
    if (this.#limitSource !== 'header' && share !== null) {
      this.#limit = share;
      this.#limitSource = 'estimate';
    }
    return true;
  }

  #aimdRate(now: number): number {
    return this.#aimd.at(now, this.#pausedUntil, this.#limit);
  }

  #refill(now: number, rate: number): void {
    if (now <= this.#refilledAt) return;
    this.#tokens = Math.min(BURST, this.#tokens + ((now - this.#refilledAt) * rate) / MINUTE);
    this.#refilledAt = now;
  }
}
