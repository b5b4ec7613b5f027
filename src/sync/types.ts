/**
 * The engine contract: what the CLI and the control channel ask of a running engine. engine.ts implements
 * SyncEngine; src/daemon/ wires config, logger, lock, client, engine and control server together.
 */
import type { Logger } from 'pino';
import type { FilesApi } from '../api/types.js';
import type { Config } from '../config/types.js';
import type { IndexStore } from '../index/store.js';
import type { FileState, RemoteDelete } from '../index/types.js';
import type { IgnoreMatcher } from '../scan/ignore.js';
import type { Watcher, WatcherOptions } from '../watch/watcher.js';
import type { UploadOutcome } from './executor.js';
import type { KeyedQueue } from './queue.js';
import type { RequestGate } from './request-gate.js';

export interface ReconcileOptions {
  /** Report what would be done; change nothing (no upload, no delete, no index write). */
  dryRun?: boolean;
  /** Adopt unmanaged remote files whose name and size match a local file. */
  adopt?: boolean;
  /** Delete remote files the index does not know (combine with dryRun to list them). */
  deleteUnmanaged?: boolean;
  /** Lift the deletion-safety share limit for this pass. */
  allowMassDelete?: boolean;
}

export interface FileEntry {
  path: string;
  fileId: string | null;
  sizeBytes: number;
  sha256: string | null;
  /** `held`: the file is gone and its remote delete is held (src/sync/held-deletes.ts). */
  state: FileState | 'held';
  error: string | null;
}

export interface ReconcileReport {
  startedAt: string;
  durationMs: number;
  dryRun: boolean;
  remoteFiles: number;
  localFiles: number;
  /** Paths uploaded (or that would be, in a dry run). */
  uploaded: string[];
  /** Remote files deleted (or that would be): id, name and why. */
  deleted: { fileId: string; remoteName: string | null; path: string | null; reason: string }[];
  /** Remote files adopted instead of uploading again. */
  adopted: { fileId: string; path: string }[];
  /** Remote files no index row owns, left alone. */
  unmanaged: { fileId: string; filename: string; sizeBytes: number }[];
  skipped: { path: string; reason: string }[];
  failed: { path: string; error: string }[];
  /** Deletes withheld by the safety rules, with the message that says how to proceed. */
  heldDeletes: HeldDeletes | null;
}

export interface HeldDeletes {
  count: number;
  message: string;
  /** The watched folder is missing: every delete waits, but no path is held by name. */
  rootMissing?: true;
}

export interface StatusReport {
  running: boolean;
  pid: number | null;
  dir: string;
  stateDir: string;
  target: { kind: 'api' | 'emulator'; baseURL: string; shape: 'ga' | 'beta'; note: string | null };
  /** By state; a held path counts as `held` (present only when some are), not as its row's state. */
  counts: { pending: number; synced: number; failed: number; skipped: number; held?: number };
  queue: { depth: number; inFlight: number; pausedUntil: string | null; rateLimitPauses: number };
  watcher: { mode: 'native' | 'polling' | 'off'; warning: string | null };
  lastReconcile: { at: string; durationMs: number; ok: boolean; error: string | null } | null;
  /** Every held delete (not only the last pass's), or the last pass's hold when no path is held. */
  heldDeletes: HeldDeletes | null;
  /** `code` is the error's stable code (E_API_RATE_LIMIT, EACCES, ...) when it had one. */
  lastErrors: LastError[];
  skipped: { path: string; reason: string }[];
  /** Folders the last full scan could not list, and why: nothing under them is synced or deleted. */
  unreadableDirs: { path: string; reason: string }[];
  /** What a person asks first: is it moving, what is waiting, and when will it be done. */
  activity: Activity;
}

