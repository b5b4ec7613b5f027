/**
 * IndexStore: the sqlite index, the truth that survives crashes and restarts. The facade over
 * ./open-db.ts (opening, schema, migrations), ./queries.ts (the statements),
 * ./row-transitions.ts (what a row becomes after each event) and the parts that share its
 * connection: ./file-rows.ts (the rows' writes), ./plan-facts.ts (the rows as the planner reads
 * them, in memory), ./upload-intents.ts and ./delete-queue.ts. The parts only run statements:
 * the store opens the transactions and names storage errors. Every method but flushDurable is
 * synchronous; a method that writes several rows does so in one transaction, so a crash leaves
 * either all of it or none of it.
 */
import type Database from 'better-sqlite3';
import { DeleteQueue } from './delete-queue.js';
import { FileRows } from './file-rows.js';
import { ListingTable } from './listing-table.js';
import { openDatabase } from './open-db.js';
import { PlanFacts } from './plan-facts.js';
import { prepareQueries, type Queries } from './queries.js';
import { pathKeyOf } from './row-transitions.js';
import { storageError } from './storage-error.js';
import { UploadIntents } from './upload-intents.js';
import type {
  DeleteReason,
  FileRow,
  FileState,
  LocalObservation,
  PlanRow,
  QueueDeleteInput,
  RemoteCopy,
  RemoteDelete,
  StateCounts,
  UploadIntent,
} from './types.js';

interface IndexStoreOptions {
  /** Open without writing: no migration, writes throw. For `status`/`ls` beside a running daemon. @default false */
  readonly readonly?: boolean;
  /** Clock for `updatedAt`, `queuedAt`. @default Date.now */
  readonly now?: () => number;
  /** How long a statement waits for another connection's lock. @default 5000 */
  readonly busyTimeoutMs?: number;
}

export class IndexStore {
  readonly file: string;
  readonly readonly: boolean;
  #db: Database.Database;
  #s: Queries;
  #closed = false;
  #facts: PlanFacts;
  #rows: FileRows;
  #intents: UploadIntents;
  #deletes: DeleteQueue;

  private constructor(file: string, db: Database.Database, readonly: boolean, now: () => number) {
    this.file = file;
    this.readonly = readonly;
    this.#db = db;
    this.#s = prepareQueries(db);
    this.#facts = new PlanFacts(this.#s);
    this.#intents = new UploadIntents(this.#s, file, readonly);
    this.#deletes = new DeleteQueue(this.#s, now);
    this.#rows = new FileRows(this.#s, now, this.#facts, this.#deletes);
  }

  /** Opens (creating and migrating if needed) the index at `file`, or ':memory:'. */
  static open(file: string, options: IndexStoreOptions = {}): IndexStore {
    const readonly = options.readonly ?? false;
    const now = options.now ?? Date.now;
    return openDatabase(
      file,
      { readonly, busyTimeoutMs: options.busyTimeoutMs ?? 5000 },
      (db) => new IndexStore(file, db, readonly, now),
    );
  }

  /** Runs `fn` in one transaction (nested calls become savepoints). */
  transaction<T>(fn: () => T): T {
    return this.#tx(fn);
  }

  // --- reading ---------------------------------------------------------------------------------

  get(path: string): FileRow | undefined {
    return this.#s.get.get(pathKeyOf(path));
  }

  /** Every row, ordered by path. */
  all(): FileRow[] {
    return this.#s.all.all();
  }

  /**
   * The indexed paths under the folder `relDir`, in no order. Read from the planner's map: a
   * folder removed from a 20,000-file tree took a sorted read of every full row (50 folders
   * moved at once: 10 s before the first upload).
   */
  pathsUnder(relDir: string): string[] {
    return this.#facts.pathsUnder(relDir);
  }

  /** Every row, ordered by path, without holding them all. No writes may happen until it ends. */
  iterate(): IterableIterator<FileRow> {
    return this.#s.all.iterate();
  }

  /** The synced rows' sent types, row by row (the full rows of 100,000 files are 130 MB of garbage). */
  syncedTypes(): IterableIterator<{ path: string; mimeType: string | null; mimeNote: string | null }> {
    return this.#s.syncedTypes.iterate();
  }

  count(): number {
    return this.#s.count.get() ?? 0;
  }

