/**
 * How the engine is wired: what the daemon (the composition root, src/daemon/compose-engine.ts)
 * hands the engine, and what a reconcile pass gets from it. Not the CLI's business: the CLI sees
 * ./contract.ts.
 */
import type { Logger } from 'pino';
import type { FilesApi } from '../api/types.js';
import type { Config } from '../config/types.js';
import type { IndexStore } from '../store/store.js';
import type { LocalObservation, RemoteDelete } from '../store/types.js';
import type { IgnoreMatcher } from '../scan/ignore.js';
import type { Watcher, WatcherOptions } from '../watch/watcher.js';
import type { UploadOutcome } from '../jobs/executor.js';
import type { DeletedEntry } from '../jobs/job-outcomes.js';
import type { ConcurrentChanges } from '../plan/plan-concurrent.js';
import type { KeyedQueue } from '../jobs/queue.js';
import type { RequestGate } from '../rate/request-gate.js';
import type { Scheduler } from '../clock/scheduler.js';
import type { ApiProblems } from '../jobs/api-problems.js';
import type { ExecutorDeps } from '../jobs/executor.js';
import type { JobRunner } from '../jobs/job-outcomes.js';
import type { RetryTimers } from '../jobs/retry-timers.js';
import type { ConcurrentRecorder } from './concurrent-changes.js';
import type { EngineLink } from './engine-link.js';
import type { LocalRescan } from './local-rescan.js';
import type { UnreadableDirWatch } from './unreadable-dir-watch.js';
import type { WatcherPath } from './watcher-path.js';
import type { ProgressEvent, ReconcileOptions, ReconcileReport, TrafficFacts } from './contract.js';
import type { FailureCode } from '../errors.js';

/** How a reconcile pass tells the engine how far it got (src/engine/reconcile-progress.ts keeps it). */
export interface ReconcileProgressSink {
  /** Files read from the listing so far. */
  listed(files: number): void;
  listingDone(): void;
  /** Files the scan has seen so far. */
  scanned(files: number): void;
  scanDone(): void;
  planning(): void;
  applying(uploads: number, deletes: number, uploadsDone?: number): void;
  uploadDone(): void;
  deleteDone(): void;
}

/** The watcher events the engine handles; the daemon starts the watcher with them. */
export type WatchEvents = Pick<
  WatcherOptions,
  | 'onSettled'
  | 'onDirRemoved'
  | 'onDirAdded'
  | 'onDirEntryEvent'
  | 'onCoalesced'
  | 'onWarning'
  | 'onRootRestored'
  | 'onError'
>;

/**
 * What a reconcile pass (src/reconcile/run-reconcile.ts) gets from the engine: the parts, and the
 * engine's own job pushes, so the pass's jobs share the engine's queue, retries and errors.
 */
export interface ReconcileContext {
  readonly config: Config;
  readonly index: IndexStore;
  readonly client: FilesApi;
  readonly logger: Logger;
  readonly now: () => number;
  readonly queue: KeyedQueue;
  readonly matcher: IgnoreMatcher;
  /** Intents of uploads running right now: the planner leaves them alone. */
  readonly liveIntents: ReadonlySet<number>;
  /**
   * `early`: the pass decided this path in a batch while its walk runs (src/reconcile/pipeline.ts):
   * the upload is the pass's own, not a change the watcher path handled meanwhile.
   */
  pushUpload(path: string, early?: boolean): Promise<UploadOutcome | null>;
  pushDelete(d: RemoteDelete): Promise<DeletedEntry | null>;
  recordError(path: string | null, error: string, code: FailureCode | null): void;
  /** The plan's deletion-safety verdict, as soon as it is known. */
  onHeld(held: ReconcileReport['heldDeletes']): void;
  /** The index holds the plan: the engine may take watcher events again. */
  onApplied(): void;
  /** The folders this pass's scan could not list (recorded in the index already). */
  onUnreadableDirs?(dirs: readonly { path: string; reason: string }[]): void;
  onProgress?: ((event: ProgressEvent) => void) | undefined;
  /**
   * The scan is done, the listing maybe not: the engine may hand the files it found changed to the
   * watcher path now (src/plan/plan-concurrent.ts scanChanges). Not called for a dry run or a
   * fresh index (whose files may have copies to adopt).
   */
  onScanned?(files: readonly LocalObservation[]): void;
  /** Where the pass reports its phase for `status`. */
  readonly progress?: ReconcileProgressSink;
  /**
   * What the watcher path and the jobs did since the pass began (src/plan/plan-concurrent.ts),
   * read when the pass plans; absent or undefined: nothing ran meanwhile.
   */
  concurrent?(): ConcurrentChanges | undefined;
}