export interface Activity {
  /** When the newest remote copy was created (the last successful upload), or null. */
  lastUploadAt: string | null;
  /** The change that has waited longest: a pending file, or a queued remote delete. */
  oldestPending: { kind: 'upload' | 'delete'; path: string | null; since: string; waitingMs: number } | null;
  /** Files and remote deletes still to do. */
  backlog: number;
  /** Requests this daemon started in the last minute; null when no daemon runs. */
  requestsLastMinute: number | null;
  /**
   * Set while the daemon runs below its configured rate because of the API (a 429 pause, or the
   * lowered rate after one) or at its configured rate with work waiting.
   */
  rateLimited: {
    /** The rate enforced now, requests per minute. */
    currentRpm: number;
    configuredRpm: number;
    pausedUntil: string | null;
    /** When the backlog should be done at the current rate, and in how long. */
    doneBy: string | null;
    etaMs: number | null;
  } | null;
}

/** What the daemon measures of its own requests (src/daemon/sync-meter.ts), for status. */
export interface TrafficFacts {
  /** Requests started in the minute before `now`. */
  requestsLastMinute(now: number): number;
}

export interface LastError {
  at: string;
  path: string | null;
  error: string;
  code: string | null;
}

export interface SyncEngine {
  /** Opens nothing itself: the index, client and watcher are passed in. Runs the start reconcile. */
  start(): Promise<void>;
  reconcile(options?: ReconcileOptions): Promise<ReconcileReport>;
  status(): StatusReport;
  files(): FileEntry[];
  /** The synced file id of a relative path, or null (also when the path is held). */
  fileIdOf(path: string): string | null;
  /** The state `ls` shows for a path (`held` included), or null when it is not indexed. */
  stateOf(path: string): FileEntry['state'] | null;
  /** Resolves when no job is queued or running and no path is waiting to settle. */
  onIdle(): Promise<void>;
  /** Stops taking work, lets in-flight requests finish within `graceMs`, closes. Idempotent. */
  close(graceMs?: number): Promise<void>;
}

/** Progress of a one-shot sync, for the terminal progress bar. */
export interface ProgressEvent {
  phase: 'scan' | 'upload' | 'delete' | 'done';
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

/** The watcher events the engine handles; the daemon starts the watcher with them. */
export type WatchEvents = Pick<WatcherOptions, 'onSettled' | 'onDirRemoved' | 'onDirAdded' | 'onWarning' | 'onRootRestored' | 'onError'>;

export type DeletedEntry = ReconcileReport['deleted'][number];

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
  pushUpload(path: string): Promise<UploadOutcome | null>;
  pushDelete(d: RemoteDelete): Promise<DeletedEntry | null>;
  recordError(path: string | null, error: string, code: string | null): void;
  /** The plan's deletion-safety verdict, as soon as it is known. */
  onHeld(held: ReconcileReport['heldDeletes']): void;
  /** The index holds the plan: the engine may take watcher events again. */
  onApplied(): void;
  /** The folders this pass's scan could not list (recorded in the index already). */
  onUnreadableDirs?(dirs: readonly { path: string; reason: string }[]): void;
  onProgress?: ((event: ProgressEvent) => void) | undefined;
}

export type RunReconcile = (ctx: ReconcileContext, options: ReconcileOptions) => Promise<ReconcileReport>;

/**
 * What src/sync/engine.ts `createSyncEngine(deps)` needs. The daemon (src/daemon/compose-engine.ts)
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
  queue: KeyedQueue;
  matcher: IgnoreMatcher;
  /** Starts the watcher with the engine's handlers; null when not watching (one-shot sync, in-process reconcile). */
  startWatcher: ((events: WatchEvents) => Promise<Watcher>) | null;
  /** The reconcile pass (src/reconcile/); handed in so that sync/ never imports reconcile/. */
  runReconcile: RunReconcile;
  onProgress?: (event: ProgressEvent) => void;
  /** The daemon's count of its requests, for the rate in status; absent, status shows none. */
  traffic?: TrafficFacts;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
  /** Called when the engine cannot go on (the API refused the key); the daemon then stops with exit 1. */
  onFatal?: (err: Error) => void;
}
