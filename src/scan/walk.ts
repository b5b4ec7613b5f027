/**
 * The directory walk: iterative (an explicit stack, never recursion), ignored directories skipped
 * whole. IO goes through real paths: a followed symlink is resolved first and walked only if its
 * target lies inside the root, so nothing outside the root is ever listed or read.
 *
 * Two ways to stat, chosen by measurement. On a local disk a stat is a microsecond and the cost of
 * a promise and a thread-pool round trip per call dominates (measured: 5x the CPU of a plain
 * synchronous walk), so entries are stat'ed synchronously in time slices of a few milliseconds,
 * yielding to the event loop between slices. When stats turn out slow (a network mount, where
 * latency dominates), the walk switches for good to parallel batches on the thread pool.
 */
import type { Dirent, Stats } from 'node:fs';
import { lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { lstat, opendir, readdir, realpath, stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { IgnoreMatcher } from './ignore.js';
import { FsSpeed } from './fs-speed.js';
import { isInside } from './inside.js';
import { describeFsError, isGone, specialKind } from './observe-file.js';

type SkippedKind = 'file' | 'directory' | 'symlink' | 'special';

export interface SkippedEntry {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
  reason: string;
  /** What was skipped: a directory entry stands for everything below it. */
  kind: SkippedKind;
}

interface WalkVisitor {
  /** A regular file (or a followed link to one) that is not ignored. `abs` is its real path. */
  file(rel: string, abs: string, st: Stats): void;
  skipped(entry: SkippedEntry): void;
  unreadableDir(rel: string, error: string): void;
  error(rel: string, error: string): void;
  /** Called after each directory is listed and its entries stat'ed. */
  dirDone?(): void;
}

interface WalkOptions {
  readonly matcher: IgnoreMatcher;
  readonly followSymlinks: boolean;
  readonly signal?: AbortSignal;
  /** lstat calls started together when stats are slow. @default 64 */
  readonly statBatch?: number;
  /** 'auto' measures; 'sync' and 'parallel' force one way (tests, benchmarks). @default 'auto' */
  readonly statMode?: 'auto' | 'sync' | 'parallel';
  /** Judges the filesystem's speed from the walk's stats; the scan's small reads follow it. */
  readonly speed?: FsSpeed;
  /**
   * The folder (root-relative, '/'-separated) the walk starts at, for a walk of one new folder
   * (src/engine/watcher-path.ts). Paths are still reported relative to the root. @default ''
   */
  readonly from?: string;
}

const NOT_UTF8_REASON = 'its name is not valid UTF-8 (claude-filesync cannot open it by name); rename it to sync it';

/** Longest stretch of synchronous work before yielding to the event loop. */
const SLICE_MS = 8;

interface FsOps {
  lstat(p: string): Stats | Promise<Stats>;
  stat(p: string): Stats | Promise<Stats>;
  realpath(p: string): string | Promise<string>;
  readdir(p: string): Dirent[] | Promise<Dirent[]>;
}

const syncOps: FsOps = {
  lstat: (p) => lstatSync(p),
  stat: (p) => statSync(p),
  realpath: (p) => realpathSync.native(p),
  readdir: (p) => readdirSync(p, { withFileTypes: true }),
};

const asyncOps: FsOps = {
  lstat: (p) => lstat(p),
  stat: (p) => stat(p),
  realpath: (p) => realpath(p),
  readdir: (p) => readdir(p, { withFileTypes: true }),
};

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

/** Whether a folder can be listed, else whether it is gone (its removal is reported) or why not. */
type Listability =
  | { readonly listable: true }
  | { readonly listable: false; readonly gone: boolean; readonly reason: string };

/** Opens the folder at `abs` for listing, as the walk would, and says whether it could. */
export async function checkListable(abs: string): Promise<Listability> {
  try {
    await (await opendir(abs)).close();
    return { listable: true };
  } catch (err) {
    return { listable: false, gone: isGone(err), reason: describeFsError(err) };
  }
}

/** What a walk's steps share: its settings, the folders still to list, and how it stats. */
interface WalkState {
  readonly realRoot: string;
  readonly matcher: IgnoreMatcher;
  readonly followSymlinks: boolean;
  readonly visitor: WalkVisitor;
  readonly stack: DirTask[];
  /** Synchronous until stats turn out slow, then parallel on the thread pool for good. */
  ops: FsOps;
}

async function followLink(w: WalkState, rel: string, abs: string, parent: DirTask, linkStat: Stats): Promise<void> {
  let target: string;
  try {
    target = await w.ops.realpath(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'a broken symbolic link'
        : code === 'ELOOP'
          ? 'a symbolic link loop'
          : `a symbolic link that cannot be resolved (${describeFsError(err)})`;
    w.visitor.skipped(skippedOf(rel, linkStat, reason, 'symlink'));
    return;
  }
  if (!isInside(w.realRoot, target)) {
    w.visitor.skipped(skippedOf(rel, linkStat, 'a symbolic link to outside the folder (not followed)', 'symlink'));
    return;
  }
  let st: Stats;
  try {
    st = await w.ops.stat(target);
  } catch (err) {
    if (!isGone(err)) w.visitor.error(rel, describeFsError(err));
    return;
  }
  if (st.isDirectory()) {
    const reason = w.matcher.check(rel, true) ?? w.matcher.ownIdentity(st);
    if (reason !== null) w.visitor.skipped(skippedOf(rel, st, reason, 'directory'));
    else if (inChain(parent.chain, target)) {
      w.visitor.skipped(
        skippedOf(rel, linkStat, 'a symbolic link loop (it points to a folder that contains it)', 'symlink'),
      );
    } else {
      w.stack.push({ rel, real: target, chain: { real: target, up: parent.chain } });
    }
    return;
  }
  const reason = w.matcher.check(rel, false) ?? w.matcher.ownIdentity(st);
  if (reason !== null) w.visitor.skipped(skippedOf(rel, st, reason, 'file'));
  else if (st.isFile()) w.visitor.file(rel, target, st);
  else w.visitor.skipped(skippedOf(rel, st, `${specialKind(st)} (behind a symbolic link)`, 'special'));
}

/** Everything after the lstat; returns a promise only when a symlink must be followed. */
function visitStat(
  w: WalkState,
  dir: DirTask,
  rel: string,
  abs: string,
  st: Stats,
  dirReason: string | null,
): Promise<void> | undefined {
  if (dirReason !== null) {
    w.visitor.skipped(skippedOf(rel, st, dirReason, 'directory'));
    return undefined;
  }
  if (st.isFile()) {
    // Another name for one of the daemon's own files is a hard link: only then is the inode asked.
    const reason = w.matcher.check(rel, false) ?? (st.nlink > 1 ? w.matcher.ownIdentity(st) : null);
    if (reason !== null) w.visitor.skipped(skippedOf(rel, st, reason, 'file'));
    else w.visitor.file(rel, abs, st);
    return undefined;
  }
  if (st.isSymbolicLink()) {
    const reason = w.matcher.check(rel, false);
    if (reason !== null) w.visitor.skipped(skippedOf(rel, st, reason, 'symlink'));
    else if (!w.followSymlinks) w.visitor.skipped(skippedOf(rel, st, 'a symbolic link (not followed)', 'symlink'));
    else return followLink(w, rel, abs, dir, st);
    return undefined;
  }
  if (st.isDirectory()) {
    // The entry changed type between readdir and lstat: walk it as the directory it now is.
    if (w.matcher.check(rel, true) === null) w.stack.push({ rel, real: abs, chain: { real: abs, up: dir.chain } });
    return undefined;
  }
  const reason = w.matcher.check(rel, false);
  w.visitor.skipped(skippedOf(rel, st, reason ?? specialKind(st), 'special'));
  return undefined;
}

/** The part before the lstat: directories that are walked need no stat at all. */
function preStat(
  w: WalkState,
  dir: DirTask,
  entry: Dirent,
): { rel: string; abs: string; dirReason: string | null } | undefined {
  const rel = join(dir.rel, entry.name);
  const abs = realJoin(dir.real, entry.name);
  if (!entry.isDirectory()) return { rel, abs, dirReason: null };
  const dirReason = w.matcher.check(rel, true);
  if (dirReason !== null) return { rel, abs, dirReason };
  w.stack.push({ rel, real: abs, chain: { real: abs, up: dir.chain } });
  return undefined;
}

function statFailed(w: WalkState, rel: string, err: unknown): void {
  if (isGone(err) && rel.includes('\uFFFD')) {
    // Node decodes names as UTF-8; a name that is not valid UTF-8 comes back with U+FFFD and
    // cannot be opened by that string. Say so rather than drop it silently.
    w.visitor.skipped({ path: rel, size: 0, mtimeMs: 0, ino: 0, reason: NOT_UTF8_REASON, kind: 'file' });
    return;
  }
  // Vanished between listing and stat: an expected race, the watcher will tell us.
  if (!isGone(err)) w.visitor.error(rel, describeFsError(err));
}

/** Walks `realRoot` (already resolved by resolveRoot), reporting every entry to the visitor. */
export async function walkTree(realRoot: string, options: WalkOptions, visitor: WalkVisitor): Promise<void> {
  const { matcher, followSymlinks, signal } = options;
  const statBatch = options.statBatch ?? 64;
  const mode = options.statMode ?? 'auto';
  // Synchronous stat times, to notice a slow filesystem (shared with the scan's reads).
  const speed = options.speed ?? new FsSpeed();
  let sliceStart = performance.now();
  const w: WalkState = {
    realRoot,
    matcher,
    followSymlinks,
    visitor,
    stack: [],
    ops: mode === 'parallel' ? asyncOps : syncOps,
  };
  const { stack } = w;

  const maybeYield = async (): Promise<void> => {
    if (w.ops !== syncOps) return;
    const t = performance.now();
    if (t - sliceStart < SLICE_MS) return;
    await yieldToLoop();
    signal?.throwIfAborted();
    sliceStart = performance.now();
  };

  const noteStatTime = (ms: number): void => {
    speed.note(ms);
    if (mode === 'auto' && !speed.fast) w.ops = asyncOps;
  };

  const visitEntrySync = (dir: DirTask, entry: Dirent): Promise<void> | undefined => {
    const pre = preStat(w, dir, entry);
    if (pre === undefined) return undefined;
    let st: Stats;
    const t = performance.now();
    try {
      st = lstatSync(pre.abs);
    } catch (err) {
      statFailed(w, pre.rel, err);
      return undefined;
    } finally {
      noteStatTime(performance.now() - t);
    }
    return visitStat(w, dir, pre.rel, pre.abs, st, pre.dirReason);
  };

  const visitEntryAsync = async (dir: DirTask, entry: Dirent): Promise<void> => {
    const pre = preStat(w, dir, entry);
    if (pre === undefined) return;
    let st: Stats;
    try {
      st = await lstat(pre.abs);
    } catch (err) {
      statFailed(w, pre.rel, err);
      return;
    }
    await visitStat(w, dir, pre.rel, pre.abs, st, pre.dirReason);
  };

  const from = options.from ?? '';
  const start = from === '' ? realRoot : realJoin(realRoot, from);
  stack.push({ rel: from, real: start, chain: { real: start, up: null } });
  for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
    signal?.throwIfAborted();
    let entries: Dirent[];
    try {
      entries = await w.ops.readdir(dir.real);
    } catch (err) {
      if (!isGone(err)) visitor.unreadableDir(dir.rel, describeFsError(err));
      continue;
    }
    for (let i = 0; i < entries.length; ) {
      if (w.ops === syncOps) {
        const following = visitEntrySync(dir, entries[i] as Dirent);
        if (following !== undefined) await following;
        i++;
        if (performance.now() - sliceStart >= SLICE_MS) await maybeYield();
      } else {
        const batch = entries.slice(i, i + statBatch);
        await Promise.all(batch.map((e) => visitEntryAsync(dir, e)));
        i += batch.length;
        signal?.throwIfAborted();
      }
    }
    visitor.dirDone?.();
  }
}
