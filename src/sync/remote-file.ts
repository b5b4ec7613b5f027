/**
 * A remote file as the planner sees it, and the parsing of the API's metadata into it. Shared by
 * the executor (one upload's answer) and reconcile (the full listing).
 */
import type { FileMetadata } from '../api/types.js';

/** What the planner needs of a remote file (a FileMetadata, parsed). */
export interface RemoteFile {
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

/** The API's timestamps as ms since epoch (null when absent or unparseable). */
export function toRemote(file: FileMetadata): { createdAt: number | null; expiresAt: number | null } {
  const created = Date.parse(file.created_at);
  const expires = file.expires_at ? Date.parse(file.expires_at) : NaN;
  return { createdAt: Number.isFinite(created) ? created : null, expiresAt: Number.isFinite(expires) ? expires : null };
}

export function toRemoteFile(f: FileMetadata): RemoteFile {
  const { createdAt, expiresAt } = toRemote(f);
  return { id: f.id, filename: f.filename, size: f.size_bytes, createdAt: createdAt ?? 0, expiresAt, mimeType: f.mime_type ?? null };
}
