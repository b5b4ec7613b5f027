/**
 * "Inside the root" and "under a folder", decided once. Pure (string rules on paths; no IO), so the
 * planner may use it too (.dependency-cruiser.cjs). Absolute paths are native; folder-relative
 * paths are '/'-separated with '' for the root, as the index keeps them.
 */
import path from 'node:path';

/** `target` relative to `root`, '/'-separated, or null when it is the root itself or outside it. */
export function relativeInside(root: string, target: string): string | null {
  const rel = path.relative(root, target);
  if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return null;
  return path.sep === '/' ? rel : rel.split(path.sep).join('/');
}

/** True when `target` is `root` itself or lies inside it. */
export function isInside(root: string, target: string): boolean {
  return path.relative(root, target) === '' || relativeInside(root, target) !== null;
}

/** True when the folder-relative `relPath` is `dir` itself or lies under it ('' is the root). */
export function isUnder(relPath: string, dir: string): boolean {
  return dir === '' || relPath === dir || relPath.startsWith(`${dir}/`);
}

/** True when `relPath` is one of `dirs` or lies under one of them. */
export function isUnderAny(relPath: string, dirs: Iterable<string>): boolean {
  for (const d of dirs) if (isUnder(relPath, d)) return true;
  return false;
}
