/**
 * Upload intents: a row recorded before an upload starts, so a crash mid-upload can be finished
 * or undone, and dropped when the upload is committed or discarded. The row survives any process
 * crash at once; flushDurable() before sending a byte makes it survive a power loss too. The
 * statements run in whatever transaction the store has open: the store decides the transaction
 * and names storage errors.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { Queries } from './queries.js';
import { pathKeyOf } from './row-transitions.js';
import { storageError } from './storage-error.js';
import type { UploadIntent } from './types.js';

export class UploadIntents {
  #s: Queries;
  #file: string;
  #readonly: boolean;
  #flushing: Promise<void> | null = null;
  #flushAgain: Promise<void> | null = null;
  #walHandle: FileHandle | null = null;

  /** `file` is the index's file (its WAL is `${file}-wal`), or ':memory:'. */
  constructor(s: Queries, file: string, readonly: boolean) {
    this.#s = s;
    this.#file = file;
    this.#readonly = readonly;
  }

  record(intent: Omit<UploadIntent, 'id' | 'pathKey'>): UploadIntent {
    const pathKey = pathKeyOf(intent.path);
    const info = this.#s.insertIntent.run(
      pathKey,
      intent.path,
      intent.remoteName,
      intent.size,
      intent.sha256,
      intent.startedAt,
    );
    return { ...intent, id: Number(info.lastInsertRowid), pathKey };
  }

  get(id: number): UploadIntent | undefined {
    return this.#s.getIntent.get(id);
  }

  all(): UploadIntent[] {
    return this.#s.intents.all();
  }

  of(path: string): UploadIntent[] {
    return this.#s.intentsFor.all(pathKeyOf(path));
  }

  drop(id: number): void {
    this.#s.dropIntent.run(id);
  }

  /**
   * Makes every commit so far durable against power loss, without blocking the event loop: an
   * fsync of the WAL file on the thread pool (what synchronous=FULL would do inside the commit,
   * on the main thread). Calls that arrive while one runs share the next one.
   */
  flushDurable(): Promise<void> {
    if (this.#file === ':memory:' || this.#readonly) return Promise.resolve();
    if (this.#flushing) {
      this.#flushAgain ??= this.#flushing.then(() => {
        this.#flushAgain = null;
        return this.flushDurable();
      });
      return this.#flushAgain;
    }
    this.#flushing = (async () => {
      try {
        this.#walHandle ??= await open(`${this.#file}-wal`, 'r');
        await this.#walHandle.sync();
      } catch (err) {
        throw storageError(this.#file, err) ?? err;
      } finally {
        this.#flushing = null;
      }
    })();
    return this.#flushing;
  }

  /** Closes the WAL handle (the store is closing). */
  close(): void {
    void this.#walHandle?.close().catch(() => undefined);
    this.#walHandle = null;
  }
}
