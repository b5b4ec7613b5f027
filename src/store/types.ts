/**
 * The index: the truth that survives crashes and restarts. src/store/ is the only importer of
 * better-sqlite3. One row per local file keyed by a hash of its relative path; a table of upload
 * intents (recorded before an upload starts); a table of remote deletes (retired only when the
 * API confirms, 404 counting as done).
 */

export type FileState = 'pending' | 'synced' | 'failed' | 'skipped';

export interface FileRow {
  /** sha256 hex of `path` (the primary key). */
  pathKey: string;
  /** Relative to the watched folder, '/'-separated, as read from the filesystem. */
  path: string;
  /** Local observation at the last scan/check. */
  size: number;
  mtimeMs: number;
  ino: number;
  /** sha256 hex of the local content at the last check; null if never read (skipped, failed). */
  sha256: string | null;
  state: FileState;
  /** The remote copy this path currently points to, or null. */
  fileId: string | null;
  remoteName: string | null;
  /** sha256 and size of the content held by `fileId`. */
  remoteSha256: string | null;
  remoteSize: number | null;
  /** ms since epoch the remote copy was created (server clock), null if unknown. */
  remoteCreatedAt: number | null;
  /** ms since epoch when the remote copy expires (GA expiry), or null. */
  remoteExpiresAt: number | null;
  attempts: number;
  lastError: string | null;
  /** Why a skipped file is skipped (too large, ignored type...). */
  skipReason: string | null;
  updatedAt: number;
  /**
   * Local ms since epoch when `sha256` was computed from the content (schema 2; absent or null
   * when unknown). A hash taken within one mtime tick of the file's mtime (50 ms; 2 s where mtimes
   * are whole seconds) is not reused by the next scan: a write in the same tick, right after the
   * read, would otherwise go unnoticed. Observations that carry a hashedAt should be written.
   */
  hashedAt?: number | null;
  /**
   * The inode's change time (ms) when `sha256` was taken (schema 3; absent or null when unknown).
   * `cp -p` or `touch -r` over a file keeps its size, mtime and inode, but never its ctime: a row
   * whose ctime differs from the file's (or is unknown) is hashed again, never reused.
   */
  ctimeMs?: number | null;
  /**
   * The Content-Type the remote copy `fileId` was uploaded with (schema 4; null when unknown: a
   * copy uploaded or adopted before schema 4, or adopted from a listing without its type).
   */
  mimeType?: string | null;
  /** Why the file was not sent as a document (text-like but not UTF-8), or null (schema 4). */
  mimeNote?: string | null;
}

/** Local facts about one file, as the scanner or a single-path check saw them. */
/**
 * Whether the row's remote copy holds exactly `sha256`: then that content needs no upload. The one
 * rule the store (a row becomes synced), the planner and the executor share.
 */
export function remoteHolds(row: Pick<FileRow, 'fileId' | 'remoteSha256'>, sha256: string | null): boolean {
  return row.fileId !== null && sha256 !== null && row.remoteSha256 === sha256;
}

export interface LocalObservation {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
  /** Null when content was not read (too large) or could not be read. */
  sha256: string | null;
  /** Set by the scanner when it read the content for this observation (see FileRow.hashedAt). */
  hashedAt?: number;
  /** The inode's change time at this observation (see FileRow.ctimeMs). */
  ctimeMs?: number;
}

export interface UploadIntent {
  id: number;
  pathKey: string;
  path: string;
  remoteName: string;
  size: number;
  sha256: string;
  /** Local ms since epoch when the upload began. */
  startedAt: number;
}

export type DeleteReason = 'superseded' | 'removed' | 'orphan' | 'expired' | 'unmanaged' | 'changed-during-upload';

export interface RemoteDelete {
  fileId: string;
  remoteName: string | null;
  /** The path it belonged to, for logs. */
  path: string | null;
  reason: DeleteReason;
  queuedAt: number;
  attempts: number;
  lastError: string | null;
}

export interface StateCounts {
  pending: number;
  synced: number;
  failed: number;
  skipped: number;
}

/** What the API told us about a remote copy, as commitUpload and adopt record it. */
export interface RemoteCopy {
  /** The local relative path the copy belongs to. */
  path: string;
  fileId: string;
  remoteName: string;
  size: number;
  sha256: string;
  createdAt: number | null;
  expiresAt: number | null;
  /** The Content-Type it was uploaded with, when known. */
  mimeType?: string | null;
  mimeNote?: string | null;
}

/** What a full scan needs of a row to decide whether to read the file again. */
export type LocalFacts = Pick<FileRow, 'size' | 'mtimeMs' | 'ino' | 'sha256' | 'hashedAt' | 'ctimeMs'>;

/**
 * What a full pass reads of a row: the scan's facts and the planner's fields (src/plan/plan.ts),
 * without the bookkeeping (path key, attempts, errors, times, types). A FileRow is one. Kept as
 * one compact object per row (IndexStore.planRows), a 100,000-row index costs about a third of
 * what its full rows would.
 */
export type PlanRow = Pick<
  FileRow,
  | 'path'
  | 'size'
  | 'mtimeMs'
  | 'ino'
  | 'sha256'
  | 'state'
  | 'fileId'
  | 'remoteName'
  | 'remoteSha256'
  | 'remoteExpiresAt'
  | 'skipReason'
  | 'hashedAt'
  | 'ctimeMs'
>;

/**
 * A remote file as the listing table stores it and the planner reads it (src/plan/remote-file.ts
 * names it RemoteFile): a FileMetadata, parsed.
 */
export interface ListedFile {
  id: string;
  filename: string;
  size: number;
  /** ms since epoch (server clock). */
  createdAt: number;
  /** ms since epoch, or null if it never expires. */
  expiresAt: number | null;
  /** The type it was uploaded with (absent in hand-built plans' inputs). */
  mimeType?: string | null;
}

/** A remote copy to queue for deletion. */
export interface QueueDeleteInput {
  fileId: string;
  remoteName: string | null;
  path: string | null;
  reason: DeleteReason;
}
