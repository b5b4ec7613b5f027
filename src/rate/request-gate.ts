/**
 * The request gate every Files API attempt passes through (the client's `beforeRequest` hook):
 * the IO shell of the rate controller (./rate-controller.ts), which decides when the next
 * request may start and learns the server's limit from every answer (`onResponse`: status and
 * `anthropic-ratelimit-requests-*` headers; a 429's `retry-after`). A 429 pauses every request
 * until its wait is over, and the queue starts no job meanwhile (`whenUnpaused`). Waiting here is
 * never failing: the client does not count a 429 the gate answers against its retries. The clock
 * and the sleep are injectable; tests use a fake clock.
 */
import type { ResponseInfo, RetryWaitInfo } from '../api/types.js';
import { FilesyncError, ErrorCode } from '../errors.js';
import { RateController } from './rate-controller.js';

interface RequestGateOptions {
  /** Requests started per minute, all kinds together: the upper bound the rate never exceeds. */
  readonly requestsPerMinute: number;
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * May honour `signal` (reject or resolve early when it aborts); the gate copes either way.
   * @default a setTimeout-based sleep that clears its timer on abort
   */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Random in [0,1) for the controller's jitter. @default Math.random */
  readonly random?: () => number;
}

/**
 * After a pause one request goes first and the others wait for its answer; if no answer is
 * reported within this time (the request never left: its job was aborted, its file vanished;
 * or it is a long upload), the others go on without it.
 */
export const PROBE_TIMEOUT_MS = 5_000;

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

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new FilesyncError(ErrorCode.Aborted, 'The operation was aborted');
}

export class RequestGate {
  readonly requestsPerMinute: number;
  #now: () => number;
  #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  #controller: RateController;
  /** Cancels the pump's wait when every waiter has gone, or when an answer may change it. */
  #pumpWait: AbortController | null = null;
  /** When the gate began waiting for a probe's answer (the controller said Infinity), or null. */
  #probeWaitSince: number | null = null;
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
    this.#controller = new RateController({
      requestsPerMinute: rpm,
      now: this.#now(),
      ...(options.random ? { random: options.random } : {}),
    });
  }

  /** The deadline of the current 429 pause (ms since epoch of the injected clock), or null. */
  get pausedUntil(): number | null {
    return this.#controller.pausedUntil(this.#now());
  }

  /** How many distinct 429 pauses there have been (overlapping 429s count once). */
  get rateLimitPauses(): number {
    return this.#pauses;
  }

  /** The rate the pacer runs at now (requests per minute). */
  get effectiveRpm(): number {
    return this.#controller.rate(this.#now());
  }

  /** The server's limit, from its headers or estimated from its 429s; null while unknown. */
  get learnedLimit(): number | null {
    return this.#controller.limit;
  }

  /** Waiters queued for a token. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Resolves when a request may start: the controller allows one and no pause is in force. FIFO. */
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
      const until = this.pausedUntil;
      if (until === null) return;
      const wait = until - this.#now();
      await (signal ? raceAbort(this.#sleep(wait, signal), signal) : this.#sleep(wait));
    }
  }

  /**
   * The Files client's `onResponse` hook: every answer (or its absence) goes to the controller,
   * which learns the limit from it; a 429 pauses every request until its `retry-after`.
   */
  onResponse(info: ResponseInfo): void {
    const now = this.#now();
    if (info.status === 429) this.#countPause(now);
    this.#controller.answer(now, { status: info.status, headers: info.headers, startedAt: info.startedAt });
    this.#probeWaitSince = null;
    // The answer may let a waiter go sooner (a probe answered) or later (a pause): look again.
    this.#pumpWait?.abort();
  }

  /**
   * The Files client's `onRetryWait` hook. A 429 pauses every request at least until now +
   * waitMs (the later deadline wins); the answer itself, and what it teaches about the limit,
   * came through `onResponse`. Other retry waits are the client's own per-request sleep.
   */
  onRetryWait(info: RetryWaitInfo): void {
    if (info.status !== 429) return;
    const now = this.#now();
    this.#countPause(now);
    this.#controller.holdUntil(now + Math.max(0, info.waitMs), now);
    this.#pumpWait?.abort();
  }

  #countPause(now: number): void {
    if (this.#controller.pausedUntil(now) === null) this.#pauses += 1;
  }

  /** How long the head waiter must wait; 0 means it may go now. */
  #waitMs(now: number): number {
    const wait = this.#controller.wait(now);
    if (wait !== Infinity) {
      this.#probeWaitSince = null;
      return wait;
    }
    // A probe is out: wait for its answer, but not for ever (see PROBE_TIMEOUT_MS).
    this.#probeWaitSince ??= now;
    const left = this.#probeWaitSince + PROBE_TIMEOUT_MS - now;
    if (left > 0) return left;
    this.#probeWaitSince = null;
    this.#controller.answer(now, { status: null });
    return this.#controller.wait(now);
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#waiters.length > 0) {
        const now = this.#now();
        const wait = this.#waitMs(now);
        if (wait > 0) {
          const ctl = new AbortController();
          this.#pumpWait = ctl;
          await this.#sleep(Math.max(1, wait), ctl.signal).catch(() => undefined);
          this.#pumpWait = null;
          continue;
        }
        const waiter = this.#waiters.shift();
        if (waiter === undefined) break;
        this.#controller.start(now);
        if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
        waiter.resolve();
      }
    } finally {
      this.#pumping = false;
    }
  }
}
