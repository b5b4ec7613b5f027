/**
 * One daemon per state directory: a lock file created with O_EXCL that names its owner (pid,
 * process start, host). A lock whose owner is dead, or whose pid now belongs to another process
 * (Linux: the process start time differs), is stale and replaced.
 */
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  chmodSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { FilesyncError, LockedError, ErrorCode } from '../errors.js';

export const LOCK_FILE = 'daemon.lock';

/** A lock file younger than this that cannot be parsed is being written by its owner right now. */
const UNREADABLE_GRACE_MS = 5_000;

export interface Lock {
  readonly path: string;
  readonly pid: number;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
}

interface LockInfo {
  pid: number;
  /** ms since epoch when the lock was taken. */
  startedAt: number;
  host: string;
  /** Linux: field 22 of /proc/<pid>/stat, to tell a reused pid from the owner. */
  procStart: string | null;
}

/** The start time of a process as the kernel counts it, or null where /proc does not exist. */
function procStartOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseLock(text: string): LockInfo | null {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (typeof v.pid !== 'number' || !Number.isInteger(v.pid) || v.pid <= 0) return null;
    return {
      pid: v.pid,
      startedAt: typeof v.startedAt === 'number' ? v.startedAt : 0,
      host: typeof v.host === 'string' ? v.host : '',
      procStart: typeof v.procStart === 'string' ? v.procStart : null,
    };
  } catch {
    return null;
  }
}

/** True when the owner named by the lock is certainly gone. */
function isStale(info: LockInfo): boolean {
  // Another host's pid means nothing here: never steal a lock on a shared state directory.
  if (info.host !== '' && info.host !== hostname()) return false;
  if (!isAlive(info.pid)) return true;
  if (info.procStart !== null) {
    const current = procStartOf(info.pid);
    if (current !== null && current !== info.procStart) return true;
  }
  return false;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function lockedError(stateDir: string, path: string, info: LockInfo | null): LockedError {
  if (!info) {
    return new LockedError(`Another claude-filesync is starting on the state directory ${stateDir}.`, {
      hint: `Wait for it, or stop it. If none is running, remove ${path}.`,
    });
  }
  const since = info.startedAt > 0 ? `, since ${new Date(info.startedAt).toISOString()}` : '';
  const where = info.host && info.host !== hostname() ? ` on host ${info.host}` : '';
  return new LockedError(
    `Another claude-filesync (pid ${info.pid}${where}${since}) is running on the state directory ${stateDir}.`,
    {
      hint:
        `Stop it first (kill ${info.pid}, or systemctl --user stop claude-filesync), or use another --state-dir. ` +
        `Commands such as status and reconcile talk to the running daemon instead. ` +
        `If that process is not claude-filesync, remove ${path}.`,
    },
  );
}

/**
 * Takes the state directory's lock or throws LockedError naming the owner. The caller must
 * release it on exit; a crash leaves a stale lock that the next start replaces.
 */
export function acquireLock(stateDir: string, options: { now?: () => number } = {}): Lock {
  const path = join(stateDir, LOCK_FILE);
  const info: LockInfo = {
    pid: process.pid,
    startedAt: (options.now ?? Date.now)(),
    host: hostname(),
    procStart: procStartOf(process.pid),
  };
  const content = `${JSON.stringify(info)}\n`;

  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, content);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      return makeLock(path, content);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const text = readText(path);
    if (text === null) continue; // released meanwhile: try again
    const owner = parseLock(text);
    if (owner === null) {
      const age = Date.now() - safeMtime(path);
      if (age < UNREADABLE_GRACE_MS) throw lockedError(stateDir, path, null);
    } else if (!isStale(owner)) {
      throw lockedError(stateDir, path, owner);
    }
    removeStale(path, text);
  }
  throw lockedError(stateDir, path, parseLock(readText(path) ?? ''));
}

function safeMtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Moves the stale lock aside, then checks that what it moved is the lock it judged stale: if a
 * concurrent starter replaced it in between, its fresh lock is put back. (Two starters racing on a
 * stale lock is the only case this guards; the window left is a few syscalls wide.)
 */
function removeStale(path: string, judged: string): void {
  const aside = `${path}.stale-${process.pid}-${Date.now()}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const moved = readText(aside);
  if (moved !== judged) {
    try {
      linkSync(aside, path);
    } catch {
      // Someone holds the lock again: the loop in acquireLock will find it.
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // best effort
  }
}

function makeLock(path: string, content: string): Lock {
  let released = false;
  return {
    path,
    pid: process.pid,
    release(): void {
      if (released) return;
      released = true;
      // Only remove the file if it is still ours: never delete a successor's lock.
      if (readText(path) === content) {
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      }
    },
  };
}

/**
 * Creates the state directory with mode 0700 if needed, and refuses one that group or others
 * can write (anyone who can write it can replace the index or the control socket).
 */
export function ensureStateDir(dir: string): void {
  let created: string | undefined;
  try {
    created = mkdirSync(dir, { recursive: true, mode: 0o700 });
    // mkdir's mode is filtered by the umask; the directory we create is set exactly.
    if (created !== undefined) chmodSync(dir, 0o700);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // EEXIST: the path is a file; ENOTDIR: one of its parents is. Neither is fixed by a restart.
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new FilesyncError(
        ErrorCode.StateDir,
        `The state directory ${dir} is not a directory (${code === 'EEXIST' ? 'a file is in its place' : 'a parent of it is a file'}).`,
        {
          hint: 'Move that file away, or choose another state directory with --state-dir.',
          cause: err,
        },
      );
    }
    throw new FilesyncError(ErrorCode.StateDir, `Cannot create the state directory ${dir}: ${(err as Error).message}`, {
      hint: 'Choose a state directory you can write with --state-dir, or fix the permissions of its parent.',
      cause: err,
    });
  }
  const st = statSync(dir);
  if (!st.isDirectory()) {
    throw new FilesyncError(ErrorCode.StateDir, `The state directory ${dir} is not a directory.`, {
      hint: 'Point --state-dir at a directory.',
    });
  }
  if ((st.mode & 0o022) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(3, '0');
    throw new FilesyncError(ErrorCode.StateDir, `The state directory ${dir} can be written by others (mode ${mode}).`, {
      hint: `Run: chmod 700 '${dir}' (it holds the index and the control socket; only you should be able to write it).`,
    });
  }
}
