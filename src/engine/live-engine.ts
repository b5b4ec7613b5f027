/**
 * The sync engine: it dispatches jobs and keeps the live state. The daemon hands in every part
 * (client, gate, queue, ignore matcher, watcher, the reconcile pass, and the engine's own
 * collaborators: src/daemon/compose-engine.ts); the engine builds none and binds their EngineLink.
 * The watcher is only a hint: its settled paths are checked and planned by the same pure planner
 * as reconcile (src/plan/plan.ts), scoped to those paths; reconcile (listing + scan + index) is
 * the truth and repairs every difference. The engine is live as soon as the watcher is ready: a
 * reconcile (the start-up one too) runs behind the watcher path, never holding it, and what the
 * watcher path does meanwhile is recorded for the pass's planner (src/plan/plan-concurrent.ts).
 */
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { IndexStore } from '../store/store.js';
import type { Watcher } from '../watch/watcher.js';
import type { ApiProblems } from '../jobs/api-problems.js';
import type { ConcurrentRecorder } from './concurrent-changes.js';
import { scanChanges } from '../plan/plan-concurrent.js';
import { ReconcileProgress } from './reconcile-progress.js';
import { typeIsStale } from '../plan/mime-policy.js';
import { dueForRecheck, FAILED_RECHECK_TICK_MS } from '../plan/backoff.js';
import type { ExecutorDeps } from '../jobs/executor.js';
import { codeOf, type JobRunner } from '../jobs/job-outcomes.js';
import { EXPIRY_MARGIN_MS } from '../plan/plan.js';
import type { KeyedQueue } from '../jobs/queue.js';
import { readHeld } from '../plan/held-deletes.js';
import { liveStatus, mergeHeld } from './live-status.js';
import { readUnreadableDirs, toEntry, unreadableDirEntry } from './report.js';
import type { UnreadableDirWatch } from './unreadable-dir-watch.js';
import type { RetryTimers } from '../jobs/retry-timers.js';
import type { WatcherPath } from './watcher-path.js';
import type { FileEntry, LastError, ReconcileOptions, ReconcileReport, StatusReport, SyncEngine } from './contract.js';
import type { EngineDeps, EngineParts, WatchEvents } from './wiring.js';
import type { RecheckOptions } from './engine-link.js';
import { type CancelTimer, every, type Scheduler } from '../clock/scheduler.js';
import type { FailureCode } from '../errors.js';

const LAST_ERRORS = 20;

export function createSyncEngine(deps: EngineDeps, parts: EngineParts): SyncEngine {
  return new Engine(deps, parts);
}

class Engine implements SyncEngine {
  readonly #deps: EngineDeps;
  readonly #config: Config;
  readonly #index: IndexStore;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #scheduler: Scheduler;
  readonly #queue: KeyedQueue;
  readonly #exec: ExecutorDeps;
  #watcher: Watcher | null = null;
  #reconcileChain: Promise<unknown> = Promise.resolve();
  #reconciling = false;
  readonly #concurrent: ConcurrentRecorder;
  /** How far the running pass got (null: none runs), for status. */
  #progress: ReconcileProgress | null = null;
  #becameLive: () => void = () => undefined;
  // After #becameLive: field initializers run in order, and this one sets it.
  readonly #live = new Promise<void>((resolve) => (this.#becameLive = resolve));
  /** Work tracked as busy (src/engine/engine-link.ts track): onIdle waits for it. */
  #busy = 0;
  #idleWaiters: (() => void)[] = [];
  readonly #timers: RetryTimers;
  #cancelScheduled: CancelTimer | null = null;
  #stopRecheck: CancelTimer | null = null;
  #lastErrors: LastError[] = [];
  #lastReconcile: StatusReport['lastReconcile'] = null;
  #held: StatusReport['heldDeletes'] = null;
  /** Folders the last full scan could not list, looked at again on the recheck tick. */
  readonly #unreadable: UnreadableDirWatch;
  readonly #watcherPath: WatcherPath;
  #closed: Promise<void> | null = null;
  #started = false;
  readonly #problems: ApiProblems;
  readonly #jobs: JobRunner;
  readonly #watchEvents: WatchEvents;

