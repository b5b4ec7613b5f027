/**
 * IndexStore: the sqlite index, the truth that survives crashes and restarts. This file is the
 * only importer of better-sqlite3. Every method is synchronous; a method that writes several rows
 * does so in one transaction, so a crash leaves either all of it or none of it.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { FilesyncError, IndexError } from '../errors.js';
import { adoptHint, storageError } from './storage-error.js';
import { APP_MARKER, APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
import type { DeleteReason, FileRow, FileState, LocalObservation, RemoteDelete, StateCounts, UploadIntent } from './types.js';

export interface IndexStoreOptions {
  /** Open without writing: no migration, writes throw. For `status`/`ls` beside a running daemon. @default false */
  readonly readonly?: boolean;
  /** Clock for `updatedAt`, `queuedAt`. @default Date.now */
  readonly now?: () => number;
  /** How long a statement waits for another connection's lock. @default 5000 */
  readonly busyTimeoutMs?: number;
}

/** What the API told us about a remote copy, as commitUpload and adopt record it. */
export interface RemoteCopy {
  /** The local relative path the copy belongs to. */
  path: string;
  fileId: string;
  remoteName: string;
  size: number;
  sha256: string;
  createdAt: number | null;
  expiresAt: number | null;
}

/** What a full scan needs of a row to decide whether to read the file again. */
export type LocalFacts = Pick<FileRow, 'size' | 'mtimeMs' | 'ino' | 'sha256' | 'hashedAt'>;

export interface QueueDeleteInput {
  fileId: string;
  remoteName: string | null;
  path: string | null;
  reason: DeleteReason;
}

/** The primary key of a path: sha256 hex of its relative, '/'-separated form. */
export function pathKeyOf(path: string): string {
  return createHash('sha256').update(path, 'utf8').digest('hex');
}

const FILE_COLUMNS = `
  path_key AS pathKey, path, size, mtime_ms AS mtimeMs, ino, sha256, state, file_id AS fileId,
  remote_name AS remoteName, remote_sha256 AS remoteSha256, remote_size AS remoteSize,
  remote_created_at AS remoteCreatedAt, remote_expires_at AS remoteExpiresAt, attempts,
  last_error AS lastError, skip_reason AS skipReason, updated_at AS updatedAt, hashed_at AS hashedAt`;
const INTENT_COLUMNS = `id, path_key AS pathKey, path, remote_name AS remoteName, size, sha256, started_at AS startedAt`;
const DELETE_COLUMNS = `file_id AS fileId, remote_name AS remoteName, path, reason, queued_at AS queuedAt, attempts, last_error AS lastError`;

function sameRow(a: FileRow, b: FileRow): boolean {
  return (
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.ino === b.ino &&
    a.sha256 === b.sha256 &&
    (a.hashedAt ?? null) === (b.hashedAt ?? null) &&
    a.state === b.state &&
    a.skipReason === b.skipReason &&
    a.attempts === b.attempts &&
    a.lastError === b.lastError
  );
}

