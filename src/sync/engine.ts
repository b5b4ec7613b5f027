/**
 * The sync engine: the one place where the watcher, the scanner, the planner, the queue, the
 * executor and reconcile meet. The watcher is only a hint (a settled path is checked against the
 * index); reconcile (full listing + full scan + index) is the truth and repairs every difference.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { FilesApi, RetryWaitInfo } from '../api/types.js';
import { createFilesClient } from '../api/index.js';
import type { Config } from '../config/types.js';
import type {
  EngineDeps,
  FileEntry,
  ProgressEvent,
  ReconcileOptions,
  ReconcileReport,
  StatusReport,
  SyncEngine,
} from './types.js';
import type { IndexStore } from '../index/store.js';
import type { FileRow, RemoteDelete } from '../index/types.js';
import { applyPlan, listRemote, snapshotFromScan } from '../reconcile/reconcile.js';
import { checkPath } from '../scan/check-path.js';
import { createIgnoreMatcher, type IgnoreMatcher } from '../scan/ignore.js';
import { scanTree } from '../scan/scanner.js';
import type { Watcher } from '../watch/watcher.js';
import { checkDeleteSafety } from './delete-safety.js';
import { deleteRemote, uploadPath, type ExecutorDeps, type UploadOutcome } from './executor.js';
import { planSync, type Plan, type PlanOptions } from './plan.js';
import { KeyedQueue } from './queue.js';
import { RequestGate } from './request-gate.js';

/** An intent matches remote files created up to this long before it began (clock skew). */
const INTENT_SKEW_MS = 10 * 60_000;
/** A remote copy expiring within this margin is replaced at the reconcile before. */
const EXPIRY_MARGIN_MS = 5 * 60_000;
/** Transient failures are retried by the engine after 2s, 4s, ... up to this many times. */
const MAX_ENGINE_RETRIES = 5;
const MAX_RETRY_DELAY_MS = 60_000;
/**
 * Watcher removals are counted against the deletion-safety share over this window: long enough
 * to see an unmount or an `rm -rf` whose events arrive in several settled batches, short enough
 * that deleting files one by one is never mistaken for a mass vanish.
 */
const REMOVAL_WINDOW_MS = 5_000;
/** Removals are gathered this long before they are judged (and deleted) together. */
const REMOVAL_GATHER_MS = 1_000;
const LAST_ERRORS = 20;
/** Failed files are rechecked on this tick, each after 5 s x 2^(attempts-1), at most 1 h. */
const FAILED_RECHECK_TICK_MS = 5_000;
const FAILED_RECHECK_MAX_MS = 60 * 60_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createSyncEngine(deps: EngineDeps): SyncEngine {
  return new Engine(deps);
}

class Engine implements SyncEngine {
  readonly #config: Config;
  readonly #index: IndexStore;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #gate: RequestGate;
  readonly #queue: KeyedQueue;
  readonly #client: FilesApi;
  readonly #matcher: IgnoreMatcher;
  readonly #exec: ExecutorDeps;
  readonly #watchEnabled: boolean;
  readonly #onProgress: ((e: ProgressEvent) => void) | undefined;
  readonly #onFatal: ((err: Error) => void) | undefined;
  #watcher: Watcher | null = null;
  #reconcileChain: Promise<unknown> = Promise.resolve();
  #reconciling = false;
  #deferred = new Set<string>();
  #settling = 0;
  #idleWaiters: (() => void)[] = [];
  #retryTimers = new Map<string, NodeJS.Timeout>();
  #scheduleTimer: NodeJS.Timeout | null = null;
  #recheckTimer: NodeJS.Timeout | null = null;
  #lastErrors: { at: string; path: string | null; error: string }[] = [];
  #lastReconcile: StatusReport['lastReconcile'] = null;
  #held: { count: number; message: string } | null = null;
  #recentRemovals: number[] = [];
  #pendingRemovals = new Map<string, FileRow>();
  #pendingRemovalUploads: Promise<unknown>[] = [];
  #closed: Promise<void> | null = null;
  #started = false;

