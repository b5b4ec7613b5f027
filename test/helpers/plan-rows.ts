/**
 * Index rows for the planner's unit tests, built by hand (no database): each test file used to
 * spell out all of FileRow's fields for the same synced row.
 */
import type { FileRow } from '../../src/index/types.js';

/**
 * A synced row: the path's remote copy (`copy`) holds exactly its local content (`sha256`,
 * `size`), no attempt failed. `over` sets any other field (times, inode, state...).
 */
export function syncedRow(path: string, sha256: string, size: number, copy: { fileId: string; remoteName: string }, over: Partial<FileRow> = {}): FileRow {
  return {
    pathKey: path,
    path,
    size,
    mtimeMs: 1,
    ino: 1,
    sha256,
    hashedAt: null,
    state: 'synced',
    fileId: copy.fileId,
    remoteName: copy.remoteName,
    remoteSha256: sha256,
    remoteSize: size,
    remoteCreatedAt: 1,
    remoteExpiresAt: null,
    lastError: null,
    skipReason: null,
    attempts: 0,
    updatedAt: 1,
    ...over,
  };
}