function prepareStatements(db: Database.Database) {
  return {
    get: db.prepare<[string], FileRow>(`SELECT ${FILE_COLUMNS} FROM files WHERE path_key = ?`),
    all: db.prepare<[], FileRow>(`SELECT ${FILE_COLUMNS} FROM files ORDER BY path`),
    count: db.prepare<[], number>('SELECT count(*) FROM files').pluck(),
    localFacts: db
      .prepare<[], [string, number, number, number, string | null, number | null]>(
        'SELECT path, size, mtime_ms, ino, sha256, hashed_at FROM files',
      )
      .raw(),
    countByState: db.prepare<[], { state: FileState; n: number }>('SELECT state, count(*) AS n FROM files GROUP BY state'),
    byState: db.prepare<[FileState, number], FileRow>(`SELECT ${FILE_COLUMNS} FROM files WHERE state = ? ORDER BY path LIMIT ?`),
    byFileId: db.prepare<[string], FileRow>(`SELECT ${FILE_COLUMNS} FROM files WHERE file_id = ? LIMIT 1`),
    put: db.prepare<[FileRow]>(`
      INSERT INTO files (path_key, path, size, mtime_ms, ino, sha256, state, file_id, remote_name, remote_sha256,
        remote_size, remote_created_at, remote_expires_at, attempts, last_error, skip_reason, updated_at, hashed_at)
      VALUES (@pathKey, @path, @size, @mtimeMs, @ino, @sha256, @state, @fileId, @remoteName, @remoteSha256,
        @remoteSize, @remoteCreatedAt, @remoteExpiresAt, @attempts, @lastError, @skipReason, @updatedAt, @hashedAt)
      ON CONFLICT (path_key) DO UPDATE SET path = excluded.path, size = excluded.size, mtime_ms = excluded.mtime_ms,
        ino = excluded.ino, sha256 = excluded.sha256, state = excluded.state, file_id = excluded.file_id,
        remote_name = excluded.remote_name, remote_sha256 = excluded.remote_sha256, remote_size = excluded.remote_size,
        remote_created_at = excluded.remote_created_at, remote_expires_at = excluded.remote_expires_at,
        attempts = excluded.attempts, last_error = excluded.last_error, skip_reason = excluded.skip_reason,
        updated_at = excluded.updated_at, hashed_at = excluded.hashed_at`),
    deleteRow: db.prepare<[string]>('DELETE FROM files WHERE path_key = ?'),
    setState: db.prepare<[FileState, number, string]>('UPDATE files SET state = ?, updated_at = ? WHERE path_key = ?'),
    insertIntent: db.prepare<[string, string, string, number, string, number]>(
      'INSERT INTO intents (path_key, path, remote_name, size, sha256, started_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    getIntent: db.prepare<[number], UploadIntent>(`SELECT ${INTENT_COLUMNS} FROM intents WHERE id = ?`),
    intents: db.prepare<[], UploadIntent>(`SELECT ${INTENT_COLUMNS} FROM intents ORDER BY id`),
    dropIntent: db.prepare<[number]>('DELETE FROM intents WHERE id = ?'),
    queueDelete: db.prepare<[string, string | null, string | null, DeleteReason, number]>(
      'INSERT OR IGNORE INTO remote_deletes (file_id, remote_name, path, reason, queued_at) VALUES (?, ?, ?, ?, ?)',
    ),
    getDelete: db.prepare<[string], RemoteDelete>(`SELECT ${DELETE_COLUMNS} FROM remote_deletes WHERE file_id = ?`),
    pendingDeletes: db.prepare<[], RemoteDelete>(`SELECT ${DELETE_COLUMNS} FROM remote_deletes ORDER BY queued_at, file_id`),
    retireDelete: db.prepare<[string]>('DELETE FROM remote_deletes WHERE file_id = ?'),
    deleteFailed: db.prepare<[string, string]>(
      'UPDATE remote_deletes SET attempts = attempts + 1, last_error = ? WHERE file_id = ?',
    ),
    ownedFileIds: db
      .prepare<[], string>('SELECT file_id FROM files WHERE file_id IS NOT NULL UNION SELECT file_id FROM remote_deletes')
      .pluck(),
    getMeta: db.prepare<[string], string>('SELECT value FROM meta WHERE key = ?').pluck(),
    setMeta: db.prepare<[string, string]>(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

export class IndexStore {
  readonly file: string;
  readonly readonly: boolean;
  #db: Database.Database;
  #s: Statements;
  #now: () => number;
  #closed = false;
  #facts: Map<string, LocalFacts> | null = null;

  private constructor(file: string, db: Database.Database, readonly: boolean, now: () => number) {
    this.file = file;
    this.readonly = readonly;
    this.#db = db;
    this.#now = now;
    this.#s = prepareStatements(db);
  }

  /** Opens (creating and migrating if needed) the index at `file`, or ':memory:'. */
  static open(file: string, options: IndexStoreOptions = {}): IndexStore {
    const readonly = options.readonly ?? false;
    const memory = file === ':memory:';
    if (readonly && !memory && !existsSync(file)) {
      throw new IndexError('E_INDEX_MISSING', `There is no index at ${file} yet.`, {
        hint: 'It is created when claude-filesync first runs with this state directory (run, sync or reconcile).',
      });
    }
    let db: Database.Database;
    try {
      db = new Database(file, { readonly, fileMustExist: readonly });
    } catch (err) {
      throw storageError(file, err) ?? new IndexError('E_INDEX_CORRUPT', `Cannot open the index ${file}: ${(err as Error).message}`, { hint: adoptHint(file), cause: err });
    }
    try {
      db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
      if (!readonly) {
        db.pragma('journal_mode = WAL');
        // WAL with synchronous=NORMAL survives any process crash (SIGKILL, OOM); only a power
        // loss can roll back the last commits. The one write that must survive even that is an
        // upload intent: the executor awaits flushDurable() (an fsync of the WAL off the main
        // thread) before sending a byte, instead of FULL's fsync in every commit, which blocks
        // the event loop.
        db.pragma('synchronous = NORMAL');
      }
      db.pragma('foreign_keys = ON');
      checkSchema(db, file, readonly);
      return new IndexStore(file, db, readonly, options.now ?? Date.now);
    } catch (err) {
      db.close();
      if (err instanceof IndexError) throw err;
      const storage = storageError(file, err);
      if (storage) throw storage;
      throw new IndexError('E_INDEX_CORRUPT', `The index ${file} is unreadable or corrupt: ${(err as Error).message}`, {
        hint: adoptHint(file),
        cause: err,
      });
    }
  }

  static pathKey(path: string): string {
    return pathKeyOf(path);
  }

  pathKey(path: string): string {
    return pathKeyOf(path);
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

  count(): number {
    return this.#s.count.get() ?? 0;
  }

  countByState(): StateCounts {
    const counts: StateCounts = { pending: 0, synced: 0, failed: 0, skipped: 0 };
    for (const { state, n } of this.#s.countByState.all()) counts[state] = n;
    return counts;
  }

  /**
   * A lookup for a full scan: the local facts (size, mtime, inode, hash) of every row, from a map
   * read in one query on first use and kept current by every write of this store. Reading whole
   * rows one by one costs several times more on a 100,000-file rescan. A failed transaction drops
   * the map (it is rebuilt on the next lookup), so it never holds facts the database does not.
   */
  localLookup(): (path: string) => LocalFacts | undefined {
    this.#loadFacts();
    return (path) => this.#loadFacts().get(path);
  }

  #loadFacts(): Map<string, LocalFacts> {
    if (this.#facts === null) {
      const facts = new Map<string, LocalFacts>();
      for (const [path, size, mtimeMs, ino, sha256, hashedAt] of this.#s.localFacts.all()) {
        facts.set(path, { size, mtimeMs, ino, sha256, hashedAt });
      }
      this.#facts = facts;
    }
    return this.#facts;
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
    if (!row) return this.#put({ ...newRow(obs.path, obs, obs.sha256, 'pending', this.#now()), hashedAt: obs.hashedAt ?? null });
    const synced = row.fileId !== null && obs.sha256 !== null && obs.sha256 === row.remoteSha256;
    const reset = synced || obs.sha256 !== row.sha256;
    const next: FileRow = {
      ...row,
      path: obs.path,
      size: obs.size,
      mtimeMs: obs.mtimeMs,
      ino: obs.ino,
      sha256: obs.sha256,
      hashedAt: obs.hashedAt ?? (obs.sha256 === row.sha256 ? (row.hashedAt ?? null) : null),
      state: synced ? 'synced' : 'pending',
      skipReason: null,
      attempts: reset ? 0 : row.attempts,
      lastError: reset ? null : row.lastError,
    };
    return sameRow(row, next) ? row : this.#put({ ...next, updatedAt: this.#now() });
  }

  /**
   * Marks a path skipped with a reason (too large, ignored, not a regular file). Remote fields are
   * kept: a file that grew past the limit keeps its old remote copy until the planner decides.
   */
  markSkipped(obs: { path: string; size: number; mtimeMs: number; ino: number }, reason: string): FileRow {
    return this.#tx(() => {
      const row = this.get(obs.path);
      const base = row ?? newRow(obs.path, obs, null, 'skipped', this.#now());
      const next: FileRow = {
        ...base,
        path: obs.path,
        size: obs.size,
        mtimeMs: obs.mtimeMs,
        ino: obs.ino,
        sha256: null,
        hashedAt: null,
        state: 'skipped',
        skipReason: reason,
        attempts: 0,
        lastError: null,
      };
      return row && sameRow(row, next) ? row : this.#put({ ...next, updatedAt: this.#now() });
    });
  }

  /**
   * Counts a failed attempt (unreadable file, refused upload). A path the index did not know gets
   * a row, so that the failure shows in `status` and `ls`; `obs` fills in its local facts.
   */
  markFailed(path: string, error: string, obs?: { size: number; mtimeMs: number; ino: number }): void {
    this.#tx(() => {
      const row = this.get(path) ?? newRow(path, obs ?? { size: 0, mtimeMs: 0, ino: 0 }, null, 'failed', this.#now());
      this.#put({
        ...row,
        ...(obs ? { size: obs.size, mtimeMs: obs.mtimeMs, ino: obs.ino } : {}),
        state: 'failed',
        attempts: row.attempts + 1,
        lastError: error,
        updatedAt: this.#now(),
      });
    });
  }

  markPending(path: string): void {
    this.#write(() => this.#s.setState.run('pending', this.#now(), pathKeyOf(path)));
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
    const state: FileState =
      row.state === 'skipped' ? 'skipped' : row.sha256 !== null && row.sha256 === remote.sha256 ? 'synced' : 'pending';
    this.#put({
      ...row,
      state,
      fileId: remote.fileId,
      remoteName: remote.remoteName,
      remoteSha256: remote.sha256,
      remoteSize: remote.size,
      remoteCreatedAt: remote.createdAt,
      remoteExpiresAt: remote.expiresAt,
      attempts: state === 'synced' ? 0 : row.attempts,
      lastError: state === 'synced' ? null : row.lastError,
      updatedAt: this.#now(),
    });
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
      this.#put({
        ...row,
        state: row.state === 'skipped' ? 'skipped' : 'pending',
        fileId: null,
        remoteName: null,
        remoteSha256: null,
        remoteSize: null,
        remoteCreatedAt: null,
        remoteExpiresAt: null,
        updatedAt: this.#now(),
      });
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
    const full: FileRow = { ...row, hashedAt: row.hashedAt ?? null };
    this.#s.put.run(full);
    this.#facts?.set(row.path, { size: row.size, mtimeMs: row.mtimeMs, ino: row.ino, sha256: row.sha256, hashedAt: full.hashedAt });
    return full;
  }

  #deleteRow(row: FileRow): void {
    this.#s.deleteRow.run(row.pathKey);
    this.#facts?.delete(row.path);
  }
}

