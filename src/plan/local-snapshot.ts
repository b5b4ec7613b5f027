/**
 * What the planner knows of the folder: a scan's result, or the watcher path's observations of
 * its paths. Its own module so that the planner's input steps (plan-concurrent.ts) need not
 * import the planner.
 */
import type { LocalObservation } from '../store/types.js';

export interface LocalSnapshot {
  /** Every syncable file, with its content hash (null when it could not be read). */
  files: ReadonlyMap<string, LocalObservation>;
  /** Files present but not synced (ignored, too large, special) and why. */
  skipped: ReadonlyMap<string, SkippedFile>;
  /** Files present but unreadable: neither uploaded nor deleted. */
  unreadable: ReadonlySet<string>;
  /** Directories that could not be listed: nothing under them is considered removed. */
  unreadableDirs: readonly string[];
  /** The watched folder itself is missing: nothing at all is considered removed. */
  rootMissing: boolean;
}

export interface SkippedFile {
  reason: string;
  size: number;
  mtimeMs: number;
  ino: number;
}
