/**
 * The queue of remote copies to delete (superseded, removed, orphaned, expired...). An entry is
 * retired only when the API confirms the delete (a 404 counts), so a crash never loses one. The
 * statements run in whatever transaction the store has open: the store decides the transaction
 * and names storage errors.
 */
import { FilesyncError, ErrorCode } from '../errors.js';
import type { Queries } from './queries.js';
import type { QueueDeleteInput, RemoteDelete } from './types.js';

export class DeleteQueue {
  #s: Queries;
  #now: () => number;

  constructor(s: Queries, now: () => number) {
    this.#s = s;
    this.#now = now;
  }

  /** Queues a remote copy for deletion; a copy already queued keeps its first entry. */
  queue(d: QueueDeleteInput): RemoteDelete {
    this.#s.queueDelete.run(d.fileId, d.remoteName, d.path, d.reason, this.#now());
    const queued = this.#s.getDelete.get(d.fileId);
    if (!queued)
      throw new FilesyncError(ErrorCode.Internal, `remote delete ${d.fileId} vanished inside its own transaction`);
    return queued;
  }

  /** One queued delete, if it is still queued. */
  get(fileId: string): RemoteDelete | undefined {
    return this.#s.getDelete.get(fileId);
  }

  /** Every queued delete, longest waiting first. */
  pending(): RemoteDelete[] {
    return this.#s.pendingDeletes.all();
  }

  /** The copy is deleted, or live again: no longer queued. */
  retire(fileId: string): void {
    this.#s.retireDelete.run(fileId);
  }

  /** Counts a failed delete and keeps its error. */
  failed(fileId: string, error: string): void {
    this.#s.deleteFailed.run(error, fileId);
  }

  /** The queued delete that has waited longest, and how many are queued. */
  backlog(): { oldest: RemoteDelete | undefined; count: number } {
    return { oldest: this.#s.oldestDelete.get(), count: this.#s.deleteCount.get() ?? 0 };
  }
}
