/**
 * The per-file step shared by the full scan and the single-path check: given what lstat/stat
 * said about a regular file, either reuse the indexed hash (size, mtime, inode and ctime all
 * match: no read) or hash the content, making sure the stat we record is one the content was read
 * under.
 */
import { lstat, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import type { FileRow, LocalObservation } from '../store/types.js';
import type { HashFunction } from './hash.js';

type FileOutcome =
  | { kind: 'file'; obs: LocalObservation; hashed: boolean; bytesRead: number }
  | { kind: 'missing' }
  | { kind: 'skipped'; reason: string }
  | { kind: 'error'; error: string };

/** Attempts at reading a file that keeps changing under us before we settle for the last one. */
const HASH_ATTEMPTS = 3;

export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[u]}`;
}

export function tooLargeReason(size: number, maxFileBytes: number): string {
  return `too large: ${formatBytes(size)} (${size} bytes) exceeds the limit of ${formatBytes(maxFileBytes)} (${maxFileBytes} bytes)`;
}

export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const message = String(e?.message ?? err);
  return e?.code && !message.startsWith(e.code) ? `${e.code}: ${message}` : message;
}

export function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** What the scanner needs of an index row. */
export type LocalFacts = Pick<FileRow, 'size' | 'mtimeMs' | 'ino' | 'sha256' | 'hashedAt' | 'ctimeMs'>;

/**
 * A hash taken this close to the file's mtime may have raced a write in the same mtime tick, which
 * would leave size, mtime and inode unchanged: such a hash is not reused, the next look reads the
 * file once more (git's "racily clean" entries). The tick is a few ms on Linux (the coarse kernel
 * clock), but whole seconds (FAT: 2 s) where mtimes carry no fraction of a second.
 */
const RACY_MS = 50;
const RACY_COARSE_MS = 2_000;

function racyWindow(mtimeMs: number): number {
  return mtimeMs % 1000 === 0 ? RACY_COARSE_MS : RACY_MS;
}

/**
 * Unchanged since the row was written: the indexed hash still describes the content. ctime is
 * part of it because `cp -p` and `touch -r` restore size and mtime over the same inode, and only
 * ctime (which no user call can set) tells. A row without one (written before schema 3) is hashed
 * once: same content costs a read, not an upload.
 */
export function rowMatches(row: LocalFacts | undefined, st: Stats): row is LocalFacts & { sha256: string } {
  if (row === undefined || row.sha256 === null) return false;
  if (row.size !== st.size || row.mtimeMs !== st.mtimeMs || row.ino !== st.ino) return false;
  if ((row.ctimeMs ?? null) !== st.ctimeMs) return false;
  const hashedAt = row.hashedAt ?? null;
  return hashedAt === null || Math.abs(hashedAt - row.mtimeMs) >= racyWindow(row.mtimeMs);
}

function sameStat(a: Stats, b: Stats): boolean {
  return (
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.ino === b.ino &&
    a.ctimeMs === b.ctimeMs &&
    a.isFile() === b.isFile()
  );
}

interface ObserveFileOptions {
  readonly maxFileBytes: number;
  readonly hash: HashFunction;
  /** Stat through symlinks (the path was a followed link). */
  readonly follow: boolean;
  readonly signal?: AbortSignal;
  /** Wall clock, compared with file mtimes. */
  readonly now: () => number;
}

/**
 * `st` is the stat of `abs` (a regular file) already taken by the caller. The observation carries
 * the stat taken *before* the read that produced its hash: if the file changes after, its mtime
 * moves on and the next look hashes again, instead of trusting a hash of half-written content.
 */
export async function observeFile(
  abs: string,
  rel: string,
  st: Stats,
  row: LocalFacts | undefined,
  options: ObserveFileOptions,
): Promise<FileOutcome> {
  if (st.size > options.maxFileBytes) return { kind: 'skipped', reason: tooLargeReason(st.size, options.maxFileBytes) };
  if (rowMatches(row, st)) {
    return {
      kind: 'file',
      obs: { path: rel, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, ctimeMs: st.ctimeMs, sha256: row.sha256 },
      hashed: false,
      bytesRead: 0,
    };
  }
  let before = st;
  let bytesRead = 0;
  for (let attempt = 1; ; attempt++) {
    let sha256: string;
    let size: number;
    const hashedAt = options.now();
    try {
      ({ sha256, size } = await options.hash(abs, {
        sizeHint: before.size,
        ...(options.signal ? { signal: options.signal } : {}),
      }));
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      if (isGone(err)) return { kind: 'missing' };
      return { kind: 'error', error: describeFsError(err) };
    }
    bytesRead += size;
    let after: Stats;
    try {
      after = options.follow ? await stat(abs) : await lstat(abs);
    } catch (err) {
      if (isGone(err)) return { kind: 'missing' };
      return { kind: 'error', error: describeFsError(err) };
    }
    const obs = {
      path: rel,
      size: before.size,
      mtimeMs: before.mtimeMs,
      ino: before.ino,
      ctimeMs: before.ctimeMs,
      sha256,
      hashedAt,
    };
    if ((sameStat(before, after) && size === before.size) || attempt >= HASH_ATTEMPTS || !after.isFile()) {
      return { kind: 'file', obs, hashed: true, bytesRead };
    }
    if (after.size > options.maxFileBytes)
      return { kind: 'skipped', reason: tooLargeReason(after.size, options.maxFileBytes) };
    before = after;
  }
}

/** The kind of a non-regular, non-directory entry, for skip reasons. */
export function specialKind(st: Stats): string {
  if (st.isFIFO()) return 'a named pipe (fifo)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}
