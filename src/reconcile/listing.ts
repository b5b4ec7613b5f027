/**
 * Reconcile: a full paginated listing of the remote, a fresh scan of the folder and the index,
 * compared by the pure planner (src/sync/plan.ts). This file holds the IO edges of that
 * comparison: reading the listing into the planner's shape and turning a scan into a snapshot.
 */
import type { FilesApi } from '../api/types.js';
import type { ScanResult } from '../scan/scanner.js';
import type { LocalSnapshot, SkippedFile } from '../sync/plan.js';
import { toRemoteFile, type RemoteFile } from '../sync/remote-file.js';

/** Reads every page of the listing (1,000 per page) into a map by id. `onListed`: the files read so far. */
export async function listRemote(client: FilesApi, signal?: AbortSignal, onListed?: (files: number) => void): Promise<Map<string, RemoteFile>> {
  const remote = new Map<string, RemoteFile>();
  for await (const f of client.list({ limit: 1000, ...(signal ? { signal } : {}) })) {
    remote.set(f.id, toRemoteFile(f));
    onListed?.(remote.size);
  }
  return remote;
}

export function snapshotFromScan(scan: ScanResult): LocalSnapshot {
  const files = new Map(scan.files.map((f) => [f.path, f]));
  const skipped = new Map<string, SkippedFile>();
  for (const s of scan.skipped) skipped.set(s.path, { reason: s.reason, size: s.size, mtimeMs: s.mtimeMs, ino: s.ino });
  const unreadable = new Set(scan.errors.map((e) => e.path));
  return { files, skipped, unreadable, unreadableDirs: scan.unreadableDirs, rootMissing: scan.rootMissing };
}
