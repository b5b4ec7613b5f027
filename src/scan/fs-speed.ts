/**
 * Whether the folder's filesystem answers fast enough for small calls on the main thread. A local
 * disk answers a stat, or a read of a small file, from the page cache in microseconds: less than
 * the hop through libuv's thread pool costs (a pool thread woken, its completion posted back),
 * which under load is most of what reading a small file costs. A network mount may take
 * milliseconds per call, each of which would stall the event loop; once calls are seen to be
 * slow, everything goes through the pool again. The walk (./walk.ts) learns it from its stats;
 * the hasher (./hash.ts) and the uploader (src/jobs/executor.ts) ask the same judge.
 */

/** Mean time of a synchronous call above which the filesystem is slow. */
export const SLOW_CALL_MS = 0.25;
/** Calls per judgement: one slow call (a cold cache, a page fault) is not a slow filesystem. */
const WINDOW = 256;
/** Files up to this size are read whole in one call where the filesystem is fast. */
export const SMALL_READ_BYTES = 64 * 1024;

export class FsSpeed {
  #count = 0;
  #ms = 0;
  #slow = false;

  /** Synchronous calls may be used: no window of calls has been slow. */
  get fast(): boolean {
    return !this.#slow;
  }

  /** Counts one synchronous call's duration. Slow stays slow. */
  note(ms: number): void {
    this.#ms += ms;
    if (++this.#count < WINDOW) return;
    if (this.#ms / this.#count > SLOW_CALL_MS) this.#slow = true;
    this.#count = 0;
    this.#ms = 0;
  }

  /** Runs a synchronous filesystem call and counts its time (a throw counts too). */
  time<T>(call: () => T): T {
    const t = performance.now();
    try {
      return call();
    } finally {
      this.note(performance.now() - t);
    }
  }
}
