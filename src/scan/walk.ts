/**
 * The directory walk: iterative (a pool of directory tasks, never recursion), entries stat'ed in
 * parallel batches, ignored directories skipped whole. IO goes through real paths: a followed
 * symlink is resolved first and walked only if its target lies inside the root, so nothing
 * outside the root is ever listed or read.
 */
import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import type { IgnoreMatcher } from './ignore.js';
import { describeFsError, isGone, specialKind } from './observe-file.js';
import { TaskPool } from './task-pool.js';

export type SkippedKind = 'file' | 'directory' | 'symlink' | 'special';

export interface SkippedEntry {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
  reason: string;
  /** What was skipped: a directory entry stands for everything below it. */
  kind: SkippedKind;
}

export interface WalkVisitor {
  /** A regular file (or a followed link to one) that is not ignored. `abs` is its real path. */
  file(rel: string, abs: string, st: Stats): void;
  skipped(entry: SkippedEntry): void;
  unreadableDir(rel: string, error: string): void;
  error(rel: string, error: string): void;
  /** Called after each directory is listed and its entries stat'ed. */
  dirDone?(): void;
}

export interface WalkOptions {
  readonly matcher: IgnoreMatcher;
  readonly followSymlinks: boolean;
  readonly signal?: AbortSignal;
  /** Directories listed at once. @default 8 */
  readonly dirConcurrency?: number;
  /** lstat calls started together within one directory. @default 128 */
  readonly statBatch?: number;
}

/** The real paths of a directory and its logical ancestors: a followed link into one is a loop. */
interface Chain {
  readonly real: string;
  readonly up: Chain | null;
}

interface DirTask {
  readonly rel: string;
  readonly real: string;
  readonly chain: Chain;
}

function inChain(chain: Chain | null, real: string): boolean {
  for (let c = chain; c !== null; c = c.up) if (c.real === real) return true;
  return false;
}

function join(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

function realJoin(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

function skippedOf(rel: string, st: Stats, reason: string, kind: SkippedKind): SkippedEntry {
  return { path: rel, size: st.isDirectory() ? 0 : st.size, mtimeMs: st.mtimeMs, ino: st.ino, reason, kind };
}

/** Resolves the root; null when it is missing or not a directory. */
export async function resolveRoot(root: string): Promise<string | null> {
  try {
    const real = await realpath(root);
    const st = await stat(real);
    return st.isDirectory() ? real : null;
  } catch (err) {
    if (isGone(err)) return null;
    throw err;
  }
}

export function isInside(realRoot: string, real: string): boolean {
  if (real === realRoot) return true;
  const prefix = realRoot.endsWith('/') ? realRoot : `${realRoot}/`;
  return real.startsWith(prefix);
}

/** Walks `realRoot` (already resolved by resolveRoot), reporting every entry to the visitor. */
export async function walkTree(realRoot: string, options: WalkOptions, visitor: WalkVisitor): Promise<void> {
  const { matcher, followSymlinks, signal } = options;
  const statBatch = options.statBatch ?? 128;
  const pool = new TaskPool(options.dirConcurrency ?? 8);

  const followLink = async (rel: string, abs: string, parent: DirTask, linkStat: Stats): Promise<void> => {
    let target: string;
    try {
      target = await realpath(abs);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const reason =
        code === 'ENOENT' ? 'a broken symbolic link' : code === 'ELOOP' ? 'a symbolic link loop' : `a symbolic link that cannot be resolved (${describeFsError(err)})`;
      visitor.skipped(skippedOf(rel, linkStat, reason, 'symlink'));
      return;
    }
    if (!isInside(realRoot, target)) {
      visitor.skipped(skippedOf(rel, linkStat, 'a symbolic link to outside the folder (not followed)', 'symlink'));
      return;
    }
    let st: Stats;
    try {
      st = await stat(target);
    } catch (err) {
      if (!isGone(err)) visitor.error(rel, describeFsError(err));
      return;
    }
    if (st.isDirectory()) {
      const reason = matcher.check(rel, true);
      if (reason !== null) visitor.skipped(skippedOf(rel, st, reason, 'directory'));
      else if (inChain(parent.chain, target)) {
        visitor.skipped(skippedOf(rel, linkStat, 'a symbolic link loop (it points to a folder that contains it)', 'symlink'));
      } else {
        addDir({ rel, real: target, chain: { real: target, up: parent.chain } });
      }
      return;
    }
    const reason = matcher.check(rel, false);
    if (reason !== null) visitor.skipped(skippedOf(rel, st, reason, 'file'));
    else if (st.isFile()) visitor.file(rel, target, st);
    else visitor.skipped(skippedOf(rel, st, `${specialKind(st)} (behind a symbolic link)`, 'special'));
  };

  const visitEntry = async (dir: DirTask, entry: Dirent): Promise<void> => {
    const rel = join(dir.rel, entry.name);
    const abs = realJoin(dir.real, entry.name);
    if (entry.isDirectory()) {
      const reason = matcher.check(rel, true);
      if (reason === null) {
        addDir({ rel, real: abs, chain: { real: abs, up: dir.chain } });
        return;
      }
      await withStat(rel, abs, (st) => visitor.skipped(skippedOf(rel, st, reason, 'directory')));
      return;
    }
    await withStat(rel, abs, async (st) => {
      if (st.isSymbolicLink()) {
        const reason = matcher.check(rel, false);
        if (reason !== null) visitor.skipped(skippedOf(rel, st, reason, 'symlink'));
        else if (!followSymlinks) visitor.skipped(skippedOf(rel, st, 'a symbolic link (not followed)', 'symlink'));
        else await followLink(rel, abs, dir, st);
        return;
      }
      if (st.isDirectory()) {
        // The entry changed type between readdir and lstat: walk it as the directory it now is.
        if (matcher.check(rel, true) === null) addDir({ rel, real: abs, chain: { real: abs, up: dir.chain } });
        return;
      }
      const reason = matcher.check(rel, false);
      if (reason !== null) visitor.skipped(skippedOf(rel, st, reason, st.isFile() ? 'file' : 'special'));
      else if (st.isFile()) visitor.file(rel, abs, st);
      else visitor.skipped(skippedOf(rel, st, specialKind(st), 'special'));
    });
  };

  const withStat = async (rel: string, abs: string, use: (st: Stats) => void | Promise<void>): Promise<void> => {
    let st: Stats;
    try {
      st = await lstat(abs);
    } catch (err) {
      // Vanished between listing and stat: an expected race, the watcher will tell us.
      if (!isGone(err)) visitor.error(rel, describeFsError(err));
      return;
    }
    await use(st);
  };

  const listDir = async (dir: DirTask): Promise<void> => {
    signal?.throwIfAborted();
    let entries: Dirent[];
    try {
      entries = await readdir(dir.real, { withFileTypes: true });
    } catch (err) {
      if (!isGone(err)) visitor.unreadableDir(dir.rel, describeFsError(err));
      return;
    }
    for (let i = 0; i < entries.length; i += statBatch) {
      signal?.throwIfAborted();
      const batch = entries.slice(i, i + statBatch);
      await Promise.all(batch.map((e) => visitEntry(dir, e)));
    }
    visitor.dirDone?.();
  };

  const addDir = (dir: DirTask): void => pool.add(() => listDir(dir));

  addDir({ rel: '', real: realRoot, chain: { real: realRoot, up: null } });
  await pool.onIdle();
}
