/**
 * The engine's timers by key: a retry after backoff (src/sync/backoff.ts), a path looked at again
 * once it settled, the gathering of removals. A key has one timer at most (a later call replaces
 * it); `size` tells the engine's onIdle whether anything is still to come.
 */
import { retryDelay } from './backoff.js';

export class RetryTimers {
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #attempts = new Map<string, number>();
  readonly #onChange: () => void;
  #closed = false;

  /** `onChange` runs after a timer fired or was cleared (the engine wakes its idle waiters). */
  constructor(onChange: () => void) {
    this.#onChange = onChange;
  }

  get size(): number {
    return this.#timers.size;
  }

  /** Runs `run` after `delayMs`, replacing the key's timer. */
  later(key: string, delayMs: number, run: () => void): void {
    if (this.#closed) return;
    const existing = this.#timers.get(key);
    if (existing) clearTimeout(existing);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      if (!this.#closed) run();
      this.#onChange();
    }, delayMs);
    this.#timers.set(key, timer);
  }

  /** Runs `run` after the key's next backoff delay; false once its retries are used up. */
  backoff(key: string, run: () => void): boolean {
    const attempt = (this.#attempts.get(key) ?? 0) + 1;
    const delay = retryDelay(attempt);
    if (delay === null) {
      this.#attempts.delete(key);
      return false;
    }
    this.#attempts.set(key, attempt);
    this.later(key, delay, run);
    return true;
  }

  /** The key succeeded: its timer and its attempt count go. */
  clear(key: string): void {
    this.#attempts.delete(key);
    const t = this.#timers.get(key);
    if (t) {
      clearTimeout(t);
      this.#timers.delete(key);
      this.#onChange();
    }
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }
}
