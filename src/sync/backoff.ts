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
