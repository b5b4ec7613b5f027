/**
 * The writes of the files table: each puts the row ./row-transitions.ts computes for the event,
 * keeps ./plan-facts.ts's map current, and queues the remote copy an event leaves behind
 * (superseded, removed) in ./delete-queue.ts. The statements run in whatever transaction the
 * store has open: the store decides the transaction and names storage errors.
 */
import type { DeleteQueue } from './delete-queue.js';
import type { PlanFacts } from './plan-facts.js';
import type { Queries } from './queries.js';
import { attachedRow, clearedRow, failedRow, observedRow, pathKeyOf, skippedRow } from './row-transitions.js';
import type { DeleteReason, FileRow, LocalObservation, RemoteCopy, RemoteDelete } from './types.js';

export class FileRows {
  #s: Queries;
  #now: () => number;
  #facts: PlanFacts;
  #deletes: DeleteQueue;

  constructor(s: Queries, now: () => number, facts: PlanFacts, deletes: DeleteQueue) {
    this.#s = s;
    this.#now = now;
    this.#facts = facts;
    this.#deletes = deletes;
  }

  /** A row that would not change is not written at all, so an unchanged rescan costs no writes. */
  observe(obs: LocalObservation): FileRow {
    const row = this.#get(obs.path);
    const next = observedRow(row, obs, this.#now());
    return next === row ? next : this.#put(next);
  }

  skip(obs: { path: string; size: number; mtimeMs: number; ino: number }, reason: string): FileRow {
    const row = this.#get(obs.path);
    const next = skippedRow(row, obs, reason, this.#now());
    return next === row ? next : this.#put(next);
  }

  fail(path: string, error: string, obs?: { size: number; mtimeMs: number; ino: number }): void {
    this.#put(failedRow(this.#get(path), path, error, obs, this.#now()));
  }

  setPending(path: string): void {
    this.#s.setState.run('pending', this.#now(), pathKeyOf(path));
    this.#facts.setState(path, 'pending');
  }

  /**
   * Points the path's row at `remote`; returns the copy queued for deletion: the one it pointed
   * at before, or `remote` itself when the row is gone (the file was removed meanwhile).
   */
  attach(remote: RemoteCopy): RemoteDelete | null {
    // The copy is live from now on: it must not stay queued for deletion.
    this.#deletes.retire(remote.fileId);
    const row = this.#get(remote.path);
    if (!row) {
      return this.#deletes.queue({
        fileId: remote.fileId,
        remoteName: remote.remoteName,
        path: remote.path,
        reason: 'removed',
      });
    }
    this.#put(attachedRow(row, remote, this.#now()));
    if (row.fileId !== null && row.fileId !== remote.fileId) {
      return this.#deletes.queue({
        fileId: row.fileId,
        remoteName: row.remoteName,
        path: row.path,
        reason: 'superseded',
      });
    }
    return null;
  }

  /** Deletes the row and queues its remote copy (reason 'removed'). */
  remove(path: string): RemoteDelete | null {
    const row = this.#get(path);
    if (!row) return null;
    this.#s.deleteRow.run(row.pathKey);
    this.#facts.delete(row.path);
    return row.fileId === null
      ? null
      : this.#deletes.queue({ fileId: row.fileId, remoteName: row.remoteName, path: row.path, reason: 'removed' });
  }

  /** Forgets the row's remote copy; with a reason, also queues it for deletion. */
  clearRemote(path: string, queueDeleteReason?: DeleteReason): RemoteDelete | null {
    const row = this.#get(path);
    if (!row) return null;
    const queued =
      queueDeleteReason !== undefined && row.fileId !== null
        ? this.#deletes.queue({
            fileId: row.fileId,
            remoteName: row.remoteName,
            path: row.path,
            reason: queueDeleteReason,
          })
        : null;
    this.#put(clearedRow(row, this.#now()));
    return queued;
  }

  #get(path: string): FileRow | undefined {
    return this.#s.get.get(pathKeyOf(path));
  }

  #put(row: FileRow): FileRow {
    const full: FileRow = {
      ...row,
      hashedAt: row.hashedAt ?? null,
      ctimeMs: row.ctimeMs ?? null,
      mimeType: row.mimeType ?? null,
      mimeNote: row.mimeNote ?? null,
    };
    this.#s.put.run(full);
    this.#facts.put(full);
    return full;
  }
}
