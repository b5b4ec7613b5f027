/**
 * What a file row becomes after each event: a scan observed the file, it was skipped, an attempt
 * failed, an uploaded or adopted copy was attached, the remote copy vanished. Pure: no database,
 * the clock comes in as `now`. A transition that changes nothing returns the row it was given
 * (the same object), so the store writes nothing for an unchanged rescan.
 */
import { createHash } from 'node:crypto';
import { remoteHolds, type FileRow, type FileState, type LocalObservation, type RemoteCopy } from './types.js';

/** The local facts a transition needs when no scan read the content. */
interface LocalStat {
  size: number;
  mtimeMs: number;
  ino: number;
}

/** The primary key of a path: sha256 hex of its relative, '/'-separated form. */
export function pathKeyOf(path: string): string {
  return createHash('sha256').update(path, 'utf8').digest('hex');
}

/** A row for a path the index did not know, with no remote copy. */
export function newRow(path: string, local: LocalStat, sha256: string | null, state: FileState, now: number): FileRow {
  return {
    pathKey: pathKeyOf(path),
    path,
    size: local.size,
    mtimeMs: local.mtimeMs,
    ino: local.ino,
    sha256,
    state,
    fileId: null,
    remoteName: null,
    remoteSha256: null,
    remoteSize: null,
    remoteCreatedAt: null,
    remoteExpiresAt: null,
    attempts: 0,
    lastError: null,
    skipReason: null,
    updatedAt: now,
    hashedAt: null,
    ctimeMs: null,
  };
}

/** Whether writing `b` over `a` would change anything a caller can see (updatedAt aside). */
function sameRow(a: FileRow, b: FileRow): boolean {
  return (
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.ino === b.ino &&
    a.sha256 === b.sha256 &&
    (a.hashedAt ?? null) === (b.hashedAt ?? null) &&
    (a.ctimeMs ?? null) === (b.ctimeMs ?? null) &&
    a.state === b.state &&
    a.skipReason === b.skipReason &&
    a.attempts === b.attempts &&
    a.lastError === b.lastError
  );
}

/**
 * The scanner saw the file. Remote fields are kept; the row is 'synced' when its remote copy holds
 * exactly this content, otherwise 'pending'. Attempts and the last error are reset only when the
 * content changed (or the row became synced).
 */
export function observedRow(row: FileRow | undefined, obs: LocalObservation, now: number): FileRow {
  if (!row)
    return {
      ...newRow(obs.path, obs, obs.sha256, 'pending', now),
      hashedAt: obs.hashedAt ?? null,
      ctimeMs: obs.ctimeMs ?? null,
    };
  const synced = remoteHolds(row, obs.sha256);
  const reset = synced || obs.sha256 !== row.sha256;
  const next: FileRow = {
    ...row,
    path: obs.path,
    size: obs.size,
    mtimeMs: obs.mtimeMs,
    ino: obs.ino,
    sha256: obs.sha256,
    hashedAt: obs.hashedAt ?? (obs.sha256 === row.sha256 ? (row.hashedAt ?? null) : null),
    ctimeMs: obs.ctimeMs ?? null,
    state: synced ? 'synced' : 'pending',
    skipReason: null,
    attempts: reset ? 0 : row.attempts,
    lastError: reset ? null : row.lastError,
  };
  return sameRow(row, next) ? row : { ...next, updatedAt: now };
}

/**
 * The path is skipped for `reason` (too large, ignored, not a regular file). Remote fields are
 * kept: a file that grew past the limit keeps its old remote copy until the planner decides.
 */
export function skippedRow(
  row: FileRow | undefined,
  obs: LocalStat & { path: string },
  reason: string,
  now: number,
): FileRow {
  const base = row ?? newRow(obs.path, obs, null, 'skipped', now);
  const next: FileRow = {
    ...base,
    path: obs.path,
    size: obs.size,
    mtimeMs: obs.mtimeMs,
    ino: obs.ino,
    sha256: null,
    hashedAt: null,
    ctimeMs: null,
    state: 'skipped',
    skipReason: reason,
    attempts: 0,
    lastError: null,
  };
  return row && sameRow(row, next) ? row : { ...next, updatedAt: now };
}

/** An attempt failed: one more attempt counted, the error kept; `obs` refreshes the local facts. */
export function failedRow(
  row: FileRow | undefined,
  path: string,
  error: string,
  obs: LocalStat | undefined,
  now: number,
): FileRow {
  const base = row ?? newRow(path, obs ?? { size: 0, mtimeMs: 0, ino: 0 }, null, 'failed', now);
  return {
    ...base,
    ...(obs ? { size: obs.size, mtimeMs: obs.mtimeMs, ino: obs.ino } : {}),
    state: 'failed',
    attempts: base.attempts + 1,
    lastError: error,
    updatedAt: now,
  };
}

/**
 * The row points at `remote` from now on: 'synced' when the local content is what the copy holds,
 * else 'pending' (a skipped row stays skipped). The copy it pointed at before, if another, is the
 * caller's to queue for deletion.
 */
export function attachedRow(row: FileRow, remote: RemoteCopy, now: number): FileRow {
  const state: FileState =
    row.state === 'skipped' ? 'skipped' : row.sha256 !== null && row.sha256 === remote.sha256 ? 'synced' : 'pending';
  return {
    ...row,
    state,
    fileId: remote.fileId,
    remoteName: remote.remoteName,
    remoteSha256: remote.sha256,
    remoteSize: remote.size,
    remoteCreatedAt: remote.createdAt,
    remoteExpiresAt: remote.expiresAt,
    mimeType: remote.mimeType ?? null,
    mimeNote: remote.mimeNote ?? null,
    attempts: state === 'synced' ? 0 : row.attempts,
    lastError: state === 'synced' ? null : row.lastError,
    updatedAt: now,
  };
}

/** The remote copy vanished or expired: forgotten, the row 'pending' again (a skipped row stays skipped). */
export function clearedRow(row: FileRow, now: number): FileRow {
  return {
    ...row,
    state: row.state === 'skipped' ? 'skipped' : 'pending',
    fileId: null,
    remoteName: null,
    remoteSha256: null,
    remoteSize: null,
    remoteCreatedAt: null,
    remoteExpiresAt: null,
    mimeType: null,
    mimeNote: null,
    updatedAt: now,
  };
}
