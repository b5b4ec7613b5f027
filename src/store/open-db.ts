/**
 * Opening the index: the connection, its pragmas, and the schema check that recognises our own
 * index, creates or migrates it, and refuses anything else, each refusal with its own code.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { IndexError, ErrorCode } from '../errors.js';
import { APP_MARKER, APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
import { adoptHint, storageError } from './storage-error.js';

/** The connection's page cache, in KiB. */
const PAGE_CACHE_KIB = 2000;

interface OpenDatabaseOptions {
  readonly readonly: boolean;
  readonly busyTimeoutMs: number;
}

/**
 * Opens (creating and migrating if needed) the index at `file`, or ':memory:', and hands the
 * connection to `build` (which prepares its statements: a table that cannot be read fails there,
 * and is named as corrupt like any other failure to open).
 */
export function openDatabase<T>(file: string, options: OpenDatabaseOptions, build: (db: Database.Database) => T): T {
  const { readonly } = options;
  const memory = file === ':memory:';
  if (readonly && !memory && !existsSync(file)) {
    throw new IndexError(ErrorCode.IndexMissing, `There is no index at ${file} yet.`, {
      hint: 'It is created when claude-filesync first runs with this state directory (run, sync or reconcile).',
    });
  }
  let db: Database.Database;
  try {
    db = new Database(file, { readonly, fileMustExist: readonly });
  } catch (err) {
    throw (
      storageError(file, err) ??
      new IndexError(ErrorCode.IndexCorrupt, `Cannot open the index ${file}: ${(err as Error).message}`, {
        hint: adoptHint(file),
        cause: err,
      })
    );
  }
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs))}`);
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
    // SQLite's own default page cache (2 MB), not the 16 MB better-sqlite3 builds in: a full
    // read of a 100,000-row index would fill all 16 MB and keep it for the daemon's life, while
    // the OS page cache holds the file anyway (measured: 35 MB less peak RSS for a reconcile).
    db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    checkSchema(db, file, readonly);
    return build(db);
  } catch (err) {
    db.close();
    if (err instanceof IndexError) throw err;
    const storage = storageError(file, err);
    if (storage) throw storage;
    throw new IndexError(
      ErrorCode.IndexCorrupt,
      `The index ${file} is unreadable or corrupt: ${(err as Error).message}`,
      {
        hint: adoptHint(file),
        cause: err,
      },
    );
  }
}

/** Recognises our own index, creates or migrates it, and refuses anything else. */
function checkSchema(db: Database.Database, file: string, readonly: boolean): void {
  const appId = db.pragma('application_id', { simple: true }) as number;
  const tables = db.prepare<[], number>("SELECT count(*) FROM sqlite_master WHERE type = 'table'").pluck().get() ?? 0;
  if (appId === 0 && tables === 0) {
    if (readonly) {
      throw new IndexError(ErrorCode.IndexMissing, `The index ${file} is empty.`, {
        hint: 'It is filled when claude-filesync first runs with this state directory (run, sync or reconcile).',
      });
    }
    migrate(db, file);
    return;
  }
  if (appId !== APPLICATION_ID) {
    throw new IndexError(ErrorCode.IndexForeign, `${file} is a sqlite database, but not a claude-filesync index.`, {
      hint: adoptHint(file),
    });
  }
  const version = readVersion(db, file);
  if (version > SCHEMA_VERSION) {
    throw new IndexError(
      ErrorCode.IndexNewer,
      `The index ${file} has schema version ${version}, newer than this claude-filesync knows (${SCHEMA_VERSION}).`,
      { hint: `Upgrade claude-filesync, or: ${adoptHint(file)}` },
    );
  }
  if (version < SCHEMA_VERSION) {
    if (readonly) {
      throw new IndexError(
        ErrorCode.IndexOlder,
        `The index ${file} has the older schema version ${version} and needs an upgrade.`,
        {
          hint: 'Start the daemon (claude-filesync run) once: it upgrades the index.',
        },
      );
    }
    migrate(db, file);
  } else if (!readonly) {
    const check = db.pragma('quick_check(1)', { simple: true });
    if (check !== 'ok') {
      throw new IndexError(ErrorCode.IndexCorrupt, `The index ${file} is corrupt (${String(check)}).`, {
        hint: adoptHint(file),
      });
    }
  }
}

function readVersion(db: Database.Database, file: string): number {
  let raw: unknown;
  try {
    raw = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get();
  } catch (err) {
    throw new IndexError(ErrorCode.IndexCorrupt, `The index ${file} has no readable schema version.`, {
      hint: adoptHint(file),
      cause: err,
    });
  }
  const version = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(version) || version < 1) {
    throw new IndexError(ErrorCode.IndexCorrupt, `The index ${file} has no valid schema version (${String(raw)}).`, {
      hint: adoptHint(file),
    });
  }
  return version;
}

function migrate(db: Database.Database, file: string): void {
  db.transaction(() => {
    // Re-read inside the write lock: another process may have migrated meanwhile.
    const hasMeta = db
      .prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
      .pluck()
      .get();
    const current = hasMeta ? readVersion(db, file) : 0;
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      db.exec(m.sql);
      db.prepare(
        "INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ).run(String(m.version));
    }
    db.prepare(
      "INSERT INTO meta (key, value) VALUES ('app', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ).run(APP_MARKER);
    db.pragma(`application_id = ${APPLICATION_ID}`);
  }).immediate();
}
