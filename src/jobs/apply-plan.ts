/**
 * Writes a plan's index changes (src/plan/plan.ts) in the order that keeps a crash harmless. Used
 * by reconcile and by the watcher path alike.
 */
import type { IndexStore } from '../store/store.js';
import type { RemoteDelete } from '../store/types.js';
import type { Plan } from '../plan/plan.js';

/** Points a path's row at the listed copy a plan adopted for it; returns the copy it replaces. */
export function adoptCopy(index: IndexStore, a: Plan['adoptions'][number]): RemoteDelete | null {
  return index.adopt(a.path, {
    path: a.path,
    fileId: a.file.id,
    remoteName: a.file.filename,
    size: a.file.size,
    sha256: a.sha256,
    createdAt: a.file.createdAt,
    expiresAt: a.file.expiresAt,
    mimeType: a.file.mimeType ?? null,
  });
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
    const superseded = adoptCopy(index, a);
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
      if (row && r.fileId)
        deletes.set(r.fileId, {
          fileId: r.fileId,
          remoteName: row.remoteName,
          path: r.path,
          reason: 'removed',
          queuedAt: now,
          attempts: 0,
          lastError: null,
        });
      continue;
    }
    const queued = index.removePath(r.path);
    if (queued) deletes.set(queued.fileId, queued);
  }
  return { deletes: [...deletes.values()], uploads: plan.uploads.map((u) => u.path) };
}