export type RunReconcile = (ctx: ReconcileContext, options: ReconcileOptions) => Promise<ReconcileReport>;

/** What the engine asks of src/jobs/workspace-guard.ts's WorkspaceGuard. */
export interface WorkspaceCheck {
  /** Why deletes are held (another workspace than the index's), or null. */
  held(): { count: number; message: string } | null;
  /** The workspace the API answers for (now or next) becomes the index's. */
  accept(): void;
}

/**
 * What src/engine/live-engine.ts `createSyncEngine(deps)` needs. The daemon (src/daemon/compose-engine.ts)
 * builds every part; the engine constructs none of them.
 */
export interface EngineDeps {
  config: Config;
  index: IndexStore;
  logger: Logger;
  /** The Files client, built with the gate's hooks (`beforeRequest`, `onRetryWait`). */
  client: FilesApi;
  /** Decides every wait: the rate and the pause after a 429. */
  gate: RequestGate;
  /** The workspace the client's answers name; holds deletes when it changes. Absent: not checked. */
  workspace?: WorkspaceCheck;
  queue: KeyedQueue;
  matcher: IgnoreMatcher;
  /** Starts the watcher with the engine's handlers; null when not watching (one-shot sync, in-process reconcile). */
  startWatcher: ((events: WatchEvents) => Promise<Watcher>) | null;
  /** The reconcile pass (src/reconcile/); handed in so that sync/ never imports reconcile/. */
  runReconcile: RunReconcile;
  onProgress?: (event: ProgressEvent) => void;
  /** The daemon's count of its requests, for the rate in status; absent, status shows none. */
  traffic?: TrafficFacts;
  /** Clock, for tests. @default Date.now (or the scheduler's clock) */
  now?: () => number;
  /** Every timer of the engine (retries, removal gathering, rescans, rechecks). @default the system's */
  scheduler?: Scheduler;
  /**
   * Called when a one-shot engine (no watcher) cannot go on: the API refused the key. A watching
   * engine instead pauses and tries again (src/jobs/api-problems.ts).
   */
  onFatal?: (err: Error) => void;
  /** How long a watching engine waits before trying a refused key again. @default 5 minutes */
  keyRetryMs?: number;
}

/**
 * The engine's collaborators, built by the composition root (src/daemon/compose-engine.ts) and
 * handed in: the engine keeps the live state and routes work between them.
 */
export interface EngineParts {
  /** Every timer: the engine's own (the scheduled reconcile, the recheck tick) and the parts'. */
  readonly scheduler: Scheduler;
  /** What the executor needs; its liveIntents are the uploads running now. */
  readonly exec: ExecutorDeps;
  readonly timers: RetryTimers;
  readonly problems: ApiProblems;
  readonly jobs: JobRunner;
  readonly watcherPath: WatcherPath;
  readonly unreadable: UnreadableDirWatch;
  readonly rescan: LocalRescan;
  /** What the watcher path and the jobs do while a pass runs, for its planner. */
  readonly concurrent: ConcurrentRecorder;
  /** Where the parts' calls back into the engine go; the engine binds it. */
  readonly link: EngineLink;
  /** What the engine does with each watcher event (src/engine/watch-events.ts). */
  readonly watchEvents: WatchEvents;
}
