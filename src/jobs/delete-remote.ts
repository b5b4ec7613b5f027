/** The delete job: the API call, then the queued delete retired (a 404 counts as done). */
import { ErrorCode } from '../errors.js';
import { classifyError, factsOf } from '../plan/error-class.js';
import type { DeleteOutcome, ExecutorDeps } from './executor-deps.js';

/** Deletes a queued remote file and retires it. */
export async function deleteRemote(deps: ExecutorDeps, fileId: string, signal?: AbortSignal): Promise<DeleteOutcome> {
  const queued = deps.index.getDelete(fileId);
  if (!queued) return { kind: 'nothing' };
  const started = deps.now();
  try {
    await deps.client.delete(fileId, signal ? { signal } : undefined);
    deps.index.retireDelete(fileId);
    deps.logger.info(
      { event: 'delete', path: queued.path, fileId, reason: queued.reason, durationMs: deps.now() - started },
      'deleted remote copy',
    );
    return { kind: 'deleted' };
  } catch (err) {
    const c = classifyError(err);
    if (c.code === ErrorCode.ApiNotFound) {
      deps.index.retireDelete(fileId);
      deps.logger.info(
        { event: 'delete', path: queued.path, fileId, reason: queued.reason, alreadyGone: true },
        'remote copy already gone',
      );
      return { kind: 'gone' };
    }
    deps.index.deleteFailed(fileId, c.message);
    if (c.retryable) {
      deps.logger.warn(
        { event: 'delete-retry', path: queued.path, fileId, status: c.status, err: c.message },
        'delete not done yet; it goes again',
      );
    } else {
      deps.logger.error(
        { event: 'failure', op: 'delete', path: queued.path, fileId, status: c.status, err: c.message },
        'delete failed',
      );
    }
    return { kind: 'failed', error: c.message, ...factsOf(c) };
  }
}
