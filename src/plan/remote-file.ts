/**
 * A remote file as the planner sees it, and the parsing of the API's metadata into it. Shared by
 * the executor (one upload's answer) and reconcile (the full listing).
 */
import type { FileMetadata } from '../files-api/wire.js';
import type { ListedFile } from '../store/types.js';

/**
 * What the planner needs of a remote file (a FileMetadata, parsed): the shape the index's listing
 * table stores, defined there because src/store/ must not import the planner.
 */
export type RemoteFile = ListedFile;

/**
 * The full listing as the planner reads it: by id, and once in full. A ReadonlyMap by id is one
 * (the unit tests hand in Maps); a reconcile hands in the index's TEMP table
 * (src/store/listing-table.ts), so that the listing is never held in memory whole.
 */
export interface RemoteListing {
  /** Files listed. */
  readonly size: number;
  has(id: string): boolean;
  get(id: string): RemoteFile | undefined;
  /** Every listed file, in any order (the planner sorts what it keeps). */
  values(): Iterable<RemoteFile>;
}

/** The API's timestamps as ms since epoch (null when absent or unparseable). */
export function toRemote(file: FileMetadata): { createdAt: number | null; expiresAt: number | null } {
  const created = Date.parse(file.created_at);
  const expires = file.expires_at ? Date.parse(file.expires_at) : NaN;
  return { createdAt: Number.isFinite(created) ? created : null, expiresAt: Number.isFinite(expires) ? expires : null };
}

export function toRemoteFile(f: FileMetadata): RemoteFile {
  const { createdAt, expiresAt } = toRemote(f);
  return {
    id: f.id,
    filename: f.filename,
    size: f.size_bytes,
    createdAt: createdAt ?? 0,
    expiresAt,
    mimeType: f.mime_type ?? null,
  };
}
