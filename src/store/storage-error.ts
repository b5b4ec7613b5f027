/**
 * What went wrong with the index, named by cause: the storage under it (full, read-only, not
 * writable by this user, failing) or its own pages (corrupt). Each cause has its own code and a
 * hint that fits it: moving the index away helps a corrupt one, never a full disk.
 */
import { accessSync, constants as fsConstants } from 'node:fs';
import { dirname } from 'node:path';
import { IndexError, ErrorCode } from '../errors.js';

/** What to do about an index that is not usable as it is: move it away and adopt the remote. */
export function adoptHint(file: string): string {
  if (file === ':memory:') return 'This is an in-memory index; open a new one.';
  return (
    `Move ${file} away (for example: mv '${file}' '${file}.bad'), then run ` +
    '`claude-filesync reconcile --adopt` to rebuild the index from the remote listing without uploading again.'
  );
}

/**
 * A disk that is full, read-only or failing is not a corrupt index: say what it is and what to do
 * (moving the index away and adopting would not help). A page found corrupt while writing is named
 * as such. Decided from sqlite's and the OS's error codes, never the message. Null when `err` is
 * something else (a constraint, a bug): the caller rethrows it as it is.
 */
export function storageError(file: string, err: unknown): IndexError | null {
  const code = String((err as { code?: unknown })?.code ?? '');
  const message = (err as Error)?.message ?? String(err);
  const dir = dirname(file);
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') {
    return new IndexError(
      ErrorCode.IndexDiskFull,
      `The disk holding the state directory ${dir} is full; the index ${file} cannot be written.`,
      {
        hint: 'Free some space there (nothing was uploaded without being recorded first), or choose another --state-dir; then start again.',
        cause: err,
      },
    );
  }
  // sqlite says only "unable to open database file" when it cannot create its journal: ask the
  // directory why.
  let dirProblem: string | undefined;
  if (code === 'SQLITE_CANTOPEN') {
    try {
      accessSync(dir, fsConstants.W_OK);
    } catch (e) {
      dirProblem = (e as NodeJS.ErrnoException).code;
    }
  }
  if (code.startsWith('SQLITE_READONLY') || code === 'EROFS' || dirProblem === 'EROFS') {
    return new IndexError(
      ErrorCode.IndexReadOnly,
      `The state directory ${dir} is read-only; the index ${file} cannot be written.`,
      {
        hint: 'Remount it read-write, or choose a writable --state-dir.',
        cause: err,
      },
    );
  }
  if (dirProblem === 'EACCES' || dirProblem === 'EPERM') {
    return new IndexError(
      ErrorCode.IndexNoAccess,
      `The state directory ${dir} cannot be written by this user; the index ${file} cannot be opened.`,
      {
        hint: `Give this user write access to ${dir} (it should be yours, mode 700), or choose another --state-dir.`,
        cause: err,
      },
    );
  }
  if (code.startsWith('SQLITE_IOERR') || code === 'EIO') {
    return new IndexError(
      ErrorCode.IndexIo,
      `The disk holding the index ${file} failed to read or write (${message}).`,
      {
        hint: 'Check the disk (dmesg, SMART), or choose another --state-dir.',
        cause: err,
      },
    );
  }
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new IndexError(ErrorCode.IndexCorrupt, `The index ${file} is corrupt (${message}).`, {
      hint: adoptHint(file),
      cause: err,
    });
  }
  return null;
}
