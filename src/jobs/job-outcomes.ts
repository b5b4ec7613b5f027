/**
 * Upload and delete jobs: pushed on the keyed queue, run by the executor, and their outcomes
 * turned into what happens next — the superseded copy deleted, a file that changed mid-upload
 * read again after a backoff, a transient failure sent again as soon as the retry policy allows
 * (waiting is not failing), a refused key held or fatal. The engine owns the live state and
 * routes paths here; this module owns what a job's outcome means.
 */
import type { Logger } from 'pino';
import { FilesyncError, failureCodeOf, type FailureCode, ErrorCode } from '../errors.js';
import type { RemoteDelete } from '../store/types.js';
import type { ApiProblems } from './api-problems.js';
import { ChangedBackoff } from '../plan/backoff.js';
import { deleteRemote, uploadPath, type ExecutorDeps, type FailureFacts, type UploadOutcome } from './executor.js';
import type { KeyedQueue } from './queue.js';
import type { RetryTimers } from './retry-timers.js';

/** A remote copy deleted (or that would be, in a dry run): its id, name, path and why. */
export interface DeletedEntry {
  fileId: string;
  remoteName: string | null;
  path: string | null;
  reason: string;
}

export interface JobRunnerDeps {
  exec: ExecutorDeps;
  queue: KeyedQueue;
  timers: RetryTimers;
  problems: ApiProblems;
  logger: Logger;
  now: () => number;
  /** watch.settleMs: the first wait before a file that changed mid-upload is read again. */
  settleMs: number;
  /** True while deletes are held (another workspace): a delete stays queued in the index. */
  deletesHeld(): boolean;
  recordError(path: string | null, error: string, code: FailureCode | null): void;
  /** Looks at these paths again (the engine's recheck); `rehash`: read them even if their stat is as indexed. */
  recheck(paths: string[], rehash: ReadonlySet<string>): void;
  /** The key was refused and the run cannot wait for it (a one-shot sync): stop. */
  onFatal(err: Error): void;
  /** What jobs do to the remote, for a reconcile pass running meanwhile (src/engine/concurrent-changes.ts). */
  observer?: JobObserver;
}

export interface JobObserver {
  /** An upload job of `path` starts. */
  uploading(path: string): void;
  /** A remote copy was stored (or adopted) for a path. */
  stored(fileId: string): void;
  /** A remote copy was deleted, or found gone. */
  gone(fileId: string): void;
}

export class JobRunner {
  readonly #deps: JobRunnerDeps;
  readonly #changedBackoff = new ChangedBackoff();
  /** When a job last succeeded: a key failing while others succeed waits, it does not fail. */
  #lastSuccessAt = 0;

  constructor(deps: JobRunnerDeps) {
    this.#deps = deps;
  }

