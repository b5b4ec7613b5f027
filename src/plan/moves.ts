/**
 * Moves, pure: a local file gone whose content (or inode) reappeared under a new path in the same
 * gathering window was renamed, not lost. `mv big big2` must not read as 200 deletions: the new
 * paths are uploaded, then the old copies deleted, without asking and without counting against
 * deletion safety (src/plan/delete-safety.ts).
 */

/** A removal candidate: a row whose file is gone and whose remote copy is still up. */
interface MoveSource {
  path: string;
  /** The content the row last saw (null: never read). */
  sha256: string | null;
  ino: number;
}

/** A file that appeared under a new path and whose content is, or is about to be, up remotely. */
export interface MoveTarget {
  path: string;
  sha256: string | null;
  ino: number;
}

/**
 * Pairs each source with at most one target and each target with at most one source: an inode
 * match first (a rename keeps it, even when the content changed after), then a content match.
 * Returns source path -> target path. Deterministic (paths are taken in sorted order).
 */
export function pairMoves(sources: readonly MoveSource[], targets: readonly MoveTarget[]): Map<string, string> {
  const pairs = new Map<string, string>();
  const taken = new Set<string>();
  const sortedSources = [...sources].sort((a, b) => cmp(a.path, b.path));
  const sortedTargets = [...targets]
    .filter((t) => !sources.some((s) => s.path === t.path))
    .sort((a, b) => cmp(a.path, b.path));
  const byIno = new Map<number, MoveTarget[]>();
  const bySha = new Map<string, MoveTarget[]>();
  for (const t of sortedTargets) {
    push(byIno, t.ino, t);
    if (t.sha256) push(bySha, t.sha256, t);
  }
  const take = (list: MoveTarget[] | undefined, ok: (t: MoveTarget) => boolean): MoveTarget | undefined =>
    list?.find((t) => !taken.has(t.path) && ok(t));
  // Inode first over all sources, so a content twin never steals a renamed file's own target.
  for (const s of sortedSources) {
    // An inode is reused once its file is gone: only trust it while the content agrees or is unknown.
    const t = take(byIno.get(s.ino), (c) => s.sha256 === null || c.sha256 === null || c.sha256 === s.sha256);
    if (!t) continue;
    pairs.set(s.path, t.path);
    taken.add(t.path);
  }
  for (const s of sortedSources) {
    if (pairs.has(s.path) || !s.sha256) continue;
    const t = take(bySha.get(s.sha256), () => true);
    if (!t) continue;
    pairs.set(s.path, t.path);
    taken.add(t.path);
  }
  return pairs;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