function newRow(
  path: string,
  local: { size: number; mtimeMs: number; ino: number },
  sha256: string | null,
  state: FileState,
  now: number,
): FileRow {
  return {
    pathKey: pathKeyOf(path),
    path,
    size: local.size,
    mtimeMs: local.mtimeMs,
    ino: local.ino,
    sha256,
    state,
    fileId: null,
    remoteName: null,
    remoteSha256: null,
    remoteSize: null,
    remoteCreatedAt: null,
    remoteExpiresAt: null,
    attempts: 0,
    lastError: null,
    skipReason: null,
    updatedAt: now,
    hashedAt: null,
  };
}

/** Recognises our own index, creates or migrates it, and refuses anything else. */
function checkSchema(db: Database.Database, file: string, readonly: boolean): void {
  const appId = db.pragma('application_id', { simple: true }) as number;
  const tables = db.prepare<[], number>("SELECT count(*) FROM sqlite_master WHERE type = 'table'").pluck().get() ?? 0;
  if (appId === 0 && tables === 0) {
    if (readonly) {
      throw new IndexError('E_INDEX_MISSING', `The index ${file} is empty.`, {
        hint: 'It is filled when claude-filesync first runs with this state directory (run, sync or reconcile).',
      });
    }
    migrate(db, file);
    return;
  }
  if (appId !== APPLICATION_ID) {
    throw new IndexError('E_INDEX_FOREIGN', `${file} is a sqlite database, but not a claude-filesync index.`, { hint: adoptHint(file) });
  }
  const version = readVersion(db, file);
  if (version > SCHEMA_VERSION) {
    throw new IndexError(
      'E_INDEX_NEWER',
      `The index ${file} has schema version ${version}, newer than this claude-filesync knows (${SCHEMA_VERSION}).`,
      { hint: `Upgrade claude-filesync, or: ${adoptHint(file)}` },
    );
  }
  if (version < SCHEMA_VERSION) {
    if (readonly) {
      throw new IndexError('E_INDEX_OLDER', `The index ${file} has the older schema version ${version} and needs an upgrade.`, {
        hint: 'Start the daemon (claude-filesync run) once: it upgrades the index.',
      });
    }
    migrate(db, file);
  } else if (!readonly) {
    const check = db.pragma('quick_check(1)', { simple: true });
    if (check !== 'ok') {
      throw new IndexError('E_INDEX_CORRUPT', `The index ${file} is corrupt (${String(check)}).`, { hint: adoptHint(file) });
    }
  }
}

function readVersion(db: Database.Database, file: string): number {
  let raw: unknown;
  try {
    raw = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get();
  } catch (err) {
    throw new IndexError('E_INDEX_CORRUPT', `The index ${file} has no readable schema version.`, { hint: adoptHint(file), cause: err });
  }
  const version = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(version) || version < 1) {
    throw new IndexError('E_INDEX_CORRUPT', `The index ${file} has no valid schema version (${String(raw)}).`, { hint: adoptHint(file) });
  }
  return version;
}

function migrate(db: Database.Database, file: string): void {
  db.transaction(() => {
    // Re-read inside the write lock: another process may have migrated meanwhile.
    const hasMeta = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'").pluck().get();
    const current = hasMeta ? readVersion(db, file) : 0;
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      db.exec(m.sql);
      db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(
        String(m.version),
      );
    }
    db.prepare("INSERT INTO meta (key, value) VALUES ('app', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(APP_MARKER);
    db.pragma(`application_id = ${APPLICATION_ID}`);
  }).immediate();
}