  constructor(deps: EngineDeps, parts: EngineParts) {
    this.#deps = deps;
    this.#config = deps.config;
    this.#index = deps.index;
    this.#logger = deps.logger;
    this.#queue = deps.queue;
    this.#scheduler = parts.scheduler;
    this.#now = deps.now ?? parts.scheduler.now;
    this.#exec = parts.exec;
    this.#timers = parts.timers;
    this.#problems = parts.problems;
    this.#jobs = parts.jobs;
    this.#watcherPath = parts.watcherPath;
    this.#unreadable = parts.unreadable;
    this.#concurrent = parts.concurrent;
    this.#watchEvents = parts.watchEvents;
    parts.link.bind({
      recheck: (paths, options) => this.#recheck(paths, options),
      recordError: (p, error, code) => this.#recordError(p, error, code),
      track: (work, failure) => this.#track(work, failure),
      reconcileInBackground: (why) => this.#reconcileInBackground(why),
      held: (held) => void (this.#held = held),
      rewatch: (dir) => this.#watcher?.rewatch(dir),
      watcherQuiet: () => (this.#watcher?.pendingCount ?? 0) === 0,
      wakeIdle: () => this.#wakeIdle(),
    });
  }

  /**
   * Live once the watcher is ready (onLive); resolves when the start-up reconcile, which runs
   * behind the watcher path, is done (what `sync` and /readyz wait for).
   */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    if (this.#deps.startWatcher) this.#watcher = await this.#deps.startWatcher(this.#watchEvents);
    if (this.#watcher) {
      this.#stopRecheck = every(this.#scheduler, FAILED_RECHECK_TICK_MS, () => this.#recheckFailed(), {
        background: true,
      });
    }
    const startup = this.#enqueue({}, true);
    this.#becameLive();
    await startup;
    this.#schedule();
  }

  onLive(): Promise<void> {
    return this.#live;
  }

