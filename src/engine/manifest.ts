/**
 * What programs and agents read of a synced folder, pure: the manifest (every synced path with its
 * id, size, hash, type and block) and the Managed Agents session resources
 * (docs/files-api-facts.md §11, §13). `export` prints them; the daemon keeps the manifest in the
 * state directory (src/daemon/manifest-writer.ts).
 */
import type { FileEntry } from './contract.js';

export const MANIFEST_VERSION = 1;
/** Where a session's file resources are mounted by default (docs/files-api-facts.md §13). */
export const SESSION_UPLOADS_DIR = '/mnt/session/uploads';
/** At most this many file resources per Managed Agents session (docs/files-api-facts.md §11). */
export const MAX_SESSION_RESOURCES = 500;

export interface ManifestEntry {
  path: string;
  fileId: string;
  sizeBytes: number;
  sha256: string | null;
  /** Null for copies uploaded before the type was recorded. */
  mimeType: string | null;
  block: 'document' | 'image' | 'container_upload';
}

export interface Manifest {
  version: number;
  generatedAt: string;
  dir: string;
  files: ManifestEntry[];
}

export interface SessionResource {
  type: 'file';
  file_id: string;
  mount_path: string;
}

/** Only synced files with a copy are in a manifest, by path. */
export function manifestOf(entries: readonly FileEntry[], dir: string, now: number): Manifest {
  const files: ManifestEntry[] = [];
  for (const e of entries) {
    if (e.state !== 'synced' || e.fileId === null || !e.block) continue;
    files.push({
      path: e.path,
      fileId: e.fileId,
      sizeBytes: e.sizeBytes,
      sha256: e.sha256,
      mimeType: e.mimeType ?? null,
      block: e.block,
    });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { version: MANIFEST_VERSION, generatedAt: new Date(now).toISOString(), dir, files };
}

export function sessionResourcesOf(manifest: Manifest): SessionResource[] {
  return manifest.files.map((f) => ({
    type: 'file',
    file_id: f.fileId,
    mount_path: `${SESSION_UPLOADS_DIR}/${f.path}`,
  }));
}

/** `resources` cut into sessions of at most `size` (1..MAX_SESSION_RESOURCES). */
export function splitResources(resources: readonly SessionResource[], size: number): SessionResource[][] {
  const parts: SessionResource[][] = [];
  for (let i = 0; i < resources.length; i += size) parts.push(resources.slice(i, i + size));
  return parts;
}
