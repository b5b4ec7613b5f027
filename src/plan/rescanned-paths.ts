/** What a rescan of the whole folder (src/engine/local-rescan.ts) tells the watcher path. Pure. */
import type { ScanResult } from '../scan/scanner.js';

/**
 * The paths a rescan hands to the watcher path: those it found changed, and the indexed ones it
 * did not find, except under a folder it could not list (there, nothing is known to be gone).
 * Null when the folder itself could not be looked at.
 */
export function rescannedPaths(
  scan: ScanResult,
  changed: readonly string[],
  indexed: Iterable<string>,
): string[] | null {
  if (scan.rootMissing || scan.unreadableDirs.includes('')) return null;
  const seen = new Set<string>(changed);
  for (const f of scan.files) seen.add(f.path);
  for (const p of scan.unchanged.keys()) seen.add(p);
  for (const s of scan.skipped) seen.add(s.path);
  for (const e of scan.errors) seen.add(e.path);
  const unlisted = scan.unreadableDirs.map((d) => `${d}/`);
  const out = [...changed];
  for (const p of indexed) {
    if (seen.has(p) || unlisted.some((d) => p.startsWith(d))) continue;
    out.push(p);
  }
  return out;
}
