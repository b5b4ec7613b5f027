/**
 * The request gate every Files API attempt passes through (the client's `beforeRequest` hook):
 * a token bucket at the configured requests per minute, and a shared pause after a 429 so one
 * rate-limited request holds all the others, as the API asks. Repeated 429s lower the rate,
 * which then recovers by itself. The clock and the sleep are injectable; tests use a fake clock.
 */
import type { RetryWaitInfo } from '../api/types.js';
import { FilesyncError } from '../errors.js';

export interface RequestGateOptions {
  /** Requests started per minute, all kinds together. */
  readonly requestsPerMinute: number;
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * May honour `signal` (reject or resolve early when it aborts); the gate copes either way.
   * @default a setTimeout-based sleep that clears its timer on abort
   */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** After a 429 the effective rate is multiplied by this. */
export const RATE_DECREASE_FACTOR = 0.7;
/** Share of the configured rate regained per minute without a 429. */
export const RATE_RECOVERY_PER_MINUTE = 0.1;
/** The effective rate never drops below this many requests per minute. */
export const MIN_RPM = 1;

const MINUTE = 60_000;

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** A cancelled wait clears its timer, so a closing daemon is not kept alive by a long pause. */
function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Settles with `promise`, or rejects as soon as `signal` aborts (a queue closing mid-pause). */
function raceAbort(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

export function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new FilesyncError('E_ABORTED', 'The operation was aborted');
}

export class RequestGate {
  readonly requestsPerMinute: number;
  #now: () => number;
  #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Cancels the pump's wait when every waiter has gone. */
  #pumpWait: AbortController | null = null;
  #effectiveRpm: number;
  /** When the effective rate was last recomputed (recovery is linear from there). */
  #rateAt: number;
  #tokens: number;
  #refilledAt: number;
  #pausedUntil = 0;
  #pauses = 0;
  #waiters: Waiter[] = [];
  #pumping = false;

  constructor(options: RequestGateOptions) {
    const rpm = options.requestsPerMinute;
    if (!Number.isFinite(rpm) || rpm <= 0) {
      throw new TypeError(`Expected requestsPerMinute to be a finite number > 0, got ${String(rpm)} (${typeof rpm})`);
    }
    this.requestsPerMinute = rpm;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? defaultSleep;
    const t = this.#now();
    this.#effectiveRpm = rpm;
    this.#rateAt = t;
    this.#tokens = this.#burst(rpm);
    this.#refilledAt = t;
  }

  /** The deadline of the current 429 pause (ms since epoch of the injected clock), or null. */
  get pausedUntil(): number | null {
    return this.#pausedUntil > this.#now() ? this.#pausedUntil : null;
  }

  /** How many distinct 429 pauses there have been (overlapping 429s count once). */
  get rateLimitPauses(): number {
    return this.#pauses;
  }

  /** The rate currently enforced, after 429 decreases and recovery. */
  get effectiveRpm(): number {
    this.#recover(this.#now());
    return this.#effectiveRpm;
  }

  /** Waiters queued for a token. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Resolves when a request may start: a token is free and no pause is in force. FIFO. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          if (this.#waiters.length === 0) this.#pumpWait?.abort();
          reject(abortError(signal));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#waiters.push(waiter);
      void this.#pump();
    });
  }

  /** Resolves once no 429 pause is in force (takes no token). Used before a queued job starts. */
  async whenUnpaused(signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      const wait = this.#pausedUntil - this.#now();
      if (wait <= 0) return;
      await (signal ? raceAbort(this.#sleep(wait, signal), signal) : this.#sleep(wait));
    }
  }

  /**
   * The Files client's `onRetryWait` hook. A 429 pauses every request until now + waitMs
   * (keeping the later deadline). The first 429 of a pause counts one pause and lowers the rate;
   * the other requests that were in flight at the same time get their 429 too, and must not
   * lower it again for the same episode.
   */
  onRetryWait(info: RetryWaitInfo): void {
    if (info.status !== 429) return;
    const now = this.#now();
    const until = now + Math.max(0, info.waitMs);
    const newEpisode = this.#pausedUntil <= now;
    if (newEpisode) {
      this.#recover(now);
      this.#pauses += 1;
      this.#effectiveRpm = Math.max(MIN_RPM, this.#effectiveRpm * RATE_DECREASE_FACTOR);
    }
    if (until > this.#pausedUntil) this.#pausedUntil = until;
    // The API's window is full: start again with an empty bucket, and no recovery while paused.
    this.#tokens = 0;
    this.#refilledAt = this.#pausedUntil;
    this.#rateAt = this.#pausedUntil;
  }

  #burst(rpm: number): number {
    return Math.max(1, Math.floor((rpm / 60) * 2));
  }

  #recover(now: number): void {
    if (now <= this.#rateAt) return;
    if (this.#effectiveRpm < this.requestsPerMinute) {
      const gained = (this.requestsPerMinute * RATE_RECOVERY_PER_MINUTE * (now - this.#rateAt)) / MINUTE;
      this.#effectiveRpm = Math.min(this.requestsPerMinute, this.#effectiveRpm + gained);
    }
    this.#rateAt = now;
  }

  #refill(now: number): void {
    if (now <= this.#refilledAt) return;
    // Refill at the rate in force before this instant; close enough while it recovers slowly.
    this.#recover(now);
    const rpm = this.#effectiveRpm;
    this.#tokens = Math.min(this.#burst(rpm), this.#tokens + ((now - this.#refilledAt) * rpm) / MINUTE);
    this.#refilledAt = now;
  }

  /** How long the head waiter must wait; 0 means it may go now. */
  #waitMs(now: number): number {
    if (this.#pausedUntil > now) return this.#pausedUntil - now;
    this.#refill(now);
    if (this.#tokens >= 1) return 0;
    return Math.max(1, Math.ceil(((1 - this.#tokens) * MINUTE) / this.#effectiveRpm));
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#waiters.length > 0) {
        const wait = this.#waitMs(this.#now());
        if (wait > 0) {
          const ctl = new AbortController();
          this.#pumpWait = ctl;
          await this.#sleep(wait, ctl.signal).catch(() => undefined);
          this.#pumpWait = null;
          continue;
        }
        const waiter = this.#waiters.shift();
        if (waiter === undefined) break;
        this.#tokens -= 1;
        if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
        waiter.resolve();
      }
    } finally {
      this.#pumping = false;
    }
  }
}
