/**
 * The composition of the sync engine: the one place that builds its parts. The request gate
 * decides every wait (the rate, and the pause after a 429); the client asks it before each
 * attempt, tells it of every answer (it learns the server's limit from them) and of each retry
 * wait; the queue asks it before each job. The watcher is
 * started (and chokidar loaded) only when watching.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { AttemptInfo, RetryWaitInfo } from '../api/types.js';
import type { Config } from '../config/types.js';
import type { IndexStore } from '../store/store.js';
import { runReconcile } from '../reconcile/run-reconcile.js';
import { createClientFor } from './create-client.js';
import { ownFilesOf, targetKey, watchSnapshotFile } from '../state-dir/state-files.js';
import { meteredClient, meteredReconcile, type SyncMeter } from './sync-meter.js';
import { createIgnoreMatcher } from '../scan/ignore.js';
import { locateOwnFiles } from '../scan/own-files.js';
import { createSyncEngine } from '../engine/live-engine.js';
import { KeyedQueue } from '../jobs/queue.js';
import { RequestGate } from '../rate/request-gate.js';
import { WorkspaceGuard } from '../jobs/workspace-guard.js';
import type { ProgressEvent, SyncEngine } from '../engine/contract.js';
import type { EngineDeps, EngineParts } from '../engine/wiring.js';
import { type Scheduler, systemScheduler } from '../clock/scheduler.js';
import { ApiProblems } from '../jobs/api-problems.js';
import { RealRoot, type ExecutorDeps } from '../jobs/executor.js';
import { JobRunner } from '../jobs/job-outcomes.js';
import { RetryTimers } from '../jobs/retry-timers.js';
import { FsSpeed } from '../scan/fs-speed.js';
import { ConcurrentRecorder } from '../engine/concurrent-changes.js';
import { EngineLink } from '../engine/engine-link.js';
import { LocalRescan, rescanAndRecheck } from '../engine/local-rescan.js';
import { UnreadableDirWatch } from '../engine/unreadable-dir-watch.js';
import { WatcherPath } from '../engine/watcher-path.js';
import { engineWatchEvents } from '../engine/watch-events.js';

export interface ComposeOptions {
  /** Live watching (the daemon) or not (one-shot sync, in-process reconcile). */
  watch: boolean;
  /** Which library watches natively (tests; the daemon keeps the watcher's default, parcel). */
  nativeBackend?: 'parcel' | 'chokidar';
  onProgress?: (event: ProgressEvent) => void;
  onFatal?: (err: Error) => void;
  /** Counts requests, uploads, deletes and reconciles for status and the metrics endpoint. */
  meter?: SyncMeter;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
  /** Every timer of the engine and the watcher, for tests (virtual time). @default the system's */
  scheduler?: Scheduler;
}

/** Jobs the queue runs per request in flight: one on the wire, one preparing. */
const JOBS_PER_REQUEST_SLOT = 2;

export function composeEngine(config: Config, index: IndexStore, logger: Logger, options: ComposeOptions): SyncEngine {
  const gate = new RequestGate({ requestsPerMinute: config.queue.requestsPerMinute });
  // queue.concurrency bounds the requests in flight (the client's slots, below); the queue runs
  // twice as many jobs, so that a job checks its file and makes its intent durable (an fsync)
  // while others are on the wire, not in a request's place.
  const queue = new KeyedQueue({ concurrency: config.queue.concurrency * JOBS_PER_REQUEST_SLOT, gate });
  const workspace = new WorkspaceGuard(index, logger);
  const meter = options.meter;
  const now = options.now ?? Date.now;
  const rawClient = createClientFor(config, {
    maxInFlight: config.queue.concurrency,
    onWorkspaceId: (id) => workspace.observe(id),
    beforeRequest: meter
      ? async (signal) => {
          await gate.acquire(signal);
          meter.requestStarted(now());
        }
      : (signal) => gate.acquire(signal),
    ...(meter ? { onAttempt: (info: AttemptInfo) => meter.attempt(info) } : {}),
    onResponse: (info) => {
      // A 429's pause starts here (the gate reads its retry-after); the meter counts it once.
      const pausedBefore = gate.pausedUntil;
      gate.onResponse(info);
      if (info.status === 429) meter?.paused(pausedBefore, gate.pausedUntil, now());
    },
    onRetryWait: (info: RetryWaitInfo) => {
      const pausedBefore = gate.pausedUntil;
      gate.onRetryWait(info);
      if (info.status === 429) {
        meter?.paused(pausedBefore, gate.pausedUntil, now());
        logger.warn(
          { event: 'rate-limited', waitMs: Math.round(info.waitMs), requestId: info.requestId },
          'the API asked us to slow down; every request waits',
        );
      }
    },
  });
  const matcher = createIgnoreMatcher({
    ignore: [...config.watch.ignore],
    include: [...config.watch.include],
    own: locateOwnFiles(config.dir, ownFilesOf(config)),
  });
  const startWatcher: EngineDeps['startWatcher'] = options.watch
    ? async (events) => {
        // The watchers are loaded only by the daemon: one-shot sync and reconcile never watch.
        const { createWatcher } = await import('../watch/watcher.js');
        const watcher = createWatcher({
          root: config.dir,
          ignored: (rel, isDir) => matcher.check(rel, isDir) !== null,
          followSymlinks: config.watch.followSymlinks,
          usePolling: config.watch.usePolling,
          ...(options.nativeBackend ? { nativeBackend: options.nativeBackend } : {}),
          pollIntervalMs: config.watch.pollIntervalMs,
          settleMs: config.watch.settleMs,
          ...(options.scheduler ? { scheduler: options.scheduler } : {}),
          snapshotPath: watchSnapshotFile(config.stateDir, targetKey(config.api), path.resolve(config.dir)),
          ...events,
        });
        await watcher.ready();
        return watcher;
      }
    : null;
  const client = meter ? meteredClient(rawClient, meter) : rawClient;
  const deps: EngineDeps = {
    config,
    index,
    logger,
    client,
    gate,
    workspace,
    queue,
    matcher,
    startWatcher,
    runReconcile: meter ? meteredReconcile(runReconcile, meter, now) : runReconcile,
    ...(meter ? { traffic: meter } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.onFatal ? { onFatal: options.onFatal } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.scheduler ? { scheduler: options.scheduler } : {}),
  };
  return createSyncEngine(deps, composeEngineParts(deps));
}

