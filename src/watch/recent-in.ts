import { performance } from 'node:perf_hooks';

/**
 * Parcel's debounce (50 to 500 ms) can cut a new file's create from the write that follows it
 * (open, then write): an update that soon after the create is part of making the file, not a write
 * in place to read again. And a folder removed whole is reported by each subscription that
 * watches it (the main one and its own, see parcel-backend.ts), and its folders after it (parcel sorts a
 * batch by path): a delete that soon after the folder's is no file's.
 */
export const RECENT_MS = 1000;

/** Whether `rel` was put in `map` less than RECENT_MS ago; forgets older entries. */
export function recentIn(map: Map<string, number>, rel: string): boolean {
  const t = performance.now();
  for (const [p, at] of map) {
    if (t - at < RECENT_MS) break;
    map.delete(p);
  }
  return map.has(rel);
}
