/**
 * The single-path version of the scan, for watcher events: what is at `relPath` now, judged by the
 * same rules as a full scan (ignore rules, symlinks, size limit, hash reuse when size, mtime,
 * inode and ctime match the row, unless `rehash`).
 */
import type { Stats } from 'node:fs';
import { lstat, realpath, stat } from 'node:fs/promises';
import type { FileRow, LocalObservation } from '../store/types.js';
import { hashFile } from './hash.js';
import { describeFsError, isGone, observeFile, specialKind } from './observe-file.js';
import type { ScanOptions } from './scanner.js';
import { isInside } from './inside.js';
import { resolveRoot } from './walk.js';

export type CheckPathOptions = Omit<ScanOptions, 'lookup'>;
// `rehash` (from ScanOptions) reads the file even when `row` matches its stat: the watcher saw a
// change event on it, and an event is a better witness than a stat that an edit can restore.

export type CheckPathResult =
  | { kind: 'file'; obs: LocalObservation }
  | { kind: 'missing' }
  | { kind: 'skipped'; reason: string; size: number; mtimeMs: number; ino: number }
  | { kind: 'error'; error: string; code?: string };

function skipped(st: Stats, reason: string): CheckPathResult {
  return { kind: 'skipped', reason, size: st.isDirectory() ? 0 : st.size, mtimeMs: st.mtimeMs, ino: st.ino };
}

/** With its code: EACCES on a path's lstat tells the watcher path that a folder above it is unreadable. */
function fsError(err: unknown): CheckPathResult {
  const code = (err as NodeJS.ErrnoException).code;
  return { kind: 'error', error: describeFsError(err), ...(typeof code === 'string' ? { code } : {}) };
}

function invalidPath(relPath: string): boolean {
  return (
    relPath === '' || relPath.startsWith('/') || relPath.split('/').some((s) => s === '' || s === '.' || s === '..')
  );
}

/**
 * A missing root is an error, never 'missing': an unmounted folder must not look like deleted files.
 */
export async function checkPath(
  root: string,
  relPath: string,
  options: CheckPathOptions,
  row?: FileRow,
): Promise<CheckPathResult> {
  if (invalidPath(relPath)) return { kind: 'error', error: `not a relative path inside the folder: "${relPath}"` };
  const { matcher, followSymlinks } = options;
  let realRoot: string | null;
  try {
    realRoot = await resolveRoot(root);
  } catch (err) {
    return { kind: 'error', error: `the folder ${root} cannot be read: ${describeFsError(err)}` };
  }
  if (realRoot === null) return { kind: 'error', error: `the folder ${root} is missing or not a directory` };
  const base = realRoot.endsWith('/') ? realRoot : `${realRoot}/`;
  let abs = base + relPath;

  let st: Stats;
  try {
    st = await lstat(abs);
  } catch (err) {
    return isGone(err) ? { kind: 'missing' } : fsError(err);
  }

  // A path below a symlinked folder is only as syncable as the link is.
  const slash = relPath.lastIndexOf('/');
  if (slash > 0) {
    let parentReal: string;
    try {
      parentReal = await realpath(base + relPath.slice(0, slash));
    } catch (err) {
      return isGone(err) ? { kind: 'missing' } : fsError(err);
    }
    if (parentReal !== base + relPath.slice(0, slash)) {
      if (!followSymlinks) return skipped(st, 'inside a symbolic link to a folder (not followed)');
      if (!isInside(realRoot, parentReal))
        return skipped(st, 'inside a symbolic link to outside the folder (not followed)');
    }
  }

  if (st.isDirectory()) return skipped(st, matcher.check(relPath, true) ?? 'a directory, not a file');
  const ignored = matcher.check(relPath, false);
  if (ignored !== null) return skipped(st, ignored);

  if (st.isSymbolicLink()) {
    if (!followSymlinks) return skipped(st, 'a symbolic link (not followed)');
    let target: string;
    try {
      target = await realpath(abs);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return skipped(st, 'a broken symbolic link');
      if (code === 'ELOOP') return skipped(st, 'a symbolic link loop');
      return { kind: 'error', error: describeFsError(err) };
    }
    if (!isInside(realRoot, target)) return skipped(st, 'a symbolic link to outside the folder (not followed)');
    try {
      st = await stat(target);
    } catch (err) {
      return isGone(err) ? { kind: 'missing' } : { kind: 'error', error: describeFsError(err) };
    }
    if (st.isDirectory()) return skipped(st, 'a symbolic link to a folder, not a file');
    abs = target;
  }
  if (!st.isFile()) return skipped(st, specialKind(st));
  // Another name of one of the daemon's own files: a hard link, or the target of a followed symlink.
  const own = st.nlink > 1 || abs !== base + relPath ? matcher.ownIdentity(st) : null;
  if (own !== null) return skipped(st, own);

  const out = await observeFile(abs, relPath, st, options.rehash ? undefined : row, {
    maxFileBytes: options.maxFileBytes,
    hash: options.hash ?? hashFile,
    follow: followSymlinks,
    now: options.now ?? Date.now,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  switch (out.kind) {
    case 'file':
      return { kind: 'file', obs: out.obs };
    case 'skipped':
      return skipped(st, out.reason);
    default:
      return out;
  }
}
