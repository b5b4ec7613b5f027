/**
 * The planner's inputs for its unit tests, built by hand (no database): each test file used to
 * spell out all of FileRow's fields for the same synced row, and all of PlanOptions.
 */
import type { FileRow } from '../../src/store/types.js';
import type { PlanOptions } from '../../src/plan/plan.js';

/** Options with every safety on (no adoption, no unmanaged or mass deletes); `over` sets the rest. */
export function planOptions(over: Partial<PlanOptions> = {}): PlanOptions {
  return {
    adopt: false,
    deleteUnmanaged: false,
    allowMassDelete: false,
    maxDeletePercent: 50,
    maxDeleteFloor: 10,
    intentSkewMs: 60_000,
    expiryMarginMs: 0,
    ...over,
  };
}

/**
 * A synced row: the path's remote copy (`copy`) holds exactly its local content (`sha256`,
 * `size`), no attempt failed. `over` sets any other field (times, inode, state...).
 */
export function syncedRow(
  path: string,
  sha256: string,
  size: number,
  copy: { fileId: string; remoteName: string },
  over: Partial<FileRow> = {},
): FileRow {
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