/**
 * The engine's collaborators, wired to each other here and to the engine through one EngineLink
 * (what they may ask of the engine: recheck paths, record an error, track work, reconcile).
 */
export function composeEngineParts(deps: EngineDeps): EngineParts {
  const { config, index, logger, queue, matcher } = deps;
  const scheduler = deps.scheduler ?? systemScheduler(deps.now);
  const now = deps.now ?? scheduler.now;
  const link = new EngineLink();
  const concurrent = new ConcurrentRecorder();
  const timers = new RetryTimers(link.wakeIdle, scheduler);
  const exec: ExecutorDeps = {
    root: config.dir,
    realRoot: new RealRoot(config.dir),
    fsSpeed: new FsSpeed(),
    index,
    client: deps.client,
    logger,
    now,
    expiresInSeconds: config.sync.expiresInSeconds,
    maxFileBytes: config.sync.maxFileBytes,
    ownerTag: config.sync.ownerTag,
    ...(config.sync.mimeTypes ? { mimeTypes: config.sync.mimeTypes } : {}),
    liveIntents: new Set(),
    onDeleteQueued: (d) => void jobs.delete(d),
  };
  const problems = new ApiProblems({
    logger,
    now,
    retry: () => link.reconcileInBackground('trying the refused key again'),
    pause: () => queue.pause(),
    waitsForKey: deps.startWatcher !== null,
    keyRetryMs: deps.keyRetryMs,
    scheduler,
  });
  const jobs = new JobRunner({
    exec,
    queue,
    timers,
    problems,
    logger,
    now,
    settleMs: config.watch.settleMs,
    deletesHeld: () => deps.workspace?.held() != null,
    recordError: link.recordError,
    recheck: (paths, rehash) => link.recheck(paths, { rehash }),
    onFatal: (err) => deps.onFatal?.(err),
    observer: concurrent,
  });
  const watcherPath: WatcherPath = new WatcherPath({
    config,
    index,
    logger,
    matcher,
    now,
    pushUpload: (p) => jobs.upload(p),
    pushDelete: (d) => jobs.delete(d),
    recordError: link.recordError,
    onHeld: link.held,
    later: (key, ms, run) => timers.later(key, ms, run),
    track: link.track,
    recheck: link.recheck,
    // New folders wait (dir:) to be watched again and walked: their files are yet to be seen.
    quiet: () => link.watcherQuiet() && !timers.has('dir:'),
    unreadable: { add: (d) => unreadable.add(d), covers: (p) => unreadable.covers(p) },
    planning: (paths) => concurrent.handled(paths),
  });
  const unreadable = new UnreadableDirWatch({
    root: config.dir,
    index,
    logger,
    now,
    reconcile: link.reconcileInBackground,
    rewatch: link.rewatch,
    recheck: link.recheck,
    walkNewDir: (dir) => watcherPath.walkNewDir(dir),
    recordError: link.recordError,
  });
  const rescan = new LocalRescan({
    run: () =>
      rescanAndRecheck(
        {
          dir: config.dir,
          matcher,
          followSymlinks: config.watch.followSymlinks,
          maxFileBytes: config.sync.maxFileBytes,
          index,
        },
        link,
      ),
    later: (key, ms, run) => timers.later(key, ms, run),
    track: (work) => link.track(work, 'looking at the folder again failed; the next reconcile repairs it'),
    now,
    settleMs: config.watch.settleMs,
  });
  const watchEvents = engineWatchEvents({
    config,
    index,
    logger,
    timers,
    watcherPath,
    unreadable,
    rescan,
    engine: link,
  });
  return { scheduler, exec, timers, problems, jobs, watcherPath, unreadable, rescan, concurrent, link, watchEvents };
}
