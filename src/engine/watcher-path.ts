/**
 * The watcher path: settled paths are checked one by one and planned by the shared planner
 * (src/plan/plan.ts) scoped to those paths, without a listing. Paths present are planned at once;
 * paths gone are gathered for a moment and planned together after the uploads of their batches
 * (a rename never leaves a moment where neither name exists remotely), so deletion safety sees
 * the whole of an `rm -rf` or an unmount. The engine pushes the jobs and keeps the live state.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { IndexStore } from '../store/store.js';
import type { RemoteDelete } from '../store/types.js';
import { checkPath, type CheckPathOptions, type CheckPathResult } from '../scan/check-path.js';
import { checkListable, resolveRoot, walkTree } from '../scan/walk.js';
import type { IgnoreMatcher } from '../scan/ignore.js';
import { commitPlan, logDeletesHeld, recordFailedReads } from '../jobs/apply-plan.js';
import { batchSnapshot, type CheckedPath } from '../plan/checked-snapshot.js';
import { readHeld } from '../plan/held-deletes.js';
import type { MoveTarget } from '../plan/moves.js';
import { INTENT_CLOCK_SKEW_MS } from '../files-api/limits.js';
import { EXPIRY_MARGIN_MS, planSync } from '../plan/plan.js';
import { knownRoot } from '../plan/root-identity.js';
import { observeRoot } from '../scan/observe-root.js';
import type { StatusReport } from './contract.js';
import type { UnreadableDir } from '../plan/unreadable-dirs.js';
import type { FailureCode } from '../errors.js';

/**
 * Watcher removals are counted against the deletion-safety share over this window: long enough
 * to see an unmount or an `rm -rf` whose events arrive in several settled batches, short enough
 * that deleting files one by one is never mistaken for a mass vanish.
 */
export const REMOVAL_WINDOW_MS = 5_000;
/** Removals are gathered this long before they are planned (and deleted) together. */
export const REMOVAL_GATHER_MS = 1_000;
/**
 * Gathered removals wait past REMOVAL_GATHER_MS while other changes are still settling (at most
 * REMOVAL_WINDOW_MS in all): a renamed folder's new files arrive after its old ones are gone,
 * and they must be seen to tell a move from a loss.
 */
export const REMOVAL_QUIET_POLL_MS = 250;

export interface WatcherPathDeps {
  config: Config;
  index: IndexStore;
  logger: Logger;
  matcher: IgnoreMatcher;
  now: () => number;
  pushUpload(path: string): Promise<unknown>;
  pushDelete(d: RemoteDelete): Promise<unknown>;
  recordError(path: string | null, error: string, code: FailureCode | null): void;
  onHeld(held: NonNullable<StatusReport['heldDeletes']>): void;
  /** Runs `run` after `delayMs`; a later call with the same key replaces the earlier one. */
  later(key: string, delayMs: number, run: () => void): void;
  /** Counts `work` as busy (onIdle waits for it) and logs its failure. */
  track(work: Promise<void>, failure: string): void;
  /** Paths found by walking a new directory are looked at again through the engine (its recheck). */
  recheck(paths: string[]): void;
  /** True when no watcher event or new directory is waiting to settle. */
  quiet(): boolean;
  /**
   * The unreadable folders (src/engine/unreadable-dir-watch.ts): those the watcher path meets are
   * recorded there, as the scan's are, and rechecked until they can be listed.
   */
  unreadable: { add(dir: UnreadableDir): void; covers(relPath: string): boolean };
  /** These paths are about to be planned here (a reconcile running meanwhile leaves them to us). */
  planning?(paths: ReadonlySet<string>): void;
}

/** An lstat refused for want of permission: a folder above the path may be unreadable. */
const DENIED: readonly string[] = ['EACCES', 'EPERM'];

export class WatcherPath {
  readonly #deps: WatcherPathDeps;
  /** When watcher removals were deleted lately (the planner's removal window). */
  #recentRemovals: number[] = [];
  #pendingRemovals = new Set<string>();
  #pendingRemovalUploads: Promise<unknown>[] = [];
  #removalChain: Promise<void> = Promise.resolve();
  /** When the removals now gathered began to gather (null: none gathered). */
  #gatherStarted: number | null = null;
  /** Paths planned as new lately and their uploads: a gathered removal may be their move. */
  #appeared = new Map<string, { at: number; upload: Promise<unknown> }>();
  #handling = 0;
  #closed = false;
  /**
   * Walked new folders whose index rows are still to be checked, with the files the walks met and
   * the folders they could not judge: one pass over the index serves every folder walked in a
   * moment (a copied tree reports each of its folders as new).
   */
  #rowsToCheck: { dirs: Set<string>; met: Set<string>; unjudged: string[] } | null = null;

