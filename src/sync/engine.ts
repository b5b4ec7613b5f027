/**
 * The sync engine: it dispatches jobs and keeps the live state. The daemon hands in every part
 * (client, gate, queue, ignore matcher, watcher, the reconcile pass); the engine builds none.
 * The watcher is only a hint: its settled paths are checked and planned by the same pure planner
 * as reconcile (src/sync/plan.ts), scoped to those paths; reconcile (listing + scan + index) is
 * the truth and repairs every difference.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { FilesApi } from '../api/types.js';
import type { Config } from '../config/types.js';
import { FilesyncError } from '../errors.js';
import type { IndexStore } from '../index/store.js';
import type { RemoteDelete } from '../index/types.js';
import type { IgnoreMatcher } from '../scan/ignore.js';
import type { Watcher } from '../watch/watcher.js';
import { ApiProblems } from './api-problems.js';
import { typeIsStale } from './mime-policy.js';
import { ChangedBackoff, dueForRecheck, FAILED_RECHECK_TICK_MS } from './backoff.js';
import { deleteRemote, uploadPath, type ExecutorDeps, type FailureFacts, type UploadOutcome } from './executor.js';
import { EXPIRY_MARGIN_MS } from './plan.js';
import type { KeyedQueue } from './queue.js';
import type { RequestGate } from './request-gate.js';
import { readHeld } from './held-deletes.js';
import { dirDueForRecheck, formatUnreadableDirs, UNREADABLE_DIRS_META, type UnreadableDirCheck } from './unreadable-dirs.js';
import { buildActivity, buildStatus, countsWithHeld, heldStatus, readUnreadableDirs, toEntry, unreadableDirEntry } from './report.js';
import { RetryTimers } from './retry-timers.js';
import { SettledPaths } from './settled-paths.js';
import type { DeletedEntry, EngineDeps, FileEntry, LastError, ReconcileOptions, ReconcileReport, StatusReport, SyncEngine, WatchEvents } from './types.js';

const LAST_ERRORS = 20;
const EMULATOR_NOTE = 'built-in emulator: nothing leaves this machine; set ANTHROPIC_API_KEY to sync to Claude';

export function createSyncEngine(deps: EngineDeps): SyncEngine {
  return new Engine(deps);
}

class Engine implements SyncEngine {
  readonly #deps: EngineDeps;
  readonly #config: Config;
  readonly #index: IndexStore;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #gate: RequestGate;
  readonly #queue: KeyedQueue;
  readonly #client: FilesApi;
  readonly #matcher: IgnoreMatcher;
  readonly #exec: ExecutorDeps;
  #watcher: Watcher | null = null;
  #reconcileChain: Promise<unknown> = Promise.resolve();
  #reconciling = false;
  /** Watcher paths held during a reconcile, each with whether it must be read again (rehash). */
  #deferred = new Map<string, boolean>();
  readonly #changedBackoff = new ChangedBackoff();
  #settling = 0;
  #idleWaiters: (() => void)[] = [];
  readonly #timers = new RetryTimers(() => this.#wakeIdle());
  #scheduleTimer: NodeJS.Timeout | null = null;
  #recheckTimer: NodeJS.Timeout | null = null;
  #lastErrors: LastError[] = [];
  #lastReconcile: StatusReport['lastReconcile'] = null;
  #held: StatusReport['heldDeletes'] = null;
  /** Folders the last full scan could not list, looked at again on the recheck tick. */
  #unreadableDirs = new Map<string, UnreadableDirCheck>();
  readonly #settled: SettledPaths;
  #closed: Promise<void> | null = null;
  #started = false;
  readonly #problems: ApiProblems;
  /** When a job last succeeded: a key failing while others succeed waits, it does not fail. */
  #lastSuccessAt = 0;

  constructor(deps: EngineDeps) {
    this.#deps = deps;
    this.#config = deps.config;
    this.#index = deps.index;
    this.#logger = deps.logger;
    this.#now = deps.now ?? Date.now;
    this.#gate = deps.gate;
    this.#queue = deps.queue;
    this.#client = deps.client;
    this.#matcher = deps.matcher;
    this.#exec = {
      root: this.#config.dir,
      index: this.#index,
      client: this.#client,
      logger: this.#logger,
      now: this.#now,
      expiresInSeconds: this.#config.sync.expiresInSeconds,
      maxFileBytes: this.#config.sync.maxFileBytes,
      ownerTag: this.#config.sync.ownerTag,
      ...(this.#config.sync.mimeTypes ? { mimeTypes: this.#config.sync.mimeTypes } : {}),
      liveIntents: new Set(),
      onDeleteQueued: (d) => void this.#pushDelete(d),
    };
    const retry = () => this.#reconcileInBackground('trying the refused key again');
    const waitsForKey = deps.startWatcher !== null;
    this.#problems = new ApiProblems({ logger: this.#logger, now: this.#now, retry, pause: () => this.#queue.pause(), waitsForKey, keyRetryMs: deps.keyRetryMs });
    this.#settled = new SettledPaths({
      config: this.#config,
      index: this.#index,
      logger: this.#logger,
      matcher: this.#matcher,
      now: this.#now,
      pushUpload: (p) => this.#pushUpload(p),
      pushDelete: (d) => this.#pushDelete(d),
      recordError: (p, error, code) => this.#recordError(p, error, code),
      onHeld: (held) => void (this.#held = held),
      later: (key, ms, run) => this.#timers.later(key, ms, run),
      track: (work, failure) => this.#track(work, failure),
      settle: (paths) => this.#onSettled(paths),
      quiet: () => (this.#watcher?.pendingCount ?? 0) === 0 && !this.#timers.has('dir:'),
    });
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    if (this.#deps.startWatcher) this.#watcher = await this.#deps.startWatcher(this.#watchEvents());
    if (this.#watcher) {
      this.#recheckTimer = setInterval(() => this.#recheckFailed(), FAILED_RECHECK_TICK_MS);
      this.#recheckTimer.unref();
    }
    await this.reconcile({});
    this.#schedule();
  }

  #watchEvents(): WatchEvents {
    return {
      onSettled: (paths, rehash) => this.#onSettled(paths, rehash),
      onWarning: (message, code) => {
        this.#logger.warn({ event: 'watcher-warning', code }, message);
        this.#recordError(null, message, code);
        // Events between the native watcher's end and polling's start may be lost.
        if (code === 'E_WATCH_LIMIT') this.#reconcileInBackground('watch limit reached');
      },
      // Files changed while the folder was gone were not seen: look at everything again.
      onRootRestored: () => this.#reconcileInBackground('the watched folder is back'),
      onDirAdded: (relDir) => this.#timers.later(`dir:${relDir}`, this.#config.watch.settleMs * 2, () => void this.#settled.walkNewDir(relDir)),
      onDirRemoved: (relDir) => this.#onSettled(this.#index.all().filter((r) => r.path.startsWith(relDir + '/')).map((r) => r.path)),
      onError: (err) => this.#logger.error({ event: 'watcher-error', err: err.message }, 'watcher error; the next reconcile repairs anything missed'),
    };
  }

  /** Failed files whose backoff has passed are looked at again (src/sync/backoff.ts). */
  #recheckFailed(): void {
    if (this.#closed || this.#reconciling || this.#problems.keyRefused) return;
    const now = this.#now();
    const due = this.#index.byState('failed', 1000).filter((r) => dueForRecheck(r, now)).map((r) => r.path);
    if (due.length > 0) this.#onSettled(due);
    const dirs = [...this.#unreadableDirs.values()].filter((d) => dirDueForRecheck(d, now));
    if (dirs.length > 0) this.#track(this.#recheckDirs(dirs), 'rechecking unreadable folders failed; the next reconcile repairs it');
  }

  /**
   * An unreadable folder that can be listed now is watched again and checked as a new folder:
   * its files are uploaded and the rows under it whose file is gone are planned as removals.
   */
  async #recheckDirs(dirs: UnreadableDirCheck[]): Promise<void> {
    for (const d of dirs) {
      const abs = path.join(this.#config.dir, ...d.path.split('/').filter(Boolean));
      const error = await readdir(abs).then(
        () => null,
        (err: unknown) => err as NodeJS.ErrnoException,
      );
      if (error && error.code !== 'ENOENT') {
        this.#unreadableDirs.set(d.path, { ...d, checkedAt: this.#now(), attempts: d.attempts + 1 });
        continue;
      }
      this.#unreadableDirs.delete(d.path);
      this.#index.setMeta(UNREADABLE_DIRS_META, formatUnreadableDirs([...this.#unreadableDirs.values()]));
      if (error) continue; // gone: the watcher reports its removal
      this.#logger.info({ event: 'readable-dir', path: d.path }, 'folder readable again; scanning and watching it');
      if (d.path === '') {
        this.#reconcileInBackground('the watched folder is readable again');
        continue;
      }
      this.#watcher?.rewatch(d.path);
      this.#onSettled(this.#index.all().filter((r) => r.path.startsWith(d.path + '/')).map((r) => r.path));
      await this.#settled.walkNewDir(d.path);
    }
  }

  reconcile(options: ReconcileOptions = {}): Promise<ReconcileReport> {
    const run = this.#reconcileChain.then(() => this.#runReconcile(options));
    this.#reconcileChain = run.catch(() => undefined);
    return run;
  }

  status(): StatusReport {
    const held = readHeld(this.#index);
    const heldRows = [...held].flatMap((p) => this.#index.get(p) ?? []);
    const pausedUntil = this.#gate.pausedUntil;
    const now = this.#now();
    const counts = this.#index.countByState();
    const deletes = this.#index.deleteBacklog();
    return buildStatus({
      running: true,
      pid: process.pid,
      dir: this.#config.dir,
      stateDir: this.#config.stateDir,
      target: {
        kind: this.#config.api.target,
        baseURL: this.#client.baseURL,
        shape: this.#client.shape,
        note: this.#config.api.target === 'emulator' ? EMULATOR_NOTE : null,
      },
      counts: countsWithHeld(counts, heldRows),
      queue: {
        depth: this.#queue.size,
        inFlight: this.#queue.inFlight,
        pausedUntil: pausedUntil !== null ? new Date(pausedUntil).toISOString() : null,
        rateLimitPauses: this.#gate.rateLimitPauses,
      },
      watcher: { mode: this.#watcher ? this.#watcher.mode : 'off', warning: this.#watcher?.warning ?? null },
      lastReconcile: this.#lastReconcile,
      heldDeletes: mergeHeld(this.#deps.workspace?.held() ?? null, heldStatus(held.size, this.#held)),
      lastErrors: [...this.#lastErrors],
      apiProblem: this.#problems.current(),
      skippedRows: this.#index.byState('skipped', 100),
      unreadableDirs: readUnreadableDirs(this.#index),
      activity: buildActivity({
        now,
        lastUploadAt: this.#index.lastUploadAt(),
        oldestPendingRow: this.#index.oldestPending(),
        oldestDelete: deletes.oldest,
        backlog: counts.pending + deletes.count,
        traffic: this.#deps.traffic
          ? {
              requestsLastMinute: this.#deps.traffic.requestsLastMinute(now),
              configuredRpm: this.#gate.requestsPerMinute,
              effectiveRpm: this.#gate.effectiveRpm,
              pausedUntil,
            }
          : null,
      }),
      noteRows: this.#index.withMimeNote(100),
    });
  }

  files(): FileEntry[] {
    const held = readHeld(this.#index);
    return [...this.#index.all().map((r) => toEntry(r, held)), ...readUnreadableDirs(this.#index).map(unreadableDirEntry)];
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
      if (this.#scheduleTimer) clearTimeout(this.#scheduleTimer);
      if (this.#recheckTimer) clearInterval(this.#recheckTimer);
      this.#problems.close();
      this.#settled.close();
      this.#timers.close();
      await this.#watcher?.close();
      await this.#queue.close(graceMs);
      await this.#client.close();
      this.#wakeIdle();
    })();
    return this.#closed;
  }

  // --- reconcile (the pass itself is src/reconcile/run-reconcile.ts) -----------------------

  async #runReconcile(options: ReconcileOptions): Promise<ReconcileReport> {
    const started = this.#now();
    this.#reconciling = true;
    if (options.acceptWorkspace && !options.dryRun) this.#deps.workspace?.accept();
    try {
      const report = await this.#deps.runReconcile(
        {
          config: this.#config,
          index: this.#index,
          client: this.#client,
          logger: this.#logger,
          now: this.#now,
          queue: this.#queue,
          matcher: this.#matcher,
          liveIntents: this.#exec.liveIntents,
          pushUpload: (p) => this.#pushUpload(p),
          pushDelete: (d) => this.#pushDelete(d),
          recordError: (p, error, code) => this.#recordError(p, error, code),
          onHeld: (held) => void (this.#held = held),
          // The listing worked: the key is accepted (again).
          onApplied: () => (this.#problems.keyAccepted(), this.#resume()),
          onUnreadableDirs: (dirs) => {
            const now = this.#now();
            const before = this.#unreadableDirs;
            this.#unreadableDirs = new Map(dirs.map((d) => [d.path, { ...d, checkedAt: now, attempts: (before.get(d.path)?.attempts ?? 0) + 1 }]));
          },
          onProgress: this.#deps.onProgress,
        },
        options,
      );
      report.heldDeletes = mergeHeld(this.#deps.workspace?.held() ?? null, report.heldDeletes);
      if (!options.dryRun) {
        this.#lastReconcile = { at: new Date(started).toISOString(), durationMs: report.durationMs, ok: true, error: null, orphans: report.orphans.length };
        // Copies sent with a type the policy no longer gives (an older version, a changed sync.mimeTypes).
        for (const r of this.#index.all()) if (r.state === 'synced' && typeIsStale(r, this.#config.sync.mimeTypes)) void this.#pushUpload(r.path, true);
      }
      return report;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.#lastReconcile = { at: new Date(started).toISOString(), durationMs: this.#now() - started, ok: false, error: message };
      this.#recordError(null, `reconcile failed: ${message}`, codeOf(err));
      this.#problems.holdForKey(err, message);
      throw err;
    } finally {
      this.#resume();
      this.#schedule();
    }
  }

  /** Jobs run again and the watcher paths held during a reconcile are handled. */
  #resume(): void {
    this.#reconciling = false;
    // Queued work waits for a key the API accepts.
    if (!this.#problems.keyRefused) this.#queue.start();
    if (this.#deferred.size === 0) return;
    const deferred = [...this.#deferred];
    this.#deferred.clear();
    this.#onSettled(deferred.map(([p]) => p), new Set(deferred.filter(([, r]) => r).map(([p]) => p)));
  }

  #reconcileInBackground(why: string): void {
    if (this.#closed) return;
    this.#logger.info({ event: 'reconcile-requested', why }, `reconciling: ${why}`);
    this.reconcile({}).catch((err: unknown) =>
      this.#logger.error({ event: 'reconcile-failed', err: err instanceof Error ? err.message : String(err) }, 'reconcile failed'),
    );
  }

  #schedule(): void {
    if (this.#closed || !this.#deps.startWatcher) return;
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

  #onSettled(paths: string[], rehash: ReadonlySet<string> = new Set()): void {
    if (this.#closed) return;
    if (this.#reconciling) {
      for (const p of paths) this.#deferred.set(p, rehash.has(p) || this.#deferred.get(p) === true);
      return;
    }
    this.#track(this.#settled.handle(paths, rehash), 'handling changes failed; the next reconcile repairs it');
  }

  #track(work: Promise<void>, failure: string): void {
    this.#settling += 1;
    work
      .catch((err: unknown) => this.#logger.error({ event: 'failure', err: err instanceof Error ? err.message : String(err) }, failure))
      .finally(() => {
        this.#settling -= 1;
        this.#wakeIdle();
      });
  }

  // --- jobs --------------------------------------------------------------------------------

  #pushUpload(rel: string, retype = false): Promise<UploadOutcome | null> {
    let outcome: UploadOutcome | null = null;
    return this.#queue
      .push(`p:${rel}`, async (signal) => {
        outcome = await uploadPath(this.#exec, rel, signal, retype);
        this.#afterUpload(rel, outcome);
      })
      .then(
        () => outcome,
        (err: unknown) => {
          // Not an API failure (those are outcomes): the index could not be written (a full or
          // read-only disk) or the queue closed. Nothing was sent without its intent.
          const message = err instanceof Error ? err.message : String(err);
          if (codeOf(err) !== 'E_QUEUE_CLOSED') {
            this.#recordError(rel, message, codeOf(err));
            this.#logger.error({ event: 'failure', path: rel, err: message }, 'upload job failed');
          }
          return null;
        },
      );
  }

  #afterUpload(rel: string, outcome: UploadOutcome): void {
    switch (outcome.kind) {
      case 'uploaded': {
        this.#lastSuccessAt = this.#now();
        this.#timers.clear(`p:${rel}`);
        this.#changedBackoff.settled(rel);
        this.#problems.uploaded();
        if (outcome.superseded) void this.#pushDelete(outcome.superseded);
        // The file changed (even back to an older content) while this version uploaded and the
        // settled check saw nothing to do then: the row is pending again, so upload it again.
        const row = this.#index.get(rel);
        if (row && row.state === 'pending') void this.#pushUpload(rel);
        break;
      }
      case 'changed':
        void this.#pushDelete(outcome.discarded);
        // Read again once settled (its stat may be as indexed: `cp -p`), backing off while it keeps changing.
        this.#timers.later(`p:${rel}`, this.#changedBackoff.next(rel, this.#config.watch.settleMs, this.#now()), () => this.#onSettled([rel], new Set([rel])));
        break;
      case 'failed':
        this.#recordError(rel, outcome.error, outcome.code);
        this.#problems.uploadFailed(outcome.apiErrorCode, outcome.error);
        if (outcome.fatal) this.#fatal(outcome.error);
        else if (outcome.retryable && !this.#waitAndRetry(`p:${rel}`, outcome, () => void this.#pushUpload(rel))) {
          // Nothing answers any more: an outage, not a faulty server. The recheck of failed
          // files (and the reconcile) pick it up again.
          this.#index.markFailed(rel, outcome.error);
          this.#logger.error({ event: 'failure', path: rel, status: outcome.status, err: outcome.error }, 'upload failed');
        }
        break;
      case 'skipped': // the executor logged it
      case 'nothing':
        break;
    }
  }

  #pushDelete(d: RemoteDelete): Promise<DeletedEntry | null> {
    const key = `d:${d.fileId}`;
    let result: DeletedEntry | null = null;
    return this.#queue
      .push(key, async (signal) => {
        // Another workspace than the index's: the delete stays queued in the index until the
        // user accepts the workspace (reconcile --accept-workspace), then a reconcile runs it.
        if (this.#deps.workspace?.held()) return;
        const outcome = await deleteRemote(this.#exec, d.fileId, signal);
        if (outcome.kind === 'deleted' || outcome.kind === 'gone') {
          this.#lastSuccessAt = this.#now();
          this.#timers.clear(key);
          result = { fileId: d.fileId, remoteName: d.remoteName, path: d.path, reason: d.reason };
        } else if (outcome.kind === 'failed') {
          this.#recordError(d.path, `delete ${d.fileId}: ${outcome.error}`, outcome.code);
          if (outcome.fatal) this.#fatal(outcome.error);
          else if (outcome.retryable && !this.#waitAndRetry(key, outcome, () => void this.#pushDelete(d))) {
            this.#logger.warn({ event: 'give-up', key }, 'giving up until the next change or reconcile');
          }
        }
      })
      .then(
        () => result,
        () => null,
      );
  }

  /**
   * A job that failed transiently goes again as soon as the retry policy allows (src/sync/backoff.ts),
   * while other keys keep flowing. A 429 that ended a job still pauses every request: the client
   * reports a 429 to the gate only when it retries it itself. False when the key should fail.
   */
  #waitAndRetry(key: string, failure: FailureFacts, run: () => void): boolean {
    const delayMs = this.#timers.wait(key, this.#now(), this.#lastSuccessAt, failure.retryAfterMs, run);
    if (delayMs === null) return false;
    if (failure.status === 429) {
      this.#gate.onRetryWait({ status: 429, waitMs: delayMs, fromServer: failure.retryAfterMs !== null, attempt: 0, requestId: null, method: '', path: key });
    }
    return true;
  }

  #fatal(message: string): void {
    // A watching engine waits out a refused key (src/sync/api-problems.ts); a one-shot run stops.
    if (this.#problems.holdForKey({ code: 'E_API_AUTH' }, message)) return;
    this.#queue.pause();
    const text = `the API refused the key (${message}); fix ANTHROPIC_API_KEY (or the key file) and restart`;
    this.#logger.error({ event: 'fatal' }, text);
    this.#deps.onFatal?.(new FilesyncError('E_API_AUTH', text));
  }

  #recordError(p: string | null, error: string, code: string | null): void {
    this.#lastErrors.push({ at: new Date(this.#now()).toISOString(), path: p, error, code });
    if (this.#lastErrors.length > LAST_ERRORS) this.#lastErrors.shift();
  }

  #isIdle(): boolean {
    return (
      this.#settling === 0 &&
      this.#deferred.size === 0 &&
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

function codeOf(err: unknown): string | null {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : null;
}

/** Two reasons to hold deletes, as one: the workspace's first (it holds every delete). */
function mergeHeld(
  first: { count: number; message: string } | null,
  second: { count: number; message: string } | null,
): { count: number; message: string } | null {
  if (!first) return second;
  if (!second) return first;
  return { count: first.count + second.count, message: `${first.message} ${second.message}` };
}