  constructor(deps: EngineDeps) {
    this.#config = deps.config;
    this.#index = deps.index;
    this.#logger = deps.logger;
    this.#now = deps.now ?? Date.now;
    this.#watchEnabled = deps.watch;
    this.#onProgress = deps.onProgress;
    this.#onFatal = deps.onFatal;
    this.#gate = new RequestGate({ requestsPerMinute: this.#config.queue.requestsPerMinute });
    this.#queue = new KeyedQueue({ concurrency: this.#config.queue.concurrency, gate: this.#gate });
    const hooks = {
      beforeRequest: () => this.#gate.acquire(),
      onRetryWait: (info: RetryWaitInfo) => this.#onRetryWait(info),
    };
    this.#client = deps.createClient ? deps.createClient(hooks) : defaultClient(this.#config, hooks);
    this.#matcher = createIgnoreMatcher({
      ignore: [...this.#config.watch.ignore],
      include: [...this.#config.watch.include],
      extraIgnoredDirs: stateDirInside(this.#config.dir, this.#config.stateDir),
    });
    this.#exec = {
      root: this.#config.dir,
      index: this.#index,
      client: this.#client,
      logger: this.#logger,
      now: this.#now,
      expiresInSeconds: this.#config.sync.expiresInSeconds,
      maxFileBytes: this.#config.sync.maxFileBytes,
      liveIntents: new Set(),
      onDeleteQueued: (d) => void this.#pushDelete(d),
    };
  }

