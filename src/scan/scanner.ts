/**
 * The full scan: walks the folder and compares each regular file with its index row. A file whose
 * size, mtime and inode match its row is not read; the others are hashed by a bounded pool while
 * the walk goes on. The result is the local truth the planner compares with the index.
 */
import type { Stats } from 'node:fs';
import type { LocalObservation } from '../store/types.js';
import { FsSpeed } from './fs-speed.js';
import { hashFile, hashFileWith, type HashFunction } from './hash.js';
import type { IgnoreMatcher } from './ignore.js';
import { describeFsError, observeFile, rowMatches, tooLargeReason, type LocalFacts } from './observe-file.js';
import { TaskPool } from './task-pool.js';
import { resolveRoot, walkTree, type SkippedEntry } from './walk.js';

interface ScanStats {
  /** Regular files found (synced or skipped for size), plus other non-directory entries. */
  filesSeen: number;
  /** Files whose content was read. */
  hashed: number;
  bytesRead: number;
  /** Files whose indexed hash was reused without reading. */
  unchanged: number;
}

export interface ScanOptions {
  readonly matcher: IgnoreMatcher;
  readonly followSymlinks: boolean;
  /** Larger files are skipped without being read. */
  readonly maxFileBytes: number;
  /**
   * The index row of a relative path, if any. Only size, mtimeMs, ino and sha256 are read, so a
   * full row works, and so does IndexStore.localLookup() (much cheaper for a full scan).
   */
  readonly lookup: (path: string) => LocalFacts | undefined;
  /**
   * Read every file, even one whose row matches its stat (`sync --rehash`, `reconcile --rehash`):
   * for a filesystem whose ctime cannot be trusted. @default false
   */
  readonly rehash?: boolean;
  /** Files hashed at once. @default 4 */
  readonly hashConcurrency?: number;
  /**
   * Keep an unchanged file (its row matches its stat) as the row itself, in `unchanged`, instead
   * of a new observation in `files`: the observation would repeat the row's facts, and a full
   * pass over 100,000 unchanged files held 100,000 of them (about 20 MB) beside the rows.
   * @default false
   */
  readonly unchangedAsRows?: boolean;
  /** Called as the scan advances (after each directory and each hashed file). */
  onProgress?(stats: Readonly<ScanStats>): void;
  /**
   * Called with each syncable file as soon as its observation is final (its hash reused or read),
   * in walk order, before the scan ends: lets reconcile plan and upload while the walk goes on.
   * The file is also in the result's `files`.
   */
  onFile?(obs: LocalObservation): void;
  readonly signal?: AbortSignal;
  /** Wall clock for FileRow.hashedAt (compared with file mtimes, so not a fake clock). @default Date.now */
  readonly now?: () => number;
  /** For tests: replaces the content hash (count reads, simulate unreadable files). @default hashFile */
  readonly hash?: HashFunction;
  /** How entries are stat'ed; see walk.ts. @default 'auto' */
  readonly statMode?: 'auto' | 'sync' | 'parallel';
}

interface ScanError {
  path: string;
  error: string;
}

export interface ScanResult {
  /**
   * Every syncable regular file, sorted by path; with `unchangedAsRows`, only those not in
   * `unchanged`.
   */
  files: LocalObservation[];
  /**
   * With `unchangedAsRows`: the files whose stat matched their row, by path, each with the row
   * the lookup gave (its size, mtime, inode, ctime and hash are the file's). Empty otherwise.
   */
  unchanged: Map<string, LocalFacts & { sha256: string }>;
  /** Ignored entries, symlinks not followed, fifos/sockets/devices, files over the size limit. */
  skipped: SkippedEntry[];
  /** Files that could not be read or stat'ed. */
  errors: ScanError[];
  /** Directories that could not be listed ('' is the root): nothing under them may be deleted. */
  unreadableDirs: string[];
  /** Why each of unreadableDirs could not be listed. */
  dirErrors: ScanError[];
  /** The root does not exist or is not a directory: nothing at all may be deleted. */
  rootMissing: boolean;
  stats: ScanStats;
}

export type { SkippedEntry } from './walk.js';
export type { LocalFacts } from './observe-file.js';

const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

