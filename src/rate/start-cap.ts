/**
 * The configured `requestsPerMinute` as a cap on any 60 s: never more starts than that in a
 * minute, whatever the pacer's tokens or the server's surplus allow (the surplus is spent at
 * the configured rate, and a user who set a rate means it). Pure: `now` comes in.
 */
import { MINUTE } from './rate-estimate.js';
import { MinuteLog } from './minute-log.js';

export class StartCap {
  readonly #perMinute: number;
  #starts = new MinuteLog();

  constructor(requestsPerMinute: number) {
    this.#perMinute = Math.floor(requestsPerMinute);
  }

  /** A request started at `now`. */
  record(now: number): void {
    this.#starts.push(now);
  }

  /** How long until one more start fits in the cap; 0 if it fits now. */
  wait(now: number): number {
    this.#starts.expire(now);
    const inMinute = this.#starts.count;
    if (inMinute < this.#perMinute || inMinute === 0) return 0;
    const times = this.#starts.times;
    const oldest = times[times.length - Math.max(1, this.#perMinute)] as number;
    return Math.max(1, oldest + MINUTE - now);
  }
}
