/**
 * When to try again, pure: the engine's requeue of a transient job failure and the recheck of
 * failed files both take `now` and their history, and answer with a delay or a verdict.
 */
import { defaultBackoffMs } from '../api/retry.js';
import type { FileRow } from '../store/types.js';

/**
 * A job whose last attempt failed transiently (a 5xx, a 429, a reset, an unconfirmed upload)
 * after the client's own retries is requeued, not failed: waiting is not failing. It goes out
 * again as soon as the retry policy allows (the server's retry-after, else the SDKs' backoff
 * from its start: 0.5 s, 1 s, 2 s ... 8 s), with nothing stacked on top. Only when nothing has
 * succeeded anywhere since its previous failure, this many times in a row (an outage, not a
 * faulty server), does the file turn failed and wait for the recheck of failed files.
 */
export const MAX_WAITS_WITHOUT_ANSWER = 5;

/** A key's consecutive transient failures. */
export interface WaitState {
  waits: number;
  /** When it last failed. */
  lastFailureAt: number;
}

/**
 * After a transient failure at `now`: the key's next wait state and how long to wait, or null
 * when it has failed MAX_WAITS_WITHOUT_ANSWER times with no success anywhere in between.
 * @param lastSuccessAt when any job last succeeded (0 = never)
 * @param serverMs the wait the server asked for, if it did
 * @param random in [0, 1), the jitter
 */
export function nextWait(
  prev: WaitState | undefined,
  now: number,
  lastSuccessAt: number,
  serverMs: number | null,
  random: number,
): { state: WaitState; delayMs: number } | null {
  // Another request succeeded since this key last failed: the server is faulty, not down.
  const waits = prev === undefined || lastSuccessAt > prev.lastFailureAt ? 1 : prev.waits + 1;
  if (waits > MAX_WAITS_WITHOUT_ANSWER) return null;
  const delayMs = serverMs ?? defaultBackoffMs(waits - 1, random);
  return { state: { waits, lastFailureAt: now }, delayMs };
}

/** Failed files wait 5 s x 2^(attempts-1) before they are looked at again, at most 1 h. */
const FAILED_RECHECK_BASE_MS = 5_000;
export const FAILED_RECHECK_MAX_MS = 60 * 60_000;
/**
 * How often the engine asks which failed files are due: often enough that a file due after 5 s
 * is looked at within a second of it (a 5-s tick would let it wait up to 10 s), and the question
 * is one indexed query.
 */
export const FAILED_RECHECK_TICK_MS = 1_000;

/** How long a failed file waits before it is looked at again, after `attempts` failures. */
export function recheckDelay(attempts: number): number {
  return Math.min(FAILED_RECHECK_MAX_MS, FAILED_RECHECK_BASE_MS * 2 ** Math.max(0, attempts - 1));
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