  /** Failed files whose backoff has passed are looked at again (src/plan/backoff.ts). */
  #recheckFailed(): void {
    if (this.#closed || this.#reconciling || this.#problems.keyRefused) return;
    const now = this.#now();
    const due = this.#index
      .byState('failed', 1000)
      .filter((r) => dueForRecheck(r, now))
      .map((r) => r.path);
    if (due.length > 0) this.#recheck(due);
    const dirs = this.#unreadable.due(now);
    if (dirs.length > 0)
      this.#track(
        this.#unreadable.recheck(dirs),
        'rechecking unreadable folders failed; the next reconcile repairs it',
      );
  }

  reconcile(options: ReconcileOptions = {}): Promise<ReconcileReport> {
    return this.#enqueue(options, false);
  }

  /** `own`: the engine's own pass (start-up, scheduled, a repair), whose report no one reads. */
  #enqueue(options: ReconcileOptions, own: boolean): Promise<ReconcileReport> {
    const run = this.#reconcileChain.then(() => this.#runReconcile(options, own));
    this.#reconcileChain = run.catch(() => undefined);
    return run;
  }

  status(): StatusReport {
    return liveStatus({
      config: this.#config,
      index: this.#index,
      client: this.#deps.client,
      queue: this.#queue,
      gate: this.#deps.gate,
      watcher: this.#watcher,
      traffic: this.#deps.traffic,
      workspaceHold: this.#deps.workspace?.held() ?? null,
      apiProblem: this.#problems.current(),
      lastErrors: [...this.#lastErrors],
      lastReconcile: this.#lastReconcile,
      reconcile: this.#progress?.report(this.#now()) ?? null,
      lastHold: this.#held,
      now: this.#now(),
    });
  }

  files(): FileEntry[] {
    const held = readHeld(this.#index);
    return [
      ...this.#index.all().map((r) => toEntry(r, held)),
      ...readUnreadableDirs(this.#index).map(unreadableDirEntry),
    ];
  }

  fileIdOf(relPath: string): string | null {
    const row = this.#index.get(relPath);
    return row && row.state === 'synced' && !readHeld(this.#index).has(relPath) ? row.fileId : null;
  }

  stateOf(relPath: string): FileEntry['state'] | null {
    const row = this.#index.get(relPath);
    if (!row) return null;
    return readHeld(this.#index).has(relPath) ? 'held' : row.state;
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
      this.#cancelScheduled?.();
      this.#stopRecheck?.();
      this.#problems.close();
      this.#watcherPath.close();
      this.#timers.close();
      await this.#watcher?.close();
      await this.#queue.close(graceMs);
      await this.#deps.client.close();
      this.#wakeIdle();
    })();
    return this.#closed;
  }

  // --- reconcile (the pass itself is src/reconcile/run-reconcile.ts) -----------------------

  async #runReconcile(options: ReconcileOptions, own: boolean): Promise<ReconcileReport> {
    const started = this.#now();
    this.#reconciling = true;
    this.#concurrent.begin(started, this.#exec.liveIntents);
    const progress = (this.#progress = new ReconcileProgress(started));
    if (options.acceptWorkspace && !options.dryRun) this.#deps.workspace?.accept();
    try {
      const report = await this.#deps.runReconcile(
        {
          config: this.#config,
          index: this.#index,
          client: this.#deps.client,
          logger: this.#logger,
          now: this.#now,
          queue: this.#queue,
          matcher: this.#deps.matcher,
          liveIntents: this.#exec.liveIntents,
          pushUpload: (p, early) => {
            if (early) this.#concurrent.own(p);
            return this.#jobs.upload(p);
          },
          pushDelete: (d) => this.#jobs.delete(d),
          recordError: (p, error, code) => this.#recordError(p, error, code),
          onHeld: (held) => void (this.#held = held),
          // The listing worked: the key is accepted (again).
          onApplied: () => {
            this.#handBack();
            this.#problems.keyAccepted();
            this.#resume();
          },
          onUnreadableDirs: (dirs) => this.#unreadable.found(dirs, this.#now()),
          onProgress: this.#deps.onProgress,
          progress,
          concurrent: () => this.#concurrent.facts(),
          // What the scan found changed goes by the watcher path now (not in a pass whose report someone reads).
          onScanned: (files) =>
            this.#recheck((this.#watcher && own ? scanChanges(files, this.#index.localLookup()) : null) ?? []),
        },
        options,
      );
      report.heldDeletes = mergeHeld(this.#deps.workspace?.held() ?? null, report.heldDeletes);
      if (!options.dryRun) {
        this.#lastReconcile = {
          at: new Date(started).toISOString(),
          durationMs: report.durationMs,
          ok: true,
          error: null,
          orphans: report.orphans.length,
        };
        // Copies sent with a type the policy no longer gives (an older version, a changed sync.mimeTypes).
        // Row by row (not all() at once: 100,000 full rows are 130 MB); the uploads after the read.
        const stale: string[] = [];
        for (const r of this.#index.syncedTypes()) if (typeIsStale(r, this.#config.sync.mimeTypes)) stale.push(r.path);
        for (const p of stale) void this.#jobs.upload(p, true);
      }
      return report;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.#lastReconcile = {
        at: new Date(started).toISOString(),
        durationMs: this.#now() - started,
        ok: false,
        error: message,
      };
      this.#recordError(null, `reconcile failed: ${message}`, codeOf(err));
      this.#problems.holdForKey(err, message);
      throw err;
    } finally {
      this.#concurrent.end();
      this.#progress = null;
      this.#resume();
      this.#schedule();
    }
  }

  /** The plan is in the index: the paths it left to the watcher path are checked once more (that check may predate the scan). */
  #handBack(): void {
    const left = this.#concurrent.facts()?.handled;
    this.#concurrent.end();
    if (left && left.size > 0) this.#recheck([...left]);
  }

  /** The pass is applied (or over): queued work runs, unless it waits for a key the API accepts. */
  #resume(): void {
    this.#reconciling = false;
    if (!this.#problems.keyRefused) this.#queue.start();
  }

  #reconcileInBackground(why: string): void {
    if (this.#closed) return;
    this.#logger.info({ event: 'reconcile-requested', why }, `reconciling: ${why}`);
    this.#enqueue({}, true).catch((err: unknown) =>
      this.#logger.error(
        { event: 'reconcile-failed', err: err instanceof Error ? err.message : String(err) },
        'reconcile failed',
      ),
    );
  }

  #schedule(): void {
    if (this.#closed || !this.#deps.startWatcher) return;
    this.#cancelScheduled?.();
    const minutes = this.#config.sync.reconcileIntervalMinutes;
    let delay = minutes > 0 ? minutes * 60_000 : Infinity;
    // Replace expiring copies before they expire, even between scheduled passes.
    let earliest = Infinity;
    for (const r of this.#index.iterate())
      if (r.remoteExpiresAt !== null && r.remoteExpiresAt < earliest) earliest = r.remoteExpiresAt;
    if (earliest !== Infinity) delay = Math.min(delay, Math.max(1_000, earliest - EXPIRY_MARGIN_MS - this.#now()));
    if (delay === Infinity) return;
    this.#cancelScheduled = this.#scheduler.later(delay, () => this.#reconcileInBackground('scheduled'), {
      background: true,
    });
  }

  // --- watcher path ----------------------------------------------------------------------

  /**
   * "Look at these paths again": the one entry point of the watcher path, for settled watcher
   * events, finished rescans and walks, the recheck of failed files, and the paths a reconcile
   * hands back. `rehash`: paths to read even if their stat is as indexed.
   */
  #recheck(paths: string[], { rehash = new Set<string>() }: RecheckOptions = {}): void {
    if (this.#closed) return;
    // Handled now, even while a reconcile lists and scans: the pass leaves these paths to us.
    this.#concurrent.handled(paths);
    this.#track(this.#watcherPath.handle(paths, rehash), 'handling changes failed; the next reconcile repairs it');
  }

  #track(work: Promise<void>, failure: string): void {
    this.#busy += 1;
    work
      .catch((err: unknown) =>
        this.#logger.error({ event: 'failure', err: err instanceof Error ? err.message : String(err) }, failure),
      )
      .finally(() => {
        this.#busy -= 1;
        this.#wakeIdle();
      });
  }

  #recordError(p: string | null, error: string, code: FailureCode | null): void {
    this.#lastErrors.push({ at: new Date(this.#now()).toISOString(), path: p, error, code });
    if (this.#lastErrors.length > LAST_ERRORS) this.#lastErrors.shift();
  }

  #isIdle(): boolean {
    return (
      this.#busy === 0 &&
      this.#timers.size === 0 &&
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