  get client(): FilesApi {
    return this.#client;
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    if (this.#watchEnabled) {
      // chokidar is loaded only by the daemon: one-shot sync and reconcile never watch.
      const { createWatcher } = await import('../watch/watcher.js');
      this.#watcher = createWatcher({
        root: this.#config.dir,
        ignored: (rel, isDir) => this.#matcher.check(rel, isDir) !== null,
        followSymlinks: this.#config.watch.followSymlinks,
        usePolling: this.#config.watch.usePolling,
        pollIntervalMs: this.#config.watch.pollIntervalMs,
        settleMs: this.#config.watch.settleMs,
        onSettled: (paths) => this.#onSettled(paths),
        onWarning: (message, code) => {
          this.#logger.warn({ event: 'watcher-warning', code }, message);
          this.#recordError(null, message);
          // Events between the native watcher's end and polling's start may be lost.
          if (code === 'E_WATCH_LIMIT') this.#reconcileInBackground('watch limit reached');
        },
        // Files changed while the folder was gone were not seen: look at everything again.
        onRootRestored: () => this.#reconcileInBackground('the watched folder is back'),
        onDirAdded: (relDir) => this.#retryLater(`dir:${relDir}`, this.#config.watch.settleMs * 2, () => void this.#walkNewDir(relDir)),
        onDirRemoved: (relDir) => this.#onSettled(this.#index.all().filter((r) => r.path.startsWith(relDir + '/')).map((r) => r.path)),
        onError: (err) => this.#logger.error({ event: 'watcher-error', err: err.message }, 'watcher error; the next reconcile repairs anything missed'),
      });
      await this.#watcher.ready();
    }
    await this.reconcile({});
    this.#schedule();
    if (this.#watchEnabled) {
      this.#recheckTimer = setInterval(() => this.#recheckFailed(), FAILED_RECHECK_TICK_MS);
      this.#recheckTimer.unref();
    }
  }

  /**
   * Failed files are looked at again with a growing delay (5 s, 10 s, ... 1 h): a file that
   * was unreadable may be readable now without any event the watcher could see (a permission
   * change, a lock released), and an API failure may have passed.
   */
  #recheckFailed(): void {
    if (this.#closed || this.#reconciling) return;
    const now = this.#now();
    const due = this.#index
      .byState('failed', 1000)
      .filter((r) => now - r.updatedAt >= Math.min(FAILED_RECHECK_MAX_MS, FAILED_RECHECK_TICK_MS * 2 ** Math.max(0, r.attempts - 1)))
      .map((r) => r.path);
    if (due.length > 0) this.#onSettled(due);
  }

  reconcile(options: ReconcileOptions = {}): Promise<ReconcileReport> {
    const run = this.#reconcileChain.then(() => this.#runReconcile(options));
    this.#reconcileChain = run.catch(() => undefined);
    return run;
  }

  status(): StatusReport {
    const counts = this.#index.countByState();
    const skipped = this.#index.byState('skipped', 100).map((r) => ({ path: r.path, reason: r.skipReason ?? 'skipped' }));
    const pausedUntil = this.#gate.pausedUntil;
    return {
      running: true,
      pid: process.pid,
      dir: this.#config.dir,
      stateDir: this.#config.stateDir,
      target: {
        kind: this.#config.api.target,
        baseURL: this.#client.baseURL,
        shape: this.#client.shape,
        note: this.#config.api.target === 'emulator' ? 'built-in emulator: nothing leaves this machine; set ANTHROPIC_API_KEY to sync to Claude' : null,
      },
      counts,
      queue: {
        depth: this.#queue.size,
        inFlight: this.#queue.inFlight,
        pausedUntil: pausedUntil && pausedUntil > this.#now() ? new Date(pausedUntil).toISOString() : null,
        rateLimitPauses: this.#gate.rateLimitPauses,
      },
      watcher: { mode: this.#watcher ? this.#watcher.mode : 'off', warning: this.#watcher?.warning ?? null },
      lastReconcile: this.#lastReconcile,
      heldDeletes: this.#held,
      lastErrors: [...this.#lastErrors],
      skipped,
    };
  }

  files(): FileEntry[] {
    return this.#index.all().map(toEntry);
  }

  fileIdOf(relPath: string): string | null {
    const row = this.#index.get(relPath);
    return row && row.state === 'synced' ? row.fileId : null;
  }

  async onIdle(): Promise<void> {
    for (;;) {
      await this.#reconcileChain;
      if (this.#watcher) await this.#watcher.onIdle();
      await this.#queue.onIdle();
      if (this.#isIdle()) return;
      await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    }
  }

  close(graceMs = 10_000): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#scheduleTimer) clearTimeout(this.#scheduleTimer);
      if (this.#recheckTimer) clearInterval(this.#recheckTimer);
      for (const t of this.#retryTimers.values()) clearTimeout(t);
      this.#retryTimers.clear();
      await this.#watcher?.close();
      await this.#queue.close(graceMs);
      await this.#client.close();
      this.#wakeIdle();
    })();
    return this.#closed;
  }

  // --- reconcile -------------------------------------------------------------------------

  async #runReconcile(options: ReconcileOptions): Promise<ReconcileReport> {
    const started = this.#now();
    this.#reconciling = true;
    try {
      // Hold new jobs and let running ones finish, so the listing and the index agree.
      this.#queue.pause();
      while (this.#queue.inFlight > 0) await sleep(20);
      // The listing (network) and the scan (disk) do not depend on each other.
      const listing = listRemote(this.#client);
      listing.catch(() => undefined); // awaited below; do not let it reject unobserved meanwhile
      // The folder's inode identifies it (the device number may change across reboots on some
      // filesystems). Another inode at the same path means the folder was replaced — an empty
      // new folder, a disk not mounted over its mount point — and its removals are held.
      const rootIno = await stat(this.#config.dir).then((s) => String(s.ino), () => null);
      const knownRoot = this.#index.getMeta('root_ino') ?? null;
      const rootReplaced = rootIno !== null && knownRoot !== null && rootIno !== knownRoot;
      const scan = await scanTree(this.#config.dir, { ...this.#checkOptions(), lookup: this.#index.localLookup() });
      const remote = await listing;
      for (const e of scan.errors) {
        this.#logger.warn({ event: 'failure', path: e.path, err: e.error }, 'cannot read file; will retry at its next change or reconcile');
        if (!options.dryRun) this.#index.markFailed(e.path, e.error);
        this.#recordError(e.path, e.error);
      }
      if (scan.rootMissing) this.#logger.warn({ event: 'root-missing', dir: this.#config.dir }, 'the watched folder is missing: nothing is deleted until it is back');
      const plan = planSync({
        rows: this.#index.all(),
        intents: this.#index.intents(),
        pendingDeletes: this.#index.pendingDeletes(),
        local: snapshotFromScan(scan),
        remote,
        liveIntentIds: this.#exec.liveIntents,
        now: this.#now(),
        options: { ...this.#planOptions(options), rootReplaced },
      });
      this.#held = plan.held;
      if (plan.held) this.#logger.warn({ event: 'deletes-held', count: plan.held.count }, plan.held.message);
      for (const f of plan.unmanaged) this.#logger.info({ event: 'unmanaged', fileId: f.id, filename: f.filename, size: f.size }, 'remote file not in the index; left alone');

      const report = baseReport(started, options, remote.size, scan.files.length, plan);
      if (options.dryRun) {
        report.uploaded = plan.uploads.map((u) => u.path);
        report.deleted = [
          ...plan.deletes,
          ...plan.removals.filter((r) => r.fileId).map((r) => ({ fileId: r.fileId as string, remoteName: null, path: r.path, reason: r.reason })),
        ].map((d) => ({ fileId: d.fileId, remoteName: d.remoteName, path: d.path, reason: d.reason }));
        this.#queue.start();
        report.durationMs = this.#now() - started;
        return report;
      }

      for (const s of plan.skip) this.#logger.info({ event: 'skip', path: s.obs.path, size: s.obs.size, reason: s.reason }, 'skipped');
      for (const a of plan.adoptions) this.#logger.info({ event: 'adopt', path: a.path, fileId: a.file.id, size: a.file.size, via: a.via }, 'adopted remote copy');
      const applied = applyPlan(this.#index, plan, this.#now());
      if (rootIno !== null && (!rootReplaced || options.allowMassDelete)) this.#index.setMeta('root_ino', rootIno);
      this.#queue.start();
      this.#reconciling = false;
      this.#flushDeferred();

      // Uploads first, deletes after: a path never lacks a remote copy, not even while a
      // rename's new name uploads and the old name's copy waits to be deleted.
      await this.#runUploads(applied.uploads, report);
      const deleted = await Promise.all(applied.deletes.map((d) => this.#pushDelete(d)));
      for (const d of deleted) if (d) report.deleted.push(d);
      report.durationMs = this.#now() - started;
      this.#lastReconcile = { at: new Date(started).toISOString(), durationMs: report.durationMs, ok: true, error: null };
      this.#logger.info(
        {
          event: 'reconcile',
          durationMs: report.durationMs,
          remoteFiles: report.remoteFiles,
          localFiles: report.localFiles,
          uploaded: report.uploaded.length,
          deleted: report.deleted.length,
          adopted: report.adopted.length,
          unmanaged: report.unmanaged.length,
          failed: report.failed.length,
        },
        'reconcile done',
      );
      return report;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.#lastReconcile = { at: new Date(started).toISOString(), durationMs: this.#now() - started, ok: false, error: message };
      this.#recordError(null, `reconcile failed: ${message}`);
      throw err;
    } finally {
      this.#reconciling = false;
      this.#queue.start();
      this.#flushDeferred();
      this.#schedule();
    }
  }

  #planOptions(options: ReconcileOptions): PlanOptions {
    return {
      adopt: options.adopt ?? false,
      deleteUnmanaged: options.deleteUnmanaged ?? false,
      allowMassDelete: options.allowMassDelete ?? false,
      maxDeletePercent: this.#config.sync.maxDeletePercent,
      maxDeleteFloor: this.#config.sync.maxDeleteFloor,
      intentSkewMs: INTENT_SKEW_MS,
      expiryMarginMs: EXPIRY_MARGIN_MS,
      rootReplaced: false,
    };
  }

  async #runUploads(paths: string[], report: ReconcileReport): Promise<void> {
    const total = { files: paths.length, bytes: 0 };
    const done = { files: 0, bytes: 0 };
    for (const p of paths) total.bytes += this.#index.get(p)?.size ?? 0;
    const progress = (phase: ProgressEvent['phase']) =>
      this.#onProgress?.({ phase, filesDone: done.files, filesTotal: total.files, bytesDone: done.bytes, bytesTotal: total.bytes });
    progress('upload');
    await Promise.all(
      paths.map(async (p) => {
        const outcome = await this.#pushUpload(p);
        done.files += 1;
        if (outcome?.kind === 'uploaded') {
          done.bytes += outcome.bytes;
          report.uploaded.push(p);
        } else if (outcome?.kind === 'failed') {
          report.failed.push({ path: p, error: outcome.error });
        } else if (outcome?.kind === 'skipped') {
          report.skipped.push({ path: p, reason: outcome.reason });
        }
        progress('upload');
      }),
    );
    progress('done');
  }

  #reconcileInBackground(why: string): void {
    if (this.#closed) return;
    this.#logger.info({ event: 'reconcile-requested', why }, `reconciling: ${why}`);
    this.reconcile({}).catch((err: unknown) =>
      this.#logger.error({ event: 'reconcile-failed', err: err instanceof Error ? err.message : String(err) }, 'reconcile failed'),
    );
  }

  #schedule(): void {
    if (this.#closed || !this.#watchEnabled) return;
    if (this.#scheduleTimer) clearTimeout(this.#scheduleTimer);
    const minutes = this.#config.sync.reconcileIntervalMinutes;
    let delay = minutes > 0 ? minutes * 60_000 : Infinity;
    // Replace expiring copies before they expire, even between scheduled passes.
    let earliest = Infinity;
    for (const r of this.#index.iterate()) if (r.remoteExpiresAt !== null && r.remoteExpiresAt < earliest) earliest = r.remoteExpiresAt;
    if (earliest !== Infinity) delay = Math.min(delay, Math.max(1_000, earliest - EXPIRY_MARGIN_MS - this.#now()));
    if (delay === Infinity) return;
    this.#scheduleTimer = setTimeout(() => this.#reconcileInBackground('scheduled'), Math.min(delay, 2 ** 31 - 1));
    this.#scheduleTimer.unref();
  }

  // --- watcher path ----------------------------------------------------------------------

  #onSettled(paths: string[]): void {
    if (this.#closed) return;
    if (this.#reconciling) {
      for (const p of paths) this.#deferred.add(p);
      return;
    }
    this.#settling += 1;
    this.#handleSettled(paths)
      .catch((err: unknown) => this.#logger.error({ event: 'failure', err: err instanceof Error ? err.message : String(err) }, 'handling changes failed; the next reconcile repairs it'))
      .finally(() => {
        this.#settling -= 1;
        this.#wakeIdle();
      });
  }

  /** A new directory, once settled: every file in it is checked (cheap when already seen). */
  async #walkNewDir(relDir: string): Promise<void> {
    const files: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      const entries = await readdir(path.join(this.#config.dir, ...rel.split('/')), { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const child = `${rel}/${e.name}`;
        if (this.#matcher.check(child, e.isDirectory()) !== null) continue;
        if (e.isDirectory()) await walk(child);
        else if (e.isFile() && this.#index.get(child)?.state !== 'synced') files.push(child);
      }
    };
    await walk(relDir);
    if (files.length > 0) this.#onSettled(files);
  }

  #flushDeferred(): void {
    if (this.#deferred.size === 0) return;
    const paths = [...this.#deferred];
    this.#deferred.clear();
    this.#onSettled(paths);
  }

  async #handleSettled(paths: string[]): Promise<void> {
    const removed: FileRow[] = [];
    const uploads: Promise<unknown>[] = [];
    for (const rel of paths) {
      const row = this.#index.get(rel);
      // With the row, a file whose size, mtime and inode are unchanged is not read again.
      const result = await checkPath(this.#config.dir, rel, this.#checkOptions(), row);
      switch (result.kind) {
        case 'file': {
          const next = this.#index.observe(result.obs);
          if (next.state !== 'synced') uploads.push(this.#pushUpload(rel));
          break;
        }
        case 'skipped': {
          if (row?.fileId) {
            this.#index.clearRemote(rel, 'removed');
            void this.#pushDelete({ fileId: row.fileId, remoteName: row.remoteName, path: rel, reason: 'removed', queuedAt: this.#now(), attempts: 0, lastError: null });
          }
          if (row?.state !== 'skipped' || row.skipReason !== result.reason) {
            this.#index.markSkipped({ path: rel, size: result.size, mtimeMs: result.mtimeMs, ino: result.ino }, result.reason);
            this.#logger.info({ event: 'skip', path: rel, size: result.size, reason: result.reason }, 'skipped');
          }
          break;
        }
        case 'missing':
          if (row) removed.push(row);
          break;
        case 'error':
          this.#index.markFailed(rel, result.error);
          this.#recordError(rel, result.error);
          this.#logger.warn({ event: 'failure', path: rel, err: result.error }, 'cannot read file; will retry at its next change or reconcile');
          break;
      }
    }
    if (removed.length > 0) {
      // An `rm -rf` or an unmount arrives as several settled batches: gather removals for a
      // moment and judge them together, so deletion safety sees the whole of it.
      for (const row of removed) this.#pendingRemovals.set(row.path, row);
      this.#pendingRemovalUploads.push(...uploads);
      this.#retryLater('removals', REMOVAL_GATHER_MS, () => this.#flushRemovals());
    }
  }

  #checkOptions(): { matcher: IgnoreMatcher; followSymlinks: boolean; maxFileBytes: number } {
    return { matcher: this.#matcher, followSymlinks: this.#config.watch.followSymlinks, maxFileBytes: this.#config.sync.maxFileBytes };
  }

  /**
   * Removals seen by the watcher. They wait for the batch's uploads, so a rename never leaves a
   * window where neither name exists remotely; and they obey the deletion-safety rules.
   */
  #flushRemovals(): void {
    const rows = [...this.#pendingRemovals.values()];
    const uploads = this.#pendingRemovalUploads;
    this.#pendingRemovals = new Map();
    this.#pendingRemovalUploads = [];
    if (rows.length === 0 || this.#closed) return;
    this.#settling += 1;
    this.#handleRemovals(rows, uploads)
      .catch((err: unknown) => this.#logger.error({ event: 'failure', err: err instanceof Error ? err.message : String(err) }, 'handling removals failed; the next reconcile repairs it'))
      .finally(() => {
        this.#settling -= 1;
        this.#wakeIdle();
      });
  }

  async #handleRemovals(rows: FileRow[], uploads: Promise<unknown>[]): Promise<void> {
    const root = await stat(this.#config.dir).then((s) => (s.isDirectory() ? String(s.ino) : null), () => null);
    const rootExists = root !== null;
    const knownRoot = this.#index.getMeta('root_ino') ?? null;
    if (rootExists && knownRoot !== null && root !== knownRoot) {
      // Another folder stands at the watched path: these files did not vanish one by one. Only
      // `reconcile --allow-mass-delete` accepts the new folder as the truth.
      const deleting = rows.filter((r) => r.fileId).length;
      this.#held = {
        count: deleting,
        message:
          'the watched folder was replaced (another folder now stands at its path); nothing is deleted remotely. ' +
          'If the right disk is not mounted, mount it; if you meant it, run `claude-filesync reconcile --allow-mass-delete`.',
      };
      this.#logger.warn({ event: 'deletes-held', count: deleting }, this.#held.message);
      return;
    }
    const now = this.#now();
    this.#recentRemovals = this.#recentRemovals.filter((t) => t > now - REMOVAL_WINDOW_MS);
    const deleting = rows.filter((r) => r.fileId).length;
    // Rows with a remote copy (the ones being removed are still rows) plus those removed lately.
    const managed = this.#index.countByState().synced + this.#recentRemovals.length;
    const verdict = checkDeleteSafety({
      deleting: deleting + this.#recentRemovals.length,
      managed,
      limits: this.#config.sync,
      allow: false,
    });
    if (!rootExists || !verdict.ok) {
      const message = rootExists ? verdict.ok ? '' : verdict.message : 'the watched folder is missing: nothing is deleted until it is back (is the disk mounted?)';
      this.#held = { count: deleting, message };
      this.#logger.warn({ event: 'deletes-held', count: deleting }, message);
      return;
    }
    for (let i = 0; i < deleting; i += 1) this.#recentRemovals.push(now);
    await Promise.allSettled(uploads);
    for (const row of rows) {
      // The file may have come back while the batch's uploads ran.
      const again = await checkPath(this.#config.dir, row.path, this.#checkOptions());
      if (again.kind !== 'missing') {
        this.#onSettled([row.path]);
        continue;
      }
      const queued = this.#index.removePath(row.path);
      this.#logger.info({ event: 'removed', path: row.path, fileId: row.fileId }, 'local file removed');
      if (queued) void this.#pushDelete(queued);
    }
  }

  // --- jobs --------------------------------------------------------------------------------

  #pushUpload(rel: string): Promise<UploadOutcome | null> {
    let outcome: UploadOutcome | null = null;
    const key = `p:${rel}`;
    return this.#queue
      .push(key, async (signal) => {
        outcome = await uploadPath(this.#exec, rel, signal);
        this.#afterUpload(rel, outcome);
      })
      .then(
        () => outcome,
        (err: unknown) => {
          // Not an API failure (those are outcomes): the index could not be written (a full or
          // read-only disk) or the queue closed. Nothing was sent without its intent.
          const message = err instanceof Error ? err.message : String(err);
          if ((err as { code?: unknown })?.code !== 'E_QUEUE_CLOSED') {
            this.#recordError(rel, message);
            this.#logger.error({ event: 'failure', path: rel, err: message }, 'upload job failed');
          }
          return null;
        },
      );
  }

  #afterUpload(rel: string, outcome: UploadOutcome): void {
    switch (outcome.kind) {
      case 'uploaded': {
        this.#clearRetry(`p:${rel}`);
        if (outcome.superseded) void this.#pushDelete(outcome.superseded);
        // The file changed (even back to an older content) while this version uploaded and the
        // settled check saw nothing to do then: the row is pending again, so upload it again.
        const row = this.#index.get(rel);
        if (row && row.state === 'pending') void this.#pushUpload(rel);
        break;
      }
      case 'changed':
        void this.#pushDelete(outcome.discarded);
        // Let it settle, then look again (the watcher also reports the change).
        this.#retryLater(`p:${rel}`, this.#config.watch.settleMs, () => this.#onSettled([rel]));
        break;
      case 'failed':
        this.#recordError(rel, outcome.error);
        if (outcome.fatal) this.#fatal(outcome.error);
        else if (outcome.retryable) this.#retryWithBackoff(`p:${rel}`, () => void this.#pushUpload(rel));
        break;
      case 'skipped': // the executor logged it
      case 'nothing':
        break;
    }
  }

  #pushDelete(d: RemoteDelete): Promise<ReconcileReport['deleted'][number] | null> {
    const key = `d:${d.fileId}`;
    let result: ReconcileReport['deleted'][number] | null = null;
    return this.#queue
      .push(key, async (signal) => {
        const outcome = await deleteRemote(this.#exec, d.fileId, signal);
        if (outcome.kind === 'deleted' || outcome.kind === 'gone') {
          this.#clearRetry(key);
          result = { fileId: d.fileId, remoteName: d.remoteName, path: d.path, reason: d.reason };
        } else if (outcome.kind === 'failed') {
          this.#recordError(d.path, `delete ${d.fileId}: ${outcome.error}`);
          if (outcome.fatal) this.#fatal(outcome.error);
          else if (outcome.retryable) this.#retryWithBackoff(key, () => void this.#pushDelete(d));
        }
      })
      .then(
        () => result,
        () => null,
      );
  }

  #retryWithBackoff(key: string, run: () => void): void {
    const attempts = (this.#retryCounts.get(key) ?? 0) + 1;
    if (attempts > MAX_ENGINE_RETRIES) {
      this.#retryCounts.delete(key);
      this.#logger.warn({ event: 'give-up', key }, 'giving up until the next change or reconcile');
      return;
    }
    this.#retryCounts.set(key, attempts);
    this.#retryLater(key, Math.min(MAX_RETRY_DELAY_MS, 1000 * 2 ** attempts), run);
  }

  #retryCounts = new Map<string, number>();

  #retryLater(key: string, delayMs: number, run: () => void): void {
    if (this.#closed) return;
    const existing = this.#retryTimers.get(key);
    if (existing) clearTimeout(existing);
    const timer = setTimeout(() => {
      this.#retryTimers.delete(key);
      if (!this.#closed) run();
      this.#wakeIdle();
    }, delayMs);
    this.#retryTimers.set(key, timer);
  }

  #clearRetry(key: string): void {
    this.#retryCounts.delete(key);
    const t = this.#retryTimers.get(key);
    if (t) {
      clearTimeout(t);
      this.#retryTimers.delete(key);
      this.#wakeIdle();
    }
  }

  #onRetryWait(info: RetryWaitInfo): void {
    this.#gate.onRetryWait(info);
    if (info.status === 429) {
      this.#queue.pauseFor(info.waitMs);
      this.#logger.warn({ event: 'rate-limited', waitMs: Math.round(info.waitMs), requestId: info.requestId }, 'the API asked us to slow down; every request waits');
    }
  }

  #fatal(message: string): void {
    this.#queue.pause();
    const text = `the API refused the key (${message}); fix ANTHROPIC_API_KEY (or the key file) and restart`;
    this.#logger.error({ event: 'fatal' }, text);
    this.#onFatal?.(new Error(text));
  }

  #recordError(p: string | null, error: string): void {
    this.#lastErrors.push({ at: new Date(this.#now()).toISOString(), path: p, error });
    if (this.#lastErrors.length > LAST_ERRORS) this.#lastErrors.shift();
  }

  #isIdle(): boolean {
    return (
      this.#settling === 0 &&
      this.#deferred.size === 0 &&
      this.#retryTimers.size === 0 &&
      this.#queue.size === 0 &&
      this.#queue.inFlight === 0 &&
      (this.#watcher?.pendingCount ?? 0) === 0
    );
  }

  #wakeIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}

function defaultClient(config: Config, hooks: { beforeRequest: () => Promise<void>; onRetryWait: (info: RetryWaitInfo) => void }): FilesApi {
  if (!config.api.apiKey) throw new Error('no API key: the daemon must pass a client for the built-in emulator');
  return createFilesClient({
    apiKey: config.api.apiKey,
    baseURL: config.api.baseURL,
    shape: config.api.shape,
    maxRetries: config.api.maxRetries,
    timeoutMs: config.api.timeoutMs,
    ...hooks,
  });
}

function stateDirInside(dir: string, stateDir: string): string[] {
  const rel = path.relative(dir, stateDir);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return [];
  return [rel.split(path.sep).join('/')];
}

function toEntry(r: FileRow): FileEntry {
  return {
    path: r.path,
    fileId: r.fileId,
    sizeBytes: r.size,
    sha256: r.sha256,
    state: r.state,
    error: r.state === 'skipped' ? r.skipReason : r.lastError,
  };
}

function baseReport(started: number, options: ReconcileOptions, remoteFiles: number, localFiles: number, plan: Plan): ReconcileReport {
  return {
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    dryRun: options.dryRun ?? false,
    remoteFiles,
    localFiles,
    uploaded: [],
    deleted: [],
    adopted: plan.adoptions.map((a) => ({ fileId: a.file.id, path: a.path })),
    unmanaged: plan.unmanaged.map((f) => ({ fileId: f.id, filename: f.filename, sizeBytes: f.size })),
    skipped: plan.skip.map((s) => ({ path: s.obs.path, reason: s.reason })),
    failed: [],
    heldDeletes: plan.held,
  };
}
