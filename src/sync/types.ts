/**
 * The engine contract: what the CLI and the control channel ask of a running engine. engine.ts implements
 * SyncEngine; src/daemon/ wires config, logger, lock, client, engine and control server together.
 */
import type { FileState } from '../index/types.js';

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
  state: FileState;
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
  heldDeletes: { count: number; message: string } | null;
}

export interface StatusReport {
  running: boolean;
  pid: number | null;
  dir: string;
  stateDir: string;
  target: { kind: 'api' | 'emulator'; baseURL: string; shape: 'ga' | 'beta'; note: string | null };
  counts: { pending: number; synced: number; failed: number; skipped: number };
  queue: { depth: number; inFlight: number; pausedUntil: string | null; rateLimitPauses: number };
  watcher: { mode: 'native' | 'polling' | 'off'; warning: string | null };
  lastReconcile: { at: string; durationMs: number; ok: boolean; error: string | null } | null;
  heldDeletes: { count: number; message: string } | null;
  lastErrors: { at: string; path: string | null; error: string }[];
  skipped: { path: string; reason: string }[];
}

export interface SyncEngine {
  /** Opens nothing itself: the index, client and watcher are passed in. Runs the start reconcile. */
  start(): Promise<void>;
  reconcile(options?: ReconcileOptions): Promise<ReconcileReport>;
  status(): StatusReport;
  files(): FileEntry[];
  /** The synced file id of a relative path, or null. */
  fileIdOf(path: string): string | null;
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

/**
 * What src/sync/engine.ts `createSyncEngine(deps)` needs. The daemon (src/daemon/) opens the
 * index and holds the lock; the engine builds its client with its own rate-limit hooks.
 */
export interface EngineDeps {
  config: import('../config/types.js').Config;
  index: import('../index/store.js').IndexStore;
  logger: import('pino').Logger;
  /** Live watching (the daemon) or not (one-shot sync, in-process reconcile). */
  watch: boolean;
  /** Builds the Files client with the engine's hooks; defaults to createFilesClient from config.api. */
  createClient?: (
    hooks: Pick<import('../api/types.js').FilesClientOptions, 'beforeRequest' | 'onRetryWait'>,
  ) => import('../api/types.js').FilesApi;
  onProgress?: (event: ProgressEvent) => void;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
  /** Called when the engine cannot go on (the API refused the key); the daemon then stops with exit 1. */
  onFatal?: (err: Error) => void;
}
