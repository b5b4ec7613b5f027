/**
 * The engine's timers by key: a requeue after a transient failure (src/plan/backoff.ts), a path looked at again
 * once it settled, the gathering of removals. A key has one timer at most (a later call replaces
 * it); `size` tells the engine's onIdle whether anything is still to come.
 */
import { nextWait, type WaitState } from '../plan/backoff.js';
import { type CancelTimer, type Scheduler, systemScheduler } from '../clock/scheduler.js';

export class RetryTimers {
  readonly #timers = new Map<string, CancelTimer>();
  readonly #waits = new Map<string, WaitState>();
  readonly #onChange: () => void;
  readonly #scheduler: Scheduler;
  #closed = false;

  /** `onChange` runs after a timer fired or was cleared (the engine wakes its idle waiters). */
  constructor(onChange: () => void, scheduler: Scheduler = systemScheduler()) {
    this.#onChange = onChange;
    this.#scheduler = scheduler;
  }

  get size(): number {
    return this.#timers.size;
  }

  /** True while a timer whose key starts with `prefix` waits. */
  has(prefix: string): boolean {
    for (const key of this.#timers.keys()) if (key.startsWith(prefix)) return true;
    return false;
  }

  /** Runs `run` after `delayMs`, replacing the key's timer. */
  later(key: string, delayMs: number, run: () => void): void {
    if (this.#closed) return;
    this.#timers.get(key)?.();
    const cancel = this.#scheduler.later(delayMs, () => {
      this.#timers.delete(key);
      if (!this.#closed) run();
      this.#onChange();
    });
    this.#timers.set(key, cancel);
  }

  /**
   * After a transient failure: runs `run` once the retry policy allows (see nextWait) and returns
   * the delay, or returns null when the key should turn failed (nothing succeeded anywhere while
   * it kept failing).
   */
  wait(key: string, now: number, lastSuccessAt: number, serverMs: number | null, run: () => void): number | null {
    const next = nextWait(this.#waits.get(key), now, lastSuccessAt, serverMs, Math.random());
    if (next === null) {
      this.#waits.delete(key);
      return null;
    }
    this.#waits.set(key, next.state);
    this.later(key, next.delayMs, run);
    return next.delayMs;
  }

  /** The key succeeded: its timer and its wait state go. */
  clear(key: string): void {
    this.#waits.delete(key);
    const cancel = this.#timers.get(key);
    if (cancel) {
      cancel();
      this.#timers.delete(key);
      this.#onChange();
    }
  }

  close(): void {
    this.#closed = true;
    for (const cancel of this.#timers.values()) cancel();
    this.#timers.clear();
  }
}
