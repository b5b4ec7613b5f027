/**
 * What applying a plan (src/plan/plan.ts) means, once for the watcher path, a reconcile's early
 * batches and its full pass: the index changes written in the order that keeps a crash harmless,
 * the held set written, the files that could not be read failed, and the log lines that say what
 * the plan did (deletes held, skipped, adopted, moved, removed).
 */
import type { Logger } from 'pino';
import type { IndexStore } from '../store/store.js';
import type { RemoteDelete } from '../store/types.js';
import { nextHeld, writeHeld } from '../plan/held-deletes.js';
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

/** The deletion-safety verdict, when the plan held deletes. */
export function logDeletesHeld(logger: Logger, held: Plan['held']): void {
  if (held) logger.warn({ event: 'deletes-held', count: held.count }, held.message);
}

export function logAdoption(logger: Logger, a: Plan['adoptions'][number]): void {
  logger.info(
    { event: 'adopt', path: a.path, fileId: a.file.id, size: a.file.size, via: a.via },
    'adopted remote copy',
  );
}

export interface FailedRead {
  path: string;
  error: string;
}

/**
 * Files the check or the scan could not read: failed in the index (unless `markFailed` is false:
 * a dry run), kept as a last error, and warned of. Looked at again at the next change or pass.
 */
export function recordFailedReads(
  index: IndexStore,
  failures: Iterable<FailedRead>,
  o: {
    logger: Logger;
    recordError(path: string | null, error: string, code: string | null): void;
    markFailed?: boolean;
  },
): void {
  for (const { path, error } of failures) {
    o.logger.warn(
      { event: 'failure', path, err: error },
      'cannot read file; will retry at its next change or reconcile',
    );
    if (o.markFailed !== false) index.markFailed(path, error);
    o.recordError(path, error, null);
  }
}

export interface CommitPlanOptions {
  now: number;
  logger: Logger;
  /** The held set before this plan, and the paths it judged (null: every path, a full pass). */
  held: { before: ReadonlySet<string>; scope: ReadonlySet<string> | null };
}

export interface CommittedPlan extends AppliedPlan {
  /** The held set now in the index. */
  held: ReadonlySet<string>;
}

/**
 * Applies a plan: says what it skips, adopts, moves and removes, writes its index changes
 * (applyPlan) and the held set. The deletes returned run after the uploads.
 */
export function commitPlan(index: IndexStore, plan: Plan, o: CommitPlanOptions): CommittedPlan {
  const { logger } = o;
  for (const s of plan.skip)
    logger.info({ event: 'skip', path: s.obs.path, size: s.obs.size, reason: s.reason }, 'skipped');
  for (const a of plan.adoptions) logAdoption(logger, a);
  const movedTo = new Map(plan.moves.map((m) => [m.from, m.to]));
  for (const r of plan.removals) {
    const to = movedTo.get(r.path);
    if (to !== undefined)
      logger.info({ event: 'moved', path: r.path, to, fileId: r.fileId }, 'local file moved; its old copy goes');
    else if (r.reason === 'removed')
      logger.info({ event: 'removed', path: r.path, fileId: r.fileId }, 'local file removed');
  }
  const applied = applyPlan(index, plan, o.now);
  const held = nextHeld(o.held.before, o.held.scope, plan.heldPaths);
  writeHeld(index, held);
  return { ...applied, held };
}