  constructor(deps: WatcherPathDeps) {
    this.#deps = deps;
  }

  close(): void {
    this.#closed = true;
  }

  /** `rehash`: paths to read even if their stat is as indexed (a change event, a changed upload). */
  async handle(paths: string[], rehash: ReadonlySet<string> = new Set()): Promise<void> {
    this.#handling += 1;
    try {
      await this.#handle(paths, rehash);
    } finally {
      this.#handling -= 1;
    }
  }

  async #handle(paths: string[], rehash: ReadonlySet<string>): Promise<void> {
    const present: CheckedPath[] = [];
    const gone: string[] = [];
    const listable = new Map<string, UnreadableDir | null>();
    for (const rel of paths) {
      // With the row, a file whose size, mtime, inode and ctime are unchanged is not read again.
      const row = this.#deps.index.get(rel);
      const result = await checkPath(
        this.#deps.config.dir,
        rel,
        { ...this.#checkOptions(), rehash: rehash.has(rel) },
        row,
      );
      // Under an unreadable folder: neither failed nor planned; the folder is rechecked instead.
      if (result.kind === 'error' && (await this.#inUnreadableDir(rel, result, listable))) continue;
      if (result.kind !== 'missing') present.push({ path: rel, result });
      else if (row) gone.push(rel);
    }
    const uploads = present.length > 0 ? await this.#planBatch(present) : [];
    if (gone.length === 0) return;
    for (const p of gone) this.#pendingRemovals.add(p);
    this.#pendingRemovalUploads.push(...uploads);
    this.#gatherRemovals();
  }

  /**
   * (Re)arms the gathering of removals: REMOVAL_GATHER_MS after the latest, but never past the
   * window that began with the first, so removals that keep trickling in are still planned.
   */
  #gatherRemovals(): void {
    const now = this.#deps.now();
    this.#gatherStarted ??= now;
    const left = REMOVAL_WINDOW_MS - (now - this.#gatherStarted);
    this.#deps.later('removals', Math.max(0, Math.min(REMOVAL_GATHER_MS, left)), () => this.#flushWhenQuiet());
  }

  /** Flushes the gathered removals once nothing else is settling, or when the window is used up. */
  #flushWhenQuiet(): void {
    const waited = this.#deps.now() - (this.#gatherStarted ?? this.#deps.now());
    if (!this.#closed && (this.#handling > 0 || !this.#deps.quiet()) && waited < REMOVAL_WINDOW_MS) {
      this.#deps.later('removals', REMOVAL_QUIET_POLL_MS, () => this.#flushWhenQuiet());
      return;
    }
    this.#gatherStarted = null;
    this.#flushRemovals();
  }

  /**
   * Whether a path whose check failed lies under a folder that cannot be listed, as the scan
   * would have found it (it records such a folder rather than failing each file under it). An
   * lstat refused with EACCES means a folder above lacks search permission; the topmost one that
   * cannot be opened is the one to record. `listable` caches the answers within one batch.
   */
  async #inUnreadableDir(
    rel: string,
    result: Extract<CheckPathResult, { kind: 'error' }>,
    listable: Map<string, UnreadableDir | null>,
  ): Promise<boolean> {
    if (result.code === undefined || !DENIED.includes(result.code)) return false;
    if (this.#deps.unreadable.covers(rel)) return true;
    const parts = rel.split('/').slice(0, -1);
    for (let i = 0; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!listable.has(dir)) listable.set(dir, await this.#listError(dir));
      const unreadable = listable.get(dir);
      if (unreadable) {
        this.#deps.unreadable.add(unreadable);
        return true;
      }
    }
    return false;
  }

  /** Why a folder cannot be listed, or null when it can (or is gone: its removal is reported). */
  async #listError(relDir: string): Promise<UnreadableDir | null> {
    const check = await checkListable(path.join(this.#deps.config.dir, ...relDir.split('/').filter(Boolean)));
    return check.listable || check.gone ? null : { path: relDir, reason: check.reason };
  }

  /**
   * A new directory, once settled (and watched again: src/engine/live-engine.ts): every file in it that
   * is not synced is checked, and so is every row under it whose file the walk did not meet. The
   * watcher can miss both: a folder made inside a new folder between chokidar's listing of it and
   * its watch is not watched, so a file written there and moved out later is never reported
   * gone. The check of such a row lstats it, and only an ENOENT plans its removal.
   */
  async walkNewDir(relDir: string): Promise<void> {
    this.#handling += 1;
    try {
      await this.#walkNewDir(relDir);
    } finally {
      this.#handling -= 1;
    }
  }

  async #walkNewDir(relDir: string): Promise<void> {
    const files: string[] = [];
    const met = new Set<string>();
    /** Folders whose rows the walk cannot judge: ignored, or unreadable (recorded as such). */
    const unjudged: string[] = [];
    // The scan's walk (src/scan/walk.ts): the same ignores, symlink rules, unreadable folders and
    // names that are not UTF-8. Gone: the watcher reports its removal.
    const realRoot = await resolveRoot(this.#deps.config.dir);
    if (realRoot === null) return;
    await walkTree(
      realRoot,
      { matcher: this.#deps.matcher, followSymlinks: this.#deps.config.watch.followSymlinks, from: relDir },
      {
        file: (rel) => {
          met.add(rel);
          if (this.#deps.index.get(rel)?.state !== 'synced') files.push(rel);
        },
        skipped: (e) => {
          if (e.kind === 'directory') unjudged.push(e.path);
          else met.add(e.path);
        },
        unreadableDir: (rel, reason) => {
          unjudged.push(rel);
          this.#deps.unreadable.add({ path: rel, reason });
        },
        error: (rel) => met.add(rel),
      },
    );
    if (files.length > 0) this.#deps.recheck(files);
    if (this.#closed) return;
    if (this.#rowsToCheck === null) {
      this.#rowsToCheck = { dirs: new Set(), met: new Set(), unjudged: [] };
      this.#deps.later('new-dir-rows', this.#deps.config.watch.settleMs, () => this.#checkRowsUnderNewDirs());
    }
    this.#rowsToCheck.dirs.add(relDir);
    for (const p of met) this.#rowsToCheck.met.add(p);
    this.#rowsToCheck.unjudged.push(...unjudged);
  }

  /** The rows under the walked folders whose file no walk met are checked (and so, if gone, removed). */
  #checkRowsUnderNewDirs(): void {
    const pending = this.#rowsToCheck;
    this.#rowsToCheck = null;
    if (!pending || this.#closed) return;
    const under = (p: string, dirs: { has(d: string): boolean }): boolean => {
      for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) if (dirs.has(p.slice(0, i))) return true;
      return false;
    };
    const unjudged = new Set(pending.unjudged);
    const missing: string[] = [];
    for (const r of this.#deps.index.iterate()) {
      if (!pending.met.has(r.path) && under(r.path, pending.dirs) && !under(r.path, unjudged)) missing.push(r.path);
    }
    if (missing.length > 0) this.#deps.recheck(missing);
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
      // The new paths are up before the old copies go (a move never leaves its content nowhere).
      const appeared = await this.#appearedUp(new Set(paths));
      // Looked at again: a file that came back meanwhile is planned as present, not removed.
      const checked: CheckedPath[] = [];
      const listable = new Map<string, UnreadableDir | null>();
      for (const rel of paths) {
        const result = await checkPath(this.#deps.config.dir, rel, this.#checkOptions());
        if (result.kind === 'error' && (await this.#inUnreadableDir(rel, result, listable))) continue;
        checked.push({ path: rel, result });
      }
      await this.#planBatch(checked, appeared);
    });
    this.#removalChain = run.catch(() => undefined);
    this.#deps.track(run, 'handling removals failed; the next reconcile repairs it');
  }

  /**
   * The files that appeared in the window, once their uploads are done, as move targets: only
   * those now synced (a failed upload leaves its removal to count as a loss).
   */
  async #appearedUp(gone: ReadonlySet<string>): Promise<MoveTarget[]> {
    const since = this.#deps.now() - 2 * REMOVAL_WINDOW_MS;
    for (const [p, a] of this.#appeared) if (a.at < since) this.#appeared.delete(p);
    const entries = [...this.#appeared].filter(([p]) => !gone.has(p));
    await Promise.allSettled(entries.map(([, a]) => a.upload));
    const targets: MoveTarget[] = [];
    for (const [p] of entries) {
      const row = this.#deps.index.get(p);
      if (row && row.state === 'synced' && row.fileId) targets.push({ path: p, sha256: row.sha256, ino: row.ino });
    }
    return targets;
  }

  /**
   * Held paths whose content (or inode) just appeared under a new path are gathered again, so
   * the next removal batch pairs them as moves: a folder whose new files came after the
   * gathering window was held, and is released here without `--allow-mass-delete`.
   */
  #regatherHeldMoves(
    appeared: readonly { path: string; sha256: string | null; ino: number }[],
    held: ReadonlySet<string>,
  ): void {
    if (appeared.length === 0 || held.size === 0) return;
    const shas = new Set(appeared.flatMap((a) => a.sha256 ?? []));
    const inos = new Set(appeared.map((a) => a.ino));
    const matches = [...held].filter((p) => {
      const row = this.#deps.index.get(p);
      return !!row && ((row.sha256 !== null && shas.has(row.sha256)) || inos.has(row.ino));
    });
    if (matches.length === 0) return;
    for (const p of matches) this.#pendingRemovals.add(p);
    this.#gatherRemovals();
  }

  /** Plans checked paths with the shared planner (no listing), applies the plan, pushes its jobs. */
  async #planBatch(checked: CheckedPath[], appeared: readonly MoveTarget[] = []): Promise<Promise<unknown>[]> {
    const { index, logger, config } = this.#deps;
    const scope = new Set(checked.map((c) => c.path));
    this.#deps.planning?.(scope);
    const rows = [...scope].flatMap((p) => index.get(p) ?? []);
    const seen = await observeRoot(config.dir);
    const now = this.#deps.now();
    const heldBefore = readHeld(index);
    const plan = planSync({
      rows,
      intents: [],
      pendingDeletes: [],
      local: batchSnapshot(checked),
      remote: null,
      now,
      options: {
        ...config.sync,
        adopt: false,
        deleteUnmanaged: false,
        allowMassDelete: false,
        intentSkewMs: INTENT_CLOCK_SKEW_MS,
        expiryMarginMs: EXPIRY_MARGIN_MS,
      },
      scope: {
        paths: scope,
        managed: index.countByState().synced,
        recentRemovals: this.#recentRemovals,
        windowMs: REMOVAL_WINDOW_MS,
      },
      root: { seen, known: knownRoot((k) => index.getMeta(k)) },
      held: heldBefore,
      appeared,
    });
    this.#recentRemovals = plan.recentRemovals;
    if (plan.held) this.#deps.onHeld(plan.held);
    logDeletesHeld(logger, plan.held);
    recordFailedReads(
      index,
      checked.flatMap(({ path: rel, result }) => (result.kind === 'error' ? [{ path: rel, error: result.error }] : [])),
      { logger, recordError: this.#deps.recordError },
    );
    const applied = commitPlan(index, plan, { now, logger, held: { before: heldBefore, scope } });
    const uploads = applied.uploads.map((p) => this.#deps.pushUpload(p));
    const isNew = new Set(plan.uploads.filter((u) => u.reason === 'new').map((u) => u.path));
    applied.uploads.forEach((p, i) => {
      if (isNew.has(p)) this.#appeared.set(p, { at: now, upload: uploads[i] as Promise<unknown> });
    });
    this.#regatherHeldMoves(
      plan.observe.filter((o) => isNew.has(o.path)),
      applied.held,
    );
    if (applied.deletes.length > 0) {
      // Uploads first, deletes after, as in reconcile.
      await Promise.allSettled(uploads);
      for (const d of applied.deletes) void this.#deps.pushDelete(d);
    }
    return uploads;
  }

  #checkOptions(): CheckPathOptions {
    return {
      matcher: this.#deps.matcher,
      followSymlinks: this.#deps.config.watch.followSymlinks,
      maxFileBytes: this.#deps.config.sync.maxFileBytes,
    };
  }
}
