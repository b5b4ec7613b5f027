/**
 * When to try again, pure: the engine's retry of a transient job failure and the recheck of
 * failed files both take `now` and an attempt count, and answer with a delay or a verdict.
 */
import type { FileRow } from '../index/types.js';

/** Transient failures are retried by the engine after 2 s, 4 s, ... up to this many times. */
export const MAX_ENGINE_RETRIES = 5;
export const MAX_RETRY_DELAY_MS = 60_000;
/** Failed files are rechecked on this tick, each after 5 s x 2^(attempts-1), at most 1 h. */
export const FAILED_RECHECK_TICK_MS = 5_000;
export const FAILED_RECHECK_MAX_MS = 60 * 60_000;

/** The delay before retry number `attempt` (1-based), or null once the retries are used up. */
export function retryDelay(attempt: number): number | null {
  if (attempt > MAX_ENGINE_RETRIES) return null;
  return Math.min(MAX_RETRY_DELAY_MS, 1000 * 2 ** attempt);
}

/** How long a failed file waits before it is looked at again, after `attempts` failures. */
export function recheckDelay(attempts: number): number {
  return Math.min(FAILED_RECHECK_MAX_MS, FAILED_RECHECK_TICK_MS * 2 ** Math.max(0, attempts - 1));
}

/**
 * A failed file is looked at again once its delay has passed since its last failure: it may be
 * readable now without any event the watcher could see (a permission change, a lock released),
 * and an API failure may have passed.
 */
export function dueForRecheck(row: Pick<FileRow, 'updatedAt' | 'attempts'>, now: number): boolean {
  return now - row.updatedAt >= recheckDelay(row.attempts);
}

/** A file that changed during its upload is looked at again after at most this long. */
export const CHANGED_RECHECK_MAX_MS = 60_000;
/** A path that went this long without changing during an upload starts its backoff afresh. */
export const CHANGED_STREAK_RESET_MS = 10 * 60_000;

/**
 * The delay before a file that changed while it uploaded is looked at again: the settle time
 * first, then twice as long each time it changes again mid-upload, up to CHANGED_RECHECK_MAX_MS.
 * A file rewritten all the time (a log, a database) then costs a few uploads a minute, not one
 * every settle time: each changed upload is stored, then deleted again.
 */
export function changedRecheckDelay(settleMs: number, streak: number): number {
  return Math.min(CHANGED_RECHECK_MAX_MS, Math.max(1, settleMs) * 2 ** Math.max(0, streak - 1));
}

/**
 * Per-path streaks of uploads discarded because the file changed under them. Pure apart from
 * its map: the clock comes in as `now`. A completed upload ends the path's streak.
 */
export class ChangedBackoff {
  readonly #streaks = new Map<string, { count: number; lastAt: number }>();

  /** Counts one more discarded upload of `path` and answers how long to wait before a recheck. */
  next(path: string, settleMs: number, now: number): number {
    for (const [p, s] of this.#streaks) if (now - s.lastAt >= CHANGED_STREAK_RESET_MS) this.#streaks.delete(p);
    const count = (this.#streaks.get(path)?.count ?? 0) + 1;
    this.#streaks.set(path, { count, lastAt: now });
    return changedRecheckDelay(settleMs, count);
  }

  /** The upload of `path` completed: its next change starts from the settle time again. */
  settled(path: string): void {
    this.#streaks.delete(path);
  }

  get size(): number {
    return this.#streaks.size;
  }
}
