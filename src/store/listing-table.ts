/**
 * The remote listing of one reconcile, kept in a TEMP table of the index connection instead of
 * in memory: a listing of 100,000 files held as objects costs tens of megabytes, and it grows
 * with the account, not with the folder. The pages are written as they arrive (one transaction
 * each) and the planner reads the table by id (has/get) and once in full (values), so the
 * process never holds the whole listing.
 *
 * A TEMP table lives in the connection's own temporary database: it is not part of the index
 * file, needs no write lock on it (a read-only connection can hold one too) and vanishes with
 * the connection. A new table is empty; the previous pass's rows are dropped when it is made.
 */
import type Database from 'better-sqlite3';
import type { ListedFile } from './types.js';

/** Page cache of the connection's temporary database, in KiB. */
const TEMP_CACHE_KIB = 2048;

const COLUMNS = 'id, filename, size, created_at AS createdAt, expires_at AS expiresAt, mime_type AS mimeType';

export class ListingTable {
  #db: Database.Database;
  #insert: Database.Statement<[string, string, number, number, number | null, string | null]>;
  #get: Database.Statement<[string], ListedFile>;
  #has: Database.Statement<[string], number>;
  #all: Database.Statement<[], ListedFile>;
  #count: Database.Statement<[], number>;
  #named: Database.Statement<[string], ListedFile> | null = null;
  #size: number | null = 0;
  #onError: (err: unknown) => unknown;

  /** `onError` turns a failed write into the error to throw (a full disk named as such). */
  constructor(db: Database.Database, onError: (err: unknown) => unknown = (err) => err) {
    this.#db = db;
    this.#onError = onError;
    try {
      // The temporary database's page cache would otherwise grow to the build's default 16 MB;
      // beyond 2 MB the table spills to its temporary file (in the OS page cache, not our RSS).
      db.pragma(`temp.cache_size = -${TEMP_CACHE_KIB}`);
      db.exec(`CREATE TEMP TABLE IF NOT EXISTS listing (
        id TEXT PRIMARY KEY, filename TEXT NOT NULL, size INTEGER NOT NULL, created_at INTEGER NOT NULL,
        expires_at INTEGER, mime_type TEXT) WITHOUT ROWID`);
      db.exec('DELETE FROM temp.listing');
      db.exec('DROP INDEX IF EXISTS temp.listing_filename');
    } catch (err) {
      throw onError(err);
    }
    // A file listed twice (a page boundary moved under us) is one file, as in a Map by id.
    this.#insert = db.prepare(
      `INSERT INTO temp.listing (id, filename, size, created_at, expires_at, mime_type) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET filename = excluded.filename, size = excluded.size, created_at = excluded.created_at,
         expires_at = excluded.expires_at, mime_type = excluded.mime_type`,
    );
    this.#get = db.prepare(`SELECT ${COLUMNS} FROM temp.listing WHERE id = ?`);
    this.#has = db.prepare<[string], number>('SELECT 1 FROM temp.listing WHERE id = ?').pluck();
    // In the table's own order (by id): an ORDER BY would sort the whole listing first.
    this.#all = db.prepare(`SELECT ${COLUMNS} FROM temp.listing`);
    this.#count = db.prepare<[], number>('SELECT count(*) FROM temp.listing').pluck();
  }

  /** Writes one page of the listing (one transaction). */
  add(files: readonly ListedFile[]): void {
    try {
      this.#db.transaction(() => {
        for (const f of files) this.#insert.run(f.id, f.filename, f.size, f.createdAt, f.expiresAt, f.mimeType ?? null);
      })();
    } catch (err) {
      throw this.#onError(err);
    }
    this.#size = null;
  }

  /** Files listed (distinct ids). */
  get size(): number {
    this.#size ??= this.#count.get() ?? 0;
    return this.#size;
  }

  has(id: string): boolean {
    return this.#has.get(id) !== undefined;
  }

  get(id: string): ListedFile | undefined {
    return this.#get.get(id);
  }

  /**
   * The listed files with this name. Only reconcile's early batches ask (src/reconcile/early-plan.ts),
   * once the listing is complete: the by-name index is built then, in one sort, so a pass that
   * never asks pays nothing for it on insert. Ask only after the last add.
   */
  named(filename: string): ListedFile[] {
    if (this.#named === null) {
      try {
        this.#db.exec('CREATE INDEX IF NOT EXISTS temp.listing_filename ON listing (filename)');
      } catch (err) {
        throw this.#onError(err);
      }
      this.#named = this.#db.prepare(`SELECT ${COLUMNS} FROM temp.listing WHERE filename = ?`);
    }
    return this.#named.all(filename);
  }

  /** Every listed file (by id), read row by row. No write may happen until it ends. */
  values(): IterableIterator<ListedFile> {
    return this.#all.iterate();
  }

  /** Drops the rows (the table stays, empty, for the next pass). */
  clear(): void {
    try {
      this.#db.exec('DELETE FROM temp.listing');
      this.#db.exec('DROP INDEX IF EXISTS temp.listing_filename');
    } catch (err) {
      throw this.#onError(err);
    }
    this.#named = null;
    this.#size = 0;
  }
}
