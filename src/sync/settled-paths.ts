/**
 * The watcher path: settled paths are checked one by one and planned by the shared planner
 * (src/sync/plan.ts) scoped to those paths, without a listing. Paths present are planned at once;
 * paths gone are gathered for a moment and planned together after the uploads of their batches
 * (a rename never leaves a moment where neither name exists remotely), so deletion safety sees
 * the whole of an `rm -rf` or an unmount. The engine pushes the jobs and keeps the live state.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { IndexStore } from '../index/store.js';
import type { RemoteDelete } from '../index/types.js';
import { checkPath, type CheckPathOptions } from '../scan/check-path.js';
import type { IgnoreMatcher } from '../scan/ignore.js';
import { applyPlan } from './apply-plan.js';
import { batchSnapshot, type CheckedPath } from './batch.js';
import { EXPIRY_MARGIN_MS, INTENT_SKEW_MS, planSync } from './plan.js';
import { knownRoot, observeRoot } from './root-identity.js';
import type { StatusReport } from './types.js';

/**
 * Watcher removals are counted against the deletion-safety share over this window: long enough
 * to see an unmount or an `rm -rf` whose events arrive in several settled batches, short enough
 * that deleting files one by one is never mistaken for a mass vanish.
 */
export const REMOVAL_WINDOW_MS = 5_000;
/** Removals are gathered this long before they are planned (and deleted) together. */
export const REMOVAL_GATHER_MS = 1_000;

export interface SettledPathsDeps {
  config: Config;
  index: IndexStore;
  logger: Logger;
  matcher: IgnoreMatcher;
  now: () => number;
  pushUpload(path: string): Promise<unknown>;
  pushDelete(d: RemoteDelete): Promise<unknown>;
  recordError(path: string | null, error: string, code: string | null): void;
  onHeld(held: NonNullable<StatusReport['heldDeletes']>): void;
  /** Runs `run` after `delayMs`; a later call with the same key replaces the earlier one. */
  later(key: string, delayMs: number, run: () => void): void;
  /** Counts `work` as busy (onIdle waits for it) and logs its failure. */
  track(work: Promise<void>, failure: string): void;
  /** Settled paths found by walking a new directory go back through the engine. */
  settle(paths: string[]): void;
}

export class SettledPaths {
  readonly #d: SettledPathsDeps;
  /** When watcher removals were deleted lately (the planner's removal window). */
  #recentRemovals: number[] = [];
  #pendingRemovals = new Set<string>();
  #pendingRemovalUploads: Promise<unknown>[] = [];
  #removalChain: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(deps: SettledPathsDeps) {
    this.#d = deps;
  }

  close(): void {
    this.#closed = true;
  }

  /** `rehash`: paths to read even if their stat is as indexed (a change event, a changed upload). */
  async handle(paths: string[], rehash: ReadonlySet<string> = new Set()): Promise<void> {
    const present: CheckedPath[] = [];
    const gone: string[] = [];
    for (const rel of paths) {
      // With the row, a file whose size, mtime, inode and ctime are unchanged is not read again.
      const row = this.#d.index.get(rel);
      const result = await checkPath(this.#d.config.dir, rel, { ...this.#checkOptions(), rehash: rehash.has(rel) }, row);
      if (result.kind !== 'missing') present.push({ path: rel, result });
      else if (row) gone.push(rel);
    }
    const uploads = present.length > 0 ? await this.#planBatch(present) : [];
    if (gone.length === 0) return;
    for (const p of gone) this.#pendingRemovals.add(p);
    this.#pendingRemovalUploads.push(...uploads);
    this.#d.later('removals', REMOVAL_GATHER_MS, () => this.#flushRemovals());
  }

  /** A new directory, once settled: every file in it is checked (cheap when already seen). */
  async walkNewDir(relDir: string): Promise<void> {
    const files: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      const entries = await readdir(path.join(this.#d.config.dir, ...rel.split('/')), { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const child = `${rel}/${e.name}`;
        if (this.#d.matcher.check(child, e.isDirectory()) !== null) continue;
        if (e.isDirectory()) await walk(child);
        else if (e.isFile() && this.#d.index.get(child)?.state !== 'synced') files.push(child);
      }
    };
    await walk(relDir);
    if (files.length > 0) this.#d.settle(files);
  }

  #flushRemovals(): void {
    const paths = [...this.#pendingRemovals];
    const uploads = this.#pendingRemovalUploads;
    this.#pendingRemovals = new Set();
    this.#pendingRemovalUploads = [];
    if (paths.length === 0 || this.#closed) return;
    // One gathered batch at a time: each sees the removals of the one before in its window.
    const run = this.#removalChain.then(async () => {
      await Promise.allSettled(uploads);
      // Looked at again: a file that came back meanwhile is planned as present, not removed.
      const checked: CheckedPath[] = [];
      for (const rel of paths) checked.push({ path: rel, result: await checkPath(this.#d.config.dir, rel, this.#checkOptions()) });
      await this.#planBatch(checked);
    });
    this.#removalChain = run.catch(() => undefined);
    this.#d.track(run, 'handling removals failed; the next reconcile repairs it');
  }

  /** Plans checked paths with the shared planner (no listing), applies the plan, pushes its jobs. */
  async #planBatch(checked: CheckedPath[]): Promise<Promise<unknown>[]> {
    const { index, logger, config } = this.#d;
    const scope = new Set(checked.map((c) => c.path));
    const rows = [...scope].flatMap((p) => index.get(p) ?? []);
    const seen = await observeRoot(config.dir);
    const now = this.#d.now();
    const plan = planSync({
      rows,
      intents: [],
      pendingDeletes: [],
      local: batchSnapshot(checked),
      remote: null,
      now,
      options: { ...config.sync, adopt: false, deleteUnmanaged: false, allowMassDelete: false, intentSkewMs: INTENT_SKEW_MS, expiryMarginMs: EXPIRY_MARGIN_MS },
      scope: { paths: scope, managed: index.countByState().synced, recentRemovals: this.#recentRemovals, windowMs: REMOVAL_WINDOW_MS },
      root: { seen, known: knownRoot((k) => index.getMeta(k)) },
    });
    this.#recentRemovals = plan.recentRemovals;
    if (plan.held) {
      this.#d.onHeld(plan.held);
      logger.warn({ event: 'deletes-held', count: plan.held.count }, plan.held.message);
    }
    for (const { path: rel, result } of checked) {
      if (result.kind !== 'error') continue;
      index.markFailed(rel, result.error);
      this.#d.recordError(rel, result.error, null);
      logger.warn({ event: 'failure', path: rel, err: result.error }, 'cannot read file; will retry at its next change or reconcile');
    }
    for (const s of plan.skip) logger.info({ event: 'skip', path: s.obs.path, size: s.obs.size, reason: s.reason }, 'skipped');
    for (const r of plan.removals) if (r.reason === 'removed') logger.info({ event: 'removed', path: r.path, fileId: r.fileId }, 'local file removed');
    const applied = applyPlan(index, plan, now);
    const uploads = applied.uploads.map((p) => this.#d.pushUpload(p));
    if (applied.deletes.length > 0) {
      // Uploads first, deletes after, as in reconcile.
      await Promise.allSettled(uploads);
      for (const d of applied.deletes) void this.#d.pushDelete(d);
    }
    return uploads;
  }

  #checkOptions(): CheckPathOptions {
    return { matcher: this.#d.matcher, followSymlinks: this.#d.config.watch.followSymlinks, maxFileBytes: this.#d.config.sync.maxFileBytes };
  }
}
