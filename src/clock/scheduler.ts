/**
 * Every timer of the engine goes through one injected Scheduler (as chokidar 5 does): the settle
 * windows, the removal gathering, the retry timers, the rescans and the rechecks. The daemon uses
 * the system's clock and timers; tests hand in a virtual clock (test/helpers/virtual-clock.ts)
 * and advance it, so the timing rules are tested without waiting.
 */

/** Cancels a timer; calling it after the timer ran, or twice, does nothing. */
export type CancelTimer = () => void;

export interface LaterOptions {
  /** The timer does not keep the process alive (a scheduled reconcile, a periodic recheck). */
  readonly background?: boolean;
}

export interface Scheduler {
  /** Milliseconds, comparable between calls of the same scheduler. */
  now(): number;
  /** Runs `run` once after `delayMs`. */
  later(delayMs: number, run: () => void, options?: LaterOptions): CancelTimer;
}

/** setTimeout's longest delay (a longer one fires at once). */
export const MAX_DELAY_MS = 2 ** 31 - 1;

/** The system's timers, with `now` as the clock (wall time by default). */
export function systemScheduler(now: () => number = Date.now): Scheduler {
  return {
    now,
    later(delayMs, run, options) {
      const timer = setTimeout(run, Math.min(delayMs, MAX_DELAY_MS));
      if (options?.background) timer.unref();
      return () => clearTimeout(timer);
    },
  };
}

/** Runs `run` every `intervalMs` until the returned cancel is called (from `run` too). */
export function every(scheduler: Scheduler, intervalMs: number, run: () => void, options?: LaterOptions): CancelTimer {
  let cancel: CancelTimer = () => undefined;
  // The next tick is set before `run` runs: a `run` that throws does not end the series.
  const tick = (): void => {
    cancel = scheduler.later(
      intervalMs,
      () => {
        tick();
        run();
      },
      options,
    );
  };
  tick();
  return () => cancel();
}
