/**
 * A Scheduler in virtual time (src/clock/scheduler.ts): nothing runs until the test advances the
 * clock, and then the due timers run in time order (ties in the order they were set), with the
 * microtasks they queue run between them, so a timer set by a timer's promise chain is seen.
 */
import type { CancelTimer, Scheduler } from '../../src/clock/scheduler.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

/** Lets pending promise callbacks (and a few rounds of the callbacks they queue) run. */
async function drainMicrotasks(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

export class VirtualClock implements Scheduler {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];

  constructor(start = 1_000_000) {
    this.#now = start;
  }

  now = (): number => this.#now;

  later = (delayMs: number, run: () => void): CancelTimer => {
    const timer: Timer = { at: this.#now + Math.max(0, delayMs), seq: this.#seq++, run };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
    };
  };

  /** Timers waiting to run. */
  pending(): number {
    return this.#timers.length;
  }

  /** Moves the clock `ms` on, running every timer due by then in time order. */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    for (;;) {
      await drainMicrotasks();
      const next = this.#next();
      if (next === undefined || next.at > until) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = Math.max(this.#now, next.at);
      next.run();
    }
    this.#now = until;
  }

  /** Runs timers (and those they set) until none is left; throws past `limit` timers (a timer loop). */
  async runAll(limit = 10_000): Promise<void> {
    for (let ran = 0; ; ran++) {
      await drainMicrotasks();
      const next = this.#next();
      if (next === undefined) return;
      if (ran >= limit)
        throw new Error(`VirtualClock.runAll: more than ${limit} timers ran; a timer keeps setting itself`);
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = Math.max(this.#now, next.at);
      next.run();
    }
  }

  #next(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.#timers) if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    return best;
  }
}
