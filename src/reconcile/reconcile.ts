/**
 * Reconcile: a full paginated listing of the remote, a fresh scan of the folder and the index,
 * compared by the pure planner (src/sync/plan.ts). This file holds the IO edges of that
 * comparison: reading the listing into the planner's shape, turning a scan into a snapshot, and
 * applying a plan's index changes in the order that keeps a crash harmless.
 */
import type { FilesApi, FileMetadata } from '../api/types.js';
import type { IndexStore } from '../index/store.js';
import type { RemoteDelete } from '../index/types.js';
import type { ScanResult } from '../scan/scanner.js';
import type { LocalSnapshot, Plan, RemoteFile, SkippedFile } from '../sync/plan.js';
import { toRemote } from '../sync/executor.js';

/** Reads every page of the listing (1,000 per page) into a map by id. */
export async function listRemote(client: FilesApi, signal?: AbortSignal): Promise<Map<string, RemoteFile>> {
  const remote = new Map<string, RemoteFile>();
  for await (const f of client.list({ limit: 1000, ...(signal ? { signal } : {}) })) {
    remote.set(f.id, toRemoteFile(f));
  }
  return remote;
}

export function toRemoteFile(f: FileMetadata): RemoteFile {
  const { createdAt, expiresAt } = toRemote(f);
  return { id: f.id, filename: f.filename, size: f.size_bytes, createdAt: createdAt ?? 0, expiresAt };
}

export function snapshotFromScan(scan: ScanResult): LocalSnapshot {
  const files = new Map(scan.files.map((f) => [f.path, f]));
  const skipped = new Map<string, SkippedFile>();
  for (const s of scan.skipped) skipped.set(s.path, { reason: s.reason, size: s.size, mtimeMs: s.mtimeMs, ino: s.ino });
  const unreadable = new Set(scan.errors.map((e) => e.path));
  return { files, skipped, unreadable, unreadableDirs: scan.unreadableDirs, rootMissing: scan.rootMissing };
}

export interface AppliedPlan {
  /** Deletes now queued in the index, to run. */
  deletes: RemoteDelete[];
  /** Paths to upload. */
  uploads: string[];
}

/**
 * Writes a plan's index changes. Each step is its own transaction and is safe to repeat: a crash
 * halfway leaves a state the next plan finishes (an intent is dropped only after its file was
 * adopted or queued for deletion).
 */
export function applyPlan(index: IndexStore, plan: Plan, now: number): AppliedPlan {
  index.observeMany(plan.observe);
  for (const s of plan.skip) index.markSkipped(s.obs, s.reason);

  const deletes = new Map<string, RemoteDelete>();
  const queue = (d: Omit<RemoteDelete, 'queuedAt' | 'attempts' | 'lastError'>): void => {
    index.queueDelete(d);
    deletes.set(d.fileId, { ...d, queuedAt: now, attempts: 0, lastError: null });
  };

  for (const d of plan.deletes) queue(d);
  // Clear vanished copies before adopting, so an adoption for the same path is not undone.
  for (const g of plan.remoteGone) index.clearRemote(g.path, g.expired ? 'expired' : undefined);
  for (const a of plan.adoptions) {
    const superseded = index.adopt(a.path, {
      path: a.path,
      fileId: a.file.id,
      remoteName: a.file.filename,
      size: a.file.size,
      sha256: a.sha256,
      createdAt: a.file.createdAt,
      expiresAt: a.file.expiresAt,
    });
    if (superseded) deletes.set(superseded.fileId, superseded);
  }
  for (const id of plan.intentsDone) index.dropIntent(id);
  for (const id of plan.retire) {
    index.retireDelete(id);
    deletes.delete(id);
  }
  for (const r of plan.removals) {
    if (r.reason === 'skipped') {
      const row = index.get(r.path);
      index.clearRemote(r.path, 'removed');
      if (row && r.fileId) deletes.set(r.fileId, { fileId: r.fileId, remoteName: row.remoteName, path: r.path, reason: 'removed', queuedAt: now, attempts: 0, lastError: null });
      continue;
    }
    const queued = index.removePath(r.path);
    if (queued) deletes.set(queued.fileId, queued);
  }
  return { deletes: [...deletes.values()], uploads: plan.uploads.map((u) => u.path) };
}