export async function scanTree(root: string, options: ScanOptions): Promise<ScanResult> {
  const stats: ScanStats = { filesSeen: 0, hashed: 0, bytesRead: 0, unchanged: 0 };
  const result = emptyResult(stats);

  let realRoot: string | null;
  try {
    realRoot = await resolveRoot(root);
  } catch (err) {
    // The root exists but cannot be resolved (EACCES on a parent...): unreadable, not missing.
    result.unreadableDirs.push('');
    result.dirErrors.push({ path: '', error: describeFsError(err) });
    return result;
  }
  if (realRoot === null) {
    result.rootMissing = true;
    return result;
  }
  const { maxFileBytes, lookup, signal } = options;
  // The walk judges the filesystem's speed; small files are hashed synchronously while it is fast.
  const speed = new FsSpeed();
  const hash = options.hash ?? (options.statMode === 'parallel' ? hashFile : hashFileWith(speed));
  const progress = (): void => options.onProgress?.({ ...stats });
  const hashPool = new TaskPool(options.hashConcurrency ?? 4);

  const hashOne = async (rel: string, abs: string, st: Stats, row: LocalFacts | undefined): Promise<void> => {
    const out = await observeFile(abs, rel, st, row, {
      maxFileBytes,
      hash,
      follow: options.followSymlinks,
      now: options.now ?? Date.now,
      ...(signal ? { signal } : {}),
    });
    recordObservation(result, out, rel, st, options.onFile);
    progress();
  };

  const walking = walkTree(
    realRoot,
    {
      matcher: options.matcher,
      followSymlinks: options.followSymlinks,
      ...(signal ? { signal } : {}),
      ...(options.statMode ? { statMode: options.statMode } : {}),
      speed,
    },
    {
      file(rel, abs, st) {
        stats.filesSeen++;
        if (st.size > maxFileBytes) {
          result.skipped.push({
            path: rel,
            size: st.size,
            mtimeMs: st.mtimeMs,
            ino: st.ino,
            reason: tooLargeReason(st.size, maxFileBytes),
            kind: 'file',
          });
          return;
        }
        const row = options.rehash ? undefined : lookup(rel);
        if (rowMatches(row, st)) {
          stats.unchanged++;
          if (options.unchangedAsRows) {
            // Keyed by the row's own path string when it has one: one string per file, not two.
            // Not handed to onFile: an unchanged file is the full plan's, which reads it as its row.
            const rowPath = (row as { path?: unknown }).path;
            result.unchanged.set(rowPath === rel ? (rowPath as string) : rel, row);
            return;
          }
          const obs = {
            path: rel,
            size: st.size,
            mtimeMs: st.mtimeMs,
            ino: st.ino,
            ctimeMs: st.ctimeMs,
            sha256: row.sha256,
          };
          result.files.push(obs);
          options.onFile?.(obs);
          return;
        }
        hashPool.add(() => hashOne(rel, abs, st, row));
      },
      skipped(entry) {
        if (entry.kind !== 'directory') stats.filesSeen++;
        result.skipped.push(entry);
      },
      unreadableDir(rel, error) {
        result.unreadableDirs.push(rel);
        result.dirErrors.push({ path: rel, error });
      },
      error(rel, error) {
        result.errors.push({ path: rel, error });
      },
      dirDone: progress,
    },
  );
  // Both pools must settle before returning, even if one fails: no stray reads after the scan.
  const [walked, hashed] = await Promise.allSettled([
    walking,
    walking.then(
      () => hashPool.onIdle(),
      () => hashPool.onIdle(),
    ),
  ]);
  if (walked.status === 'rejected') throw walked.reason;
  if (hashed.status === 'rejected') throw hashed.reason;

  result.files.sort(byPath);
  result.skipped.sort(byPath);
  result.errors.sort(byPath);
  result.unreadableDirs.sort();
  result.dirErrors.sort(byPath);
  return result;
}

function emptyResult(stats: ScanStats): ScanResult {
  return {
    files: [],
    unchanged: new Map(),
    skipped: [],
    errors: [],
    unreadableDirs: [],
    dirErrors: [],
    rootMissing: false,
    stats,
  };
}

/** Records what observing one file found (a scanTree hash job's end). */
function recordObservation(
  result: ScanResult,
  out: Awaited<ReturnType<typeof observeFile>>,
  rel: string,
  st: Stats,
  onFile: ScanOptions['onFile'],
): void {
  const { stats } = result;
  switch (out.kind) {
    case 'file':
      result.files.push(out.obs);
      onFile?.(out.obs);
      stats.hashed++;
      stats.bytesRead += out.bytesRead;
      break;
    case 'skipped':
      result.skipped.push({
        path: rel,
        size: st.size,
        mtimeMs: st.mtimeMs,
        ino: st.ino,
        reason: out.reason,
        kind: 'file',
      });
      break;
    case 'error':
      result.errors.push({ path: rel, error: out.error });
      break;
    case 'missing':
      break;
  }
}
