/**
 * The API problems the user must fix, and how the engine waits them out instead of stopping
 * (docs/files-api-facts.md §11):
 *   - key refused (401, or 403 on a listing): every request would fail alike. The queue is paused
 *     (queued work stays queued), the problem shows in `status` and the log with how to fix it, and
 *     a reconcile is tried again every `keyRetryMs` (5 min) or at once on SIGHUP / `reconcile`.
 *     A listing that succeeds ends it and the queue runs again. The daemon does not exit: under
 *     systemd or launchd an exit would restart it into the same 401 every 10 s.
 *   - storage full (400 storage_quota_exceeded): the file is failed with the reason and looked at
 *     again on the failed-file backoff (src/plan/backoff.ts); nothing synced is deleted to make
 *     room. `status` shows it until an upload succeeds after it.
 */
import type { Logger } from 'pino';
import { KEY_REFUSED_CODES } from '../api/errors.js';
import { type CancelTimer, type Scheduler, systemScheduler } from '../clock/scheduler.js';

export interface ApiProblem {
  kind: 'key-refused' | 'storage-full';
  since: string;
  message: string;
  /** What to do about it. */
  hint: string;
  /** When the daemon tries again by itself, or null. */
  retryAt: string | null;
}

export const KEY_RETRY_MS = 5 * 60_000;
export const STORAGE_FULL_ERROR_CODE = 'storage_quota_exceeded';

const KEY_HINT =
  'set a valid ANTHROPIC_API_KEY (or the key file) and send SIGHUP or run `claude-filesync reconcile`; the daemon also tries again every 5 minutes, and nothing queued is lost';
const STORAGE_HINT =
  "the organization's Files API storage is full: delete files you no longer need (claude-filesync never deletes synced files to make room); the refused files are tried again later";

export interface ApiProblemsOptions {
  logger: Logger;
  now: () => number;
  /** Runs the retry (a reconcile). */
  retry: () => void;
  /** Stops requests while the key is refused (the engine's queue). */
  pause: () => void;
  /** A watching engine waits a refused key out; a one-shot run (false) stops instead. */
  waitsForKey: boolean;
  /** @default KEY_RETRY_MS */
  keyRetryMs?: number | undefined;
  /** @default the system's timers */
  scheduler?: Scheduler;
}

export class ApiProblems {
  readonly #o: ApiProblemsOptions;
  #key: ApiProblem | null = null;
  #storage: ApiProblem | null = null;
  #cancelRetry: CancelTimer | null = null;
  #closed = false;

  constructor(options: ApiProblemsOptions) {
    this.#o = options;
  }

  get keyRefused(): boolean {
    return this.#key !== null;
  }

  /** The problem status shows: a refused key first, since nothing works without one. */
  current(): ApiProblem | null {
    return this.#key ?? this.#storage;
  }

  /** A refused key on a watching engine: requests pause and wait. False when the run should stop instead. */
  holdForKey(err: unknown, message: string): boolean {
    const code = (err as { code?: unknown } | null)?.code;
    if (!this.#o.waitsForKey || typeof code !== 'string' || !KEY_REFUSED_CODES.has(code)) return false;
    this.#o.pause();
    this.keyRefusedBy(message);
    return true;
  }

  /** An upload failed: a full storage shows in status until an upload succeeds. */
  uploadFailed(apiErrorCode: string | null | undefined, message: string): void {
    if (apiErrorCode === STORAGE_FULL_ERROR_CODE) this.storageFull(message);
  }

  /** The key was refused: log it once, and (again) schedule the slow retry. */
  keyRefusedBy(message: string): void {
    if (this.#closed) return;
    const retryMs = this.#o.keyRetryMs ?? KEY_RETRY_MS;
    const now = this.#o.now();
    if (this.#key === null) {
      this.#o.logger.error(
        { event: 'key-refused', err: message, retryInMs: retryMs },
        `the API refused the key (${message}); requests stopped, nothing is lost. Fix ANTHROPIC_API_KEY (or the key file), then send SIGHUP or run claude-filesync reconcile`,
      );
    }
    this.#key = {
      kind: 'key-refused',
      since: this.#key?.since ?? new Date(now).toISOString(),
      message,
      hint: KEY_HINT,
      retryAt: new Date(now + retryMs).toISOString(),
    };
    this.#cancelRetry?.();
    // Not counted as pending work: an idle engine waiting for a key is idle.
    this.#cancelRetry = (this.#o.scheduler ?? systemScheduler()).later(
      retryMs,
      () => {
        this.#cancelRetry = null;
        if (!this.#closed) this.#o.retry();
      },
      { background: true },
    );
  }

  /** A request with the key succeeded. */
  keyAccepted(): void {
    if (this.#key === null) return;
    this.#o.logger.info({ event: 'key-accepted', since: this.#key.since }, 'the API accepts the key again; resuming');
    this.#key = null;
    this.#cancelRetry?.();
    this.#cancelRetry = null;
  }

  storageFull(message: string): void {
    if (this.#storage === null) {
      this.#o.logger.error({ event: 'storage-full', err: message }, `uploads refused: ${STORAGE_HINT}`);
    }
    this.#storage = {
      kind: 'storage-full',
      since: this.#storage?.since ?? new Date(this.#o.now()).toISOString(),
      message,
      hint: STORAGE_HINT,
      retryAt: null,
    };
  }

  /** An upload succeeded: storage is not (or no longer) full for it. */
  uploaded(): void {
    if (this.#storage === null) return;
    this.#o.logger.info({ event: 'storage-ok', since: this.#storage.since }, 'uploads are accepted again');
    this.#storage = null;
  }

  close(): void {
    this.#closed = true;
    this.#cancelRetry?.();
    this.#cancelRetry = null;
  }
}
