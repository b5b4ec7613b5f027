/**
 * IndexStore: the sqlite index, the truth that survives crashes and restarts. The facade over
 * ./open-db.ts (opening, schema, migrations), ./queries.ts (the statements) and
 * ./row-transitions.ts (what a row becomes after each event). Every method is synchronous; a
 * method that writes several rows does so in one transaction, so a crash leaves either all of it
 * or none of it.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type Database from 'better-sqlite3';
import { FilesyncError } from '../errors.js';
import { ListingTable } from './listing-table.js';
import { openDatabase } from './open-db.js';
import { prepareQueries, type Queries } from './queries.js';
import { attachedRow, clearedRow, failedRow, observedRow, pathKeyOf, skippedRow } from './row-transitions.js';
import { storageError } from './storage-error.js';
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

export interface IndexStoreOptions {
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
  #now: () => number;
  #closed = false;
  #facts: Map<string, PlanRow> | null = null;
  /** The facts map is still in path order (no path was added since it was read). */
  #factsInOrder = false;

  private constructor(file: string, db: Database.Database, readonly: boolean, now: () => number) {
    this.file = file;
    this.readonly = readonly;
    this.#db = db;
    this.#now = now;
    this.#s = prepareQueries(db);
  }

  /** Opens (creating and migrating if needed) the index at `file`, or ':memory:'. */
  static open(file: string, options: IndexStoreOptions = {}): IndexStore {
    const readonly = options.readonly ?? false;
    const now = options.now ?? Date.now;
    return openDatabase(file, { readonly, busyTimeoutMs: options.busyTimeoutMs ?? 5000 }, (db) => new IndexStore(file, db, readonly, now));
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
   * (PlanRow: the local facts, state and remote copy), from a map
   * read in one query on first use and kept current by every write of this store. Reading whole
   * rows one by one costs several times more on a 100,000-file rescan. A failed transaction drops
   * the map (it is rebuilt on the next lookup), so it never holds facts the database does not.
   */
  localLookup(): (path: string) => PlanRow | undefined {
    this.#loadFacts();
    return (path) => this.#loadFacts().get(path);
  }

  /**
   * Every row as a full pass reads it (PlanRow), ordered by path: the same objects the scan's
   * lookup reads, so a reconcile holds each row once, compactly, instead of its facts and then
   * its full row again (a full FileRow from sqlite costs about 1.3 KB; a PlanRow about 0.4 KB).
   * The objects are never changed in place: a write puts a new one, so the array is a snapshot.
   */
  planRows(): PlanRow[] {
    const facts = this.#loadFacts();
    // Read in path order, no path added since (a Map keeps its order): no query, no path strings.
    if (this.#factsInOrder) return [...facts.values()];
    const rows: PlanRow[] = [];
    for (const path of this.#s.paths.iterate()) {
      const row = facts.get(path);
      if (row) rows.push(row);
    }
    return rows;
  }

  /** Rows by path, exactly those planRows() gave, while no write comes between; else null. */
  planRowLookup(): ((path: string) => PlanRow | undefined) | null {
    const facts = this.#loadFacts();
    return this.#factsInOrder ? (path) => facts.get(path) : null;
  }

  #loadFacts(): Map<string, PlanRow> {
    if (this.#facts === null) {
      const facts = new Map<string, PlanRow>();
      for (const [path, size, mtimeMs, ino, sha256, hashedAt, ctimeMs, state, fileId, remoteName, remoteSha256, remoteExpiresAt, skipReason] of this.#s.planRows.iterate()) {
        facts.set(path, planRow({ path, size, mtimeMs, ino, sha256, hashedAt, ctimeMs, state, fileId, remoteName, remoteSha256, remoteExpiresAt, skipReason }));
      }
      this.#facts = facts;
      this.#factsInOrder = true;
    }
    return this.#facts;
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
      this.#facts = null;
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
    return { oldest: this.#s.oldestDelete.get(), count: this.#s.deleteCount.get() ?? 0 };
  }

  /** Rows whose file could not be sent as its policy's type (a MIME note), by path. */
  withMimeNote(limit = 100): FileRow[] {
    return this.#s.withMimeNote.all(limit);
  }

  /** One queued delete, if it is still queued. */
  getDelete(fileId: string): RemoteDelete | undefined {
    return this.#s.getDelete.get(fileId);
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
    return this.#tx(() => this.#observe(obs));
  }

  observeMany(observations: readonly LocalObservation[]): FileRow[] {
    return this.#tx(() => observations.map((o) => this.#observe(o)));
  }

  #observe(obs: LocalObservation): FileRow {
    const row = this.get(obs.path);
    const next = observedRow(row, obs, this.#now());
    return next === row ? next : this.#put(next);
  }

  /**
   * Marks a path skipped with a reason (too large, ignored, not a regular file). Remote fields are
   * kept: a file that grew past the limit keeps its old remote copy until the planner decides.
   */
  markSkipped(obs: { path: string; size: number; mtimeMs: number; ino: number }, reason: string): FileRow {
    return this.#tx(() => {
      const row = this.get(obs.path);
      const next = skippedRow(row, obs, reason, this.#now());
      return next === row ? next : this.#put(next);
    });
  }

  /**
   * Counts a failed attempt (unreadable file, refused upload). A path the index did not know gets
   * a row, so that the failure shows in `status` and `ls`; `obs` fills in its local facts.
   */
  markFailed(path: string, error: string, obs?: { size: number; mtimeMs: number; ino: number }): void {
    this.#tx(() => {
      this.#put(failedRow(this.get(path), path, error, obs, this.#now()));
    });
  }

  markPending(path: string): void {
    this.#write(() => this.#s.setState.run('pending', this.#now(), pathKeyOf(path)));
    const cached = this.#facts?.get(path);
    if (cached) this.#facts?.set(path, { ...cached, state: 'pending' });
  }

  // --- upload intents ------------------------------------------------------------------------------

  /**
   * Recorded before an upload starts, so a crash mid-upload can be finished or undone. The row
   * survives any process crash at once; `await flushDurable()` before sending a byte makes it
   * survive a power loss too.
   */
  recordIntent(intent: Omit<UploadIntent, 'id' | 'pathKey'>): UploadIntent {
    const pathKey = pathKeyOf(intent.path);
    const info = this.#write(() => this.#s.insertIntent.run(pathKey, intent.path, intent.remoteName, intent.size, intent.sha256, intent.startedAt));
    return { ...intent, id: Number(info.lastInsertRowid), pathKey };
  }

  /**
   * Makes every commit so far durable against power loss, without blocking the event loop: an
   * fsync of the WAL file on the thread pool (what synchronous=FULL would do inside the commit,
   * on the main thread). Calls that arrive while one runs share the next one.
   */
  flushDurable(): Promise<void> {
    if (this.file === ':memory:' || this.readonly) return Promise.resolve();
    if (this.#flushing) {
      this.#flushAgain ??= this.#flushing.then(() => {
        this.#flushAgain = null;
        return this.flushDurable();
      });
      return this.#flushAgain;
    }
    this.#flushing = (async () => {
      try {
        this.#walHandle ??= await open(`${this.file}-wal`, 'r');
        await this.#walHandle.sync();
      } catch (err) {
        throw storageError(this.file, err) ?? err;
      } finally {
        this.#flushing = null;
      }
    })();
    return this.#flushing;
  }

  #flushing: Promise<void> | null = null;
  #flushAgain: Promise<void> | null = null;
  #walHandle: FileHandle | null = null;

  intents(): UploadIntent[] {
    return this.#s.intents.all();
  }

  dropIntent(id: number): void {
    this.#write(() => this.#s.dropIntent.run(id));
  }

  /**
   * One transaction: points the row at the uploaded copy ('synced' when the local content is
   * still what was uploaded, else 'pending'), queues the superseded copy for deletion and returns
   * it, and drops the intent. If the row is gone (the file was removed meanwhile), the new copy is
   * queued for deletion instead and returned.
   */
  commitUpload(intentId: number, remote: RemoteCopy): RemoteDelete | null {
    return this.#tx(() => {
      this.#s.dropIntent.run(intentId);
      return this.#attach(remote);
    });
  }

  /** One transaction: drops the intent and queues the uploaded copy for deletion. */
  discardUpload(intentId: number, fileId: string, reason: DeleteReason): RemoteDelete {
    return this.#tx(() => {
      const intent = this.#s.getIntent.get(intentId);
      this.#s.dropIntent.run(intentId);
      return this.#queue({ fileId, remoteName: intent?.remoteName ?? null, path: intent?.path ?? null, reason });
    });
  }

  /** Records an existing remote copy as the path's copy, as commitUpload does without an intent. */
  adopt(path: string, remote: Omit<RemoteCopy, 'path'> & { path?: string }): RemoteDelete | null {
    return this.#tx(() => this.#attach({ ...remote, path }));
  }

  #attach(remote: RemoteCopy): RemoteDelete | null {
    // The copy is live from now on: it must not stay queued for deletion.
    this.#s.retireDelete.run(remote.fileId);
    const row = this.get(remote.path);
    if (!row) {
      return this.#queue({ fileId: remote.fileId, remoteName: remote.remoteName, path: remote.path, reason: 'removed' });
    }
    this.#put(attachedRow(row, remote, this.#now()));
    if (row.fileId !== null && row.fileId !== remote.fileId) {
      return this.#queue({ fileId: row.fileId, remoteName: row.remoteName, path: row.path, reason: 'superseded' });
    }
    return null;
  }

  /** One transaction: deletes the row and queues its remote copy (reason 'removed'). */
  removePath(path: string): RemoteDelete | null {
    return this.#tx(() => {
      const row = this.get(path);
      if (!row) return null;
      this.#deleteRow(row);
      return row.fileId === null
        ? null
        : this.#queue({ fileId: row.fileId, remoteName: row.remoteName, path: row.path, reason: 'removed' });
    });
  }

  /**
   * The remote copy vanished or expired: forget it (the row becomes 'pending', a skipped row stays
   * skipped). With a reason, the old id is also queued for deletion.
   */
  clearRemote(path: string, queueDeleteReason?: DeleteReason): RemoteDelete | null {
    return this.#tx(() => {
      const row = this.get(path);
      if (!row) return null;
      const queued =
        queueDeleteReason !== undefined && row.fileId !== null
          ? this.#queue({ fileId: row.fileId, remoteName: row.remoteName, path: row.path, reason: queueDeleteReason })
          : null;
      this.#put(clearedRow(row, this.#now()));
      return queued;
    });
  }

  // --- remote deletes ------------------------------------------------------------------------------

  /** Queues a remote copy for deletion; a copy already queued keeps its first entry. */
  queueDelete(d: QueueDeleteInput): RemoteDelete {
    return this.#write(() => this.#queue(d));
  }

  #queue(d: QueueDeleteInput): RemoteDelete {
    this.#s.queueDelete.run(d.fileId, d.remoteName, d.path, d.reason, this.#now());
    const queued = this.#s.getDelete.get(d.fileId);
    if (!queued) throw new FilesyncError('E_INTERNAL', `remote delete ${d.fileId} vanished inside its own transaction`);
    return queued;
  }

  pendingDeletes(): RemoteDelete[] {
    return this.#s.pendingDeletes.all();
  }

  /** The API confirmed the delete (a 404 counts). */
  retireDelete(fileId: string): void {
    this.#write(() => this.#s.retireDelete.run(fileId));
  }

  deleteFailed(fileId: string, error: string): void {
    this.#write(() => this.#s.deleteFailed.run(error, fileId));
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
    void this.#walHandle?.close().catch(() => undefined);
    this.#walHandle = null;
    this.#db.close();
  }

  #put(row: FileRow): FileRow {
    const full: FileRow = { ...row, hashedAt: row.hashedAt ?? null, ctimeMs: row.ctimeMs ?? null, mimeType: row.mimeType ?? null, mimeNote: row.mimeNote ?? null };
    this.#s.put.run(full);
    if (this.#facts && !this.#facts.has(row.path)) this.#factsInOrder = false;
    this.#facts?.set(row.path, planRow(full));
    return full;
  }

  #deleteRow(row: FileRow): void {
    this.#s.deleteRow.run(row.pathKey);
    this.#facts?.delete(row.path);
  }
}

/**
 * A PlanRow of exactly these fields, in one shape (V8 keeps such objects compact), its remote
 * hash sharing the local hash's string when they are equal (the usual, synced case).
 */
const STATES: Readonly<Record<string, FileState>> = { pending: 'pending', synced: 'synced', failed: 'failed', skipped: 'skipped' };

function planRow(r: PlanRow): PlanRow {
  const sha256 = r.sha256;
  return {
    path: r.path,
    size: r.size,
    mtimeMs: r.mtimeMs,
    ino: r.ino,
    sha256,
    hashedAt: r.hashedAt ?? null,
    ctimeMs: r.ctimeMs ?? null,
    // One string per state, not one per row as sqlite returns them (100,000 rows: 2.4 MB).
    state: STATES[r.state] ?? r.state,
    fileId: r.fileId,
    remoteName: r.remoteName,
    remoteSha256: r.remoteSha256 !== null && r.remoteSha256 === sha256 ? sha256 : r.remoteSha256,
    remoteExpiresAt: r.remoteExpiresAt,
    skipReason: r.skipReason,
  };
}