  countByState(): StateCounts {
    const counts: StateCounts = { pending: 0, synced: 0, failed: 0, skipped: 0 };
    for (const { state, n } of this.#s.countByState.all()) counts[state] = n;
    return counts;
  }

  /**
   * A lookup for a full scan and reconcile's early batches: every row as the planner reads it
   * (PlanRow), from a map read in one query on first use and kept current by every write of this
   * store (./plan-facts.ts says why).
   */
  localLookup(): (path: string) => PlanRow | undefined {
    return this.#facts.lookup();
  }

  /**
   * Every row as a full pass reads it (PlanRow), ordered by path: the same objects the scan's
   * lookup reads, never changed in place, so the array is a snapshot.
   */
  planRows(): PlanRow[] {
    return this.#facts.rows();
  }

  /** Rows by path, exactly those planRows() gave, while no write comes between; else null. */
  planRowLookup(): ((path: string) => PlanRow | undefined) | null {
    return this.#facts.rowLookup();
  }

  /**
   * An empty table for one reconcile's remote listing (./listing-table.ts), in this connection's
   * temporary database. Making a new one empties the previous one.
   */
  listingTable(): ListingTable {
    return new ListingTable(this.#db, (err) => storageError(this.file, err) ?? err);
  }

  /** Runs `fn` in a transaction; on failure the cached facts may be ahead of the database. */
  #tx<T>(fn: () => T): T {
    try {
      return this.#db.transaction(fn)();
    } catch (err) {
      this.#facts.drop();
      // A connection opened read-only refuses writes by design: that is not the disk's fault.
      throw (this.readonly ? null : storageError(this.file, err)) ?? err;
    }
  }

  /** A single write outside a transaction: a full or read-only disk is named as such. */
  #write<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw (this.readonly ? null : storageError(this.file, err)) ?? err;
    }
  }

  /** Rows in one state, by path, at most `limit` of them (status lists, failure rechecks). */
  byState(state: FileState, limit = 1000): FileRow[] {
    return this.#s.byState.all(state, limit);
  }

  /** The pending row that has waited longest (least recently changed), for status. */
  oldestPending(): FileRow | undefined {
    return this.#s.oldestPending.get();
  }

  /** When the newest remote copy the index holds was created (server clock, ms), or null. */
  lastUploadAt(): number | null {
    return this.#s.lastUploadAt.get() ?? null;
  }

  /** The queued remote delete that has waited longest, and how many are queued. */
  deleteBacklog(): { oldest: RemoteDelete | undefined; count: number } {
    return this.#deletes.backlog();
  }

  /** Rows whose file could not be sent as its policy's type (a MIME note), by path. */
  withMimeNote(limit = 100): FileRow[] {
    return this.#s.withMimeNote.all(limit);
  }

  /** One queued delete, if it is still queued. */
  getDelete(fileId: string): RemoteDelete | undefined {
    return this.#deletes.get(fileId);
  }

  byFileId(fileId: string): FileRow | undefined {
    return this.#s.byFileId.get(fileId);
  }

  // --- local observations ------------------------------------------------------------------------

  /**
   * Records what the scanner saw. Remote fields are kept; the row is 'synced' when its remote copy
   * holds exactly this content, otherwise 'pending'. Attempts and the last error are reset only
   * when the content changed (or the row became synced). A row that would not change is not
   * written at all, so an unchanged rescan costs no writes.
   */
  observe(obs: LocalObservation): FileRow {
    return this.#tx(() => this.#rows.observe(obs));
  }

  observeMany(observations: readonly LocalObservation[]): FileRow[] {
    return this.#tx(() => observations.map((o) => this.#rows.observe(o)));
  }

  /**
   * Marks a path skipped with a reason (too large, ignored, not a regular file). Remote fields are
   * kept: a file that grew past the limit keeps its old remote copy until the planner decides.
   */
  markSkipped(obs: { path: string; size: number; mtimeMs: number; ino: number }, reason: string): FileRow {
    return this.#tx(() => this.#rows.skip(obs, reason));
  }

  /**
   * Counts a failed attempt (unreadable file, refused upload). A path the index did not know gets
   * a row, so that the failure shows in `status` and `ls`; `obs` fills in its local facts.
   */
  markFailed(path: string, error: string, obs?: { size: number; mtimeMs: number; ino: number }): void {
    this.#tx(() => this.#rows.fail(path, error, obs));
  }

  markPending(path: string): void {
    this.#write(() => this.#rows.setPending(path));
  }

  // --- upload intents ------------------------------------------------------------------------------

  /**
   * Recorded before an upload starts, so a crash mid-upload can be finished or undone. The row
   * survives any process crash at once; `await flushDurable()` before sending a byte makes it
   * survive a power loss too.
   */
  recordIntent(intent: Omit<UploadIntent, 'id' | 'pathKey'>): UploadIntent {
    return this.#write(() => this.#intents.record(intent));
  }

  /** Makes every commit so far durable against power loss, without blocking the event loop. */
  flushDurable(): Promise<void> {
    return this.#intents.flushDurable();
  }

  intents(): UploadIntent[] {
    return this.#intents.all();
  }

  /** The intents of one path (an index lookup: an upload checks its own before it starts). */
  intentsFor(path: string): UploadIntent[] {
    return this.#intents.of(path).filter((i) => i.path === path);
  }

  dropIntent(id: number): void {
    this.#write(() => this.#intents.drop(id));
  }

  /**
   * One transaction: points the row at the uploaded copy ('synced' when the local content is
   * still what was uploaded, else 'pending'), queues the superseded copy for deletion and returns
   * it, and drops the intent. If the row is gone (the file was removed meanwhile), the new copy is
   * queued for deletion instead and returned.
   */
  commitUpload(intentId: number, remote: RemoteCopy): RemoteDelete | null {
    return this.#tx(() => {
      this.#intents.drop(intentId);
      return this.#rows.attach(remote);
    });
  }

  /** One transaction: drops the intent and queues the uploaded copy for deletion. */
  discardUpload(intentId: number, fileId: string, reason: DeleteReason): RemoteDelete {
    return this.#tx(() => {
      const intent = this.#intents.get(intentId);
      this.#intents.drop(intentId);
      return this.#deletes.queue({
        fileId,
        remoteName: intent?.remoteName ?? null,
        path: intent?.path ?? null,
        reason,
      });
    });
  }

  /** Records an existing remote copy as the path's copy, as commitUpload does without an intent. */
  adopt(path: string, remote: Omit<RemoteCopy, 'path'> & { path?: string }): RemoteDelete | null {
    return this.#tx(() => this.#rows.attach({ ...remote, path }));
  }

  /** One transaction: deletes the row and queues its remote copy (reason 'removed'). */
  removePath(path: string): RemoteDelete | null {
    return this.#tx(() => this.#rows.remove(path));
  }

  /**
   * The remote copy vanished or expired: forget it (the row becomes 'pending', a skipped row stays
   * skipped). With a reason, the old id is also queued for deletion.
   */
  clearRemote(path: string, queueDeleteReason?: DeleteReason): RemoteDelete | null {
    return this.#tx(() => this.#rows.clearRemote(path, queueDeleteReason));
  }

  // --- remote deletes ------------------------------------------------------------------------------

  /** Queues a remote copy for deletion; a copy already queued keeps its first entry. */
  queueDelete(d: QueueDeleteInput): RemoteDelete {
    return this.#write(() => this.#deletes.queue(d));
  }

  pendingDeletes(): RemoteDelete[] {
    return this.#deletes.pending();
  }

  /** The API confirmed the delete (a 404 counts). */
  retireDelete(fileId: string): void {
    this.#write(() => this.#deletes.retire(fileId));
  }

  deleteFailed(fileId: string, error: string): void {
    this.#write(() => this.#deletes.failed(fileId, error));
  }

  /** Every file id the index knows: live copies and copies queued for deletion. */
  ownedFileIds(): Set<string> {
    return new Set(this.#s.ownedFileIds.all());
  }

  /** Rows this connection has written so far: a cheap "anything changed?" for the manifest writer. */
  changeCount(): number {
    return this.#s.totalChanges.get() ?? 0;
  }

  // --- meta ------------------------------------------------------------------------------------------

  getMeta(key: string): string | undefined {
    return this.#s.getMeta.get(key);
  }

  setMeta(key: string, value: string): void {
    this.#write(() => this.#s.setMeta.run(key, value));
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#intents.close();
    this.#db.close();
  }
}
