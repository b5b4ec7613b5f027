/**
 * Times of events (request starts, accepted answers) kept for the last minute, oldest first: the
 * rate controller's 60-s cap counts starts in it, and its share estimate counts acceptances.
 * Pure: `now` comes in. Expired times are skipped by moving a head index, not by shifting the
 * array on every call (a long job records tens of thousands); the array is compacted once the
 * skipped part is both large and most of it.
 */
import { MINUTE } from './rate-estimate.js';

/** Skipped entries kept before the array is compacted. */
const COMPACT_AFTER = 1024;

export class MinuteLog {
  #times: number[] = [];
  #head = 0;

  /** Every time kept, oldest first; those before `head` have left the last minute. */
  get times(): readonly number[] {
    return this.#times;
  }

  get head(): number {
    return this.#head;
  }

  /** Times in the last minute as of the last `expire`. */
  get count(): number {
    return this.#times.length - this.#head;
  }

  push(t: number): void {
    this.#times.push(t);
  }

  /** Moves the head past the times a minute or more before `now`. */
  expire(now: number): void {
    const cut = now - MINUTE;
    while (this.#head < this.#times.length && (this.#times[this.#head] as number) <= cut) this.#head++;
    if (this.#head > COMPACT_AFTER && this.#head * 2 > this.#times.length) {
      this.#times.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
