/**
 * The engine's public face: what the CLI and the control channel ask of a running engine and the
 * reports it answers with. live-engine.ts implements SyncEngine; how the engine is wired to its
 * parts is ./wiring.ts, which the CLI never sees.
 */
import type { FileState } from '../store/types.js';
import type { ApiProblem } from '../jobs/api-problems.js';
import type { DeletedEntry } from '../jobs/job-outcomes.js';
import type { FailureCode } from '../errors.js';

export interface ReconcileOptions {
  /** Report what would be done; change nothing (no upload, no delete, no index write). */
  dryRun?: boolean;
  /**
   * Adopt legacy remote files (named before owner tags) whose name and size match a local file.
   * Never a copy with another owner's tag; copies with our own tag are adopted without it.
   */
  adopt?: boolean;
  /** Delete remote files the index does not know, except another owner's (combine with dryRun to list them). */
  deleteUnmanaged?: boolean;
  /** Delete remote files with our owner tag that the index does not reference (orphans). */
  deleteOrphans?: boolean;
  /** The workspace the API now answers for becomes the index's; lifts the hold on deletes a change set. */
  acceptWorkspace?: boolean;
  /** Lift the deletion-safety share limit for this pass. */
  allowMassDelete?: boolean;
  /** Read every file, even those whose stat is as indexed (a filesystem whose ctime cannot be trusted). */
  rehash?: boolean;
}

export interface FileEntry {
  path: string;
  fileId: string | null;
  sizeBytes: number;
  sha256: string | null;
  /** `held`: the file is gone and its remote delete is held (src/plan/held-deletes.ts). */
  state: FileState | 'held';
  error: string | null;
  /** The type the remote copy was uploaded with; null when not recorded (uploaded before schema 3) or no copy. */
  mimeType?: string | null;
  /** The Messages content block the file id fits (src/plan/mime-policy.ts), or null without a copy. */
  block?: 'document' | 'image' | 'container_upload' | null;
  /** Why a text-like file is not a document (not UTF-8), or null. */
  note?: string | null;
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
  deleted: DeletedEntry[];
  /** Remote files adopted instead of uploading again. */
  adopted: { fileId: string; path: string }[];
  /** Remote files without an owner tag that no index row owns, left alone. */
  unmanaged: { fileId: string; filename: string; sizeBytes: number }[];
  /** Remote files with our owner tag that no index row references, left alone (--delete-orphans). */
  orphans: { fileId: string; filename: string; sizeBytes: number }[];
  /** Remote files with another owner's tag (another host or folder): never adopted or deleted. */
  foreign: { fileId: string; filename: string; sizeBytes: number }[];
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
  /** `orphans`: our tagged copies the index did not reference at that reconcile (absent before owner tags). */
  lastReconcile: { at: string; durationMs: number; ok: boolean; error: string | null; orphans?: number } | null;
  /** Every held delete (not only the last pass's), or the last pass's hold when no path is held. */
  heldDeletes: HeldDeletes | null;
  /** `code` is the error's stable code (E_API_RATE_LIMIT, EACCES, ...) when it had one. */
  lastErrors: LastError[];
  skipped: { path: string; reason: string }[];
  /** Folders the last full scan could not list, and why: nothing under them is synced or deleted. */
  unreadableDirs: { path: string; reason: string }[];
  /** What a person asks first: is it moving, what is waiting, and when will it be done. */
  activity: Activity;
  /** Files that cannot be used as the block their type suggests, and why (not UTF-8). */
  notDocuments: { path: string; reason: string }[];
  /**
   * Requests stopped or uploads refused for a reason the API gave and the user must fix: the key
   * was refused (401/403 on a listing) or the organization's storage is full. Null when none.
   */
  apiProblem: ApiProblem | null;
  /** The reconcile pass running now and how far it got; null (or absent: no daemon) when none runs. */
  reconcile?: ReconcileProgressReport | null;
}

/** A running reconcile pass, for `status` (src/engine/reconcile-progress.ts). */
export interface ReconcileProgressReport {
  /** listing: the remote listing is read (the scan may run alongside); scanning: the listing is done, the scan not; applying: its jobs run. */
  phase: 'listing' | 'scanning' | 'planning' | 'applying';
  startedAt: string;
  elapsedMs: number;
  /** Pages of up to 1,000 files read so far (as requested), and the files on them. */
  listing: { pages: number; files: number; done: boolean };
  /** Files the scan has seen so far. */
  scan: { files: number; done: boolean };
  /** The plan's uploads and deletes, done of total; null before the plan is applied. */
  apply: { uploadsDone: number; uploadsTotal: number; deletesDone: number; deletesTotal: number } | null;
}

export type { ApiProblem } from '../jobs/api-problems.js';

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
  /** One of ours (src/errors.ts), or the system's errno name for a local file problem. */
  code: FailureCode | null;
}

export interface SyncEngine {
  /**
   * Opens nothing itself: the index, client and watcher are passed in. Starts the watcher, then
   * the start-up reconcile behind it; resolves (or rejects) when that reconcile is done.
   */
  start(): Promise<void>;
  /** Resolves once the engine is live: the watcher is ready and its changes are handled at once. */
  onLive(): Promise<void>;
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

export type { DeletedEntry } from '../jobs/job-outcomes.js';