  upload(rel: string, retype = false): Promise<UploadOutcome | null> {
    let outcome: UploadOutcome | null = null;
    return this.#deps.queue
      .push(`p:${rel}`, async (signal) => {
        this.#deps.observer?.uploading(rel);
        outcome = await uploadPath(this.#deps.exec, rel, signal, retype);
        this.#afterUpload(rel, outcome);
      })
      .then(
        () => outcome,
        (err: unknown) => {
          // Not an API failure (those are outcomes): the index could not be written (a full or
          // read-only disk) or the queue closed. Nothing was sent without its intent.
          const message = err instanceof Error ? err.message : String(err);
          if (codeOf(err) !== ErrorCode.QueueClosed) {
            this.#deps.recordError(rel, message, codeOf(err));
            this.#deps.logger.error({ event: 'failure', path: rel, err: message }, 'upload job failed');
          }
          return null;
        },
      );
  }

  #afterUpload(rel: string, outcome: UploadOutcome): void {
    switch (outcome.kind) {
      case 'uploaded': {
        this.#deps.observer?.stored(outcome.fileId);
        this.#lastSuccessAt = this.#deps.now();
        this.#deps.timers.clear(`p:${rel}`);
        this.#changedBackoff.settled(rel);
        this.#deps.problems.uploaded();
        if (outcome.superseded) void this.delete(outcome.superseded);
        // The file changed (even back to an older content) while this version uploaded and the
        // settled check saw nothing to do then: the row is pending again, so upload it again.
        const row = this.#deps.exec.index.get(rel);
        if (row && row.state === 'pending') void this.upload(rel);
        break;
      }
      case 'changed':
        void this.delete(outcome.discarded);
        // Read again once settled (its stat may be as indexed: `cp -p`), backing off while it keeps changing.
        this.#deps.timers.later(`p:${rel}`, this.#changedBackoff.next(rel, this.#deps.settleMs, this.#deps.now()), () =>
          this.#deps.recheck([rel], new Set([rel])),
        );
        break;
      case 'failed':
        this.#deps.recordError(rel, outcome.error, outcome.code);
        this.#deps.problems.uploadFailed(outcome.apiErrorCode, outcome.error);
        if (outcome.fatal) this.#fatal(outcome.error);
        else if (outcome.retryable && !this.#waitAndRetry(`p:${rel}`, outcome, () => void this.upload(rel))) {
          // Nothing answers any more: an outage, not a faulty server. The recheck of failed
          // files (and the reconcile) pick it up again.
          this.#deps.exec.index.markFailed(rel, outcome.error);
          this.#deps.logger.error(
            { event: 'failure', path: rel, status: outcome.status, err: outcome.error },
            'upload failed',
          );
        }
        break;
      case 'skipped': // the executor logged it
      case 'nothing':
        break;
    }
  }

  delete(d: RemoteDelete): Promise<DeletedEntry | null> {
    const key = `d:${d.fileId}`;
    let result: DeletedEntry | null = null;
    return this.#deps.queue
      .push(key, async (signal) => {
        // Another workspace than the index's: the delete stays queued in the index until the
        // user accepts the workspace (reconcile --accept-workspace), then a reconcile runs it.
        if (this.#deps.deletesHeld()) return;
        const outcome = await deleteRemote(this.#deps.exec, d.fileId, signal);
        if (outcome.kind === 'deleted' || outcome.kind === 'gone') {
          this.#deps.observer?.gone(d.fileId);
          this.#lastSuccessAt = this.#deps.now();
          this.#deps.timers.clear(key);
          result = { fileId: d.fileId, remoteName: d.remoteName, path: d.path, reason: d.reason };
        } else if (outcome.kind === 'failed') {
          this.#deps.recordError(d.path, `delete ${d.fileId}: ${outcome.error}`, outcome.code);
          if (outcome.fatal) this.#fatal(outcome.error);
          else if (outcome.retryable && !this.#waitAndRetry(key, outcome, () => void this.delete(d))) {
            this.#deps.logger.warn({ event: 'give-up', key }, 'giving up until the next change or reconcile');
          }
        }
      })
      .then(
        () => result,
        () => null,
      );
  }

  /**
   * A job that failed transiently goes again as soon as the retry policy allows (src/plan/backoff.ts),
   * while other keys keep flowing. A 429 that ended a job has paused every request already: the
   * gate hears every answer, once, through the client's onResponse (src/rate/request-gate.ts).
   * False when the key should fail.
   */
  #waitAndRetry(key: string, failure: FailureFacts, run: () => void): boolean {
    const delayMs = this.#deps.timers.wait(key, this.#deps.now(), this.#lastSuccessAt, failure.retryAfterMs, run);
    if (delayMs === null) return false;
    return true;
  }

  #fatal(message: string): void {
    // A watching engine waits out a refused key (src/jobs/api-problems.ts); a one-shot run stops.
    if (this.#deps.problems.holdForKey({ code: ErrorCode.ApiAuth }, message)) return;
    this.#deps.queue.pause();
    const text = `the API refused the key (${message}); fix ANTHROPIC_API_KEY (or the key file) and restart`;
    this.#deps.logger.error({ event: 'fatal' }, text);
    this.#deps.onFatal(new FilesyncError(ErrorCode.ApiAuth, text));
  }
}

export function codeOf(err: unknown): FailureCode | null {
  return failureCodeOf(err);
}
