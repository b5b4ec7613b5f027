/**
 * Folders the scan could not list (EACCES, EIO...). Nothing under one is uploaded or deleted
 * (the planner's `unreadableDirs`), and none is skipped silently: the last full scan's list is
 * kept in the index (meta `unreadable_dirs`) so `status` and `ls` show it with its reason, daemon
 * or not, and the engine looks at each again on the failed-recheck tick (src/plan/backoff.ts)
 * to scan and watch it once it is readable. Pure: parsing, formatting, the due-check.
 */
import { recheckDelay } from './backoff.js';

export const UNREADABLE_DIRS_META = 'unreadable_dirs';

export interface UnreadableDir {
  /** Relative, '/'-separated; '' is the folder itself. */
  path: string;
  reason: string;
}

/** An unreadable folder as the engine tracks it between rechecks. */
export interface UnreadableDirCheck extends UnreadableDir {
  /** When it was last found unreadable (ms since epoch). */
  checkedAt: number;
  /** How many times in a row it was found unreadable. */
  attempts: number;
}

export function parseUnreadableDirs(raw: string | undefined): UnreadableDir[] {
  if (!raw) return [];
  try {
    const value: unknown = JSON.parse(raw);
    if (!Array.isArray(value)) return [];
    return value.filter((d): d is UnreadableDir => typeof d?.path === 'string' && typeof d?.reason === 'string');
  } catch {
    // A damaged value lists nothing; the next full scan writes it again.
    return [];
  }
}

export function formatUnreadableDirs(dirs: readonly UnreadableDir[]): string {
  return JSON.stringify(
    [...dirs]
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .map((d) => ({ path: d.path, reason: d.reason })),
  );
}

/** Looked at again on the same backoff as a failed file: 5 s, 10 s, 20 s ... at most 1 h. */
export function dirDueForRecheck(d: Pick<UnreadableDirCheck, 'checkedAt' | 'attempts'>, now: number): boolean {
  return now - d.checkedAt >= recheckDelay(d.attempts);
}
