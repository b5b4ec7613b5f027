/**
 * The index schema as numbered migrations. Migration N brings a database from version N-1 to N;
 * each runs in the same transaction as the bump of `meta.schema_version`. Never edit a released
 * migration: add a new one.
 */

/** `PRAGMA application_id`: 'CFSY', so that a foreign sqlite file is recognised. */
export const APPLICATION_ID = 0x43465359;
/** Also kept in `meta` under `app`, for tools that do not show the application id. */
export const APP_MARKER = 'claude-filesync';

interface Migration {
  readonly version: number;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE files (
        path_key          TEXT PRIMARY KEY,
        path              TEXT NOT NULL,
        size              INTEGER NOT NULL,
        mtime_ms          REAL NOT NULL,
        ino               INTEGER NOT NULL,
        sha256            TEXT,
        state             TEXT NOT NULL CHECK (state IN ('pending', 'synced', 'failed', 'skipped')),
        file_id           TEXT,
        remote_name       TEXT,
        remote_sha256     TEXT,
        remote_size       INTEGER,
        remote_created_at INTEGER,
        remote_expires_at INTEGER,
        attempts          INTEGER NOT NULL DEFAULT 0,
        last_error        TEXT,
        skip_reason       TEXT,
        updated_at        INTEGER NOT NULL
      );
      CREATE INDEX files_file_id ON files (file_id) WHERE file_id IS NOT NULL;
      CREATE INDEX files_state ON files (state);

      CREATE TABLE intents (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        path_key    TEXT NOT NULL,
        path        TEXT NOT NULL,
        remote_name TEXT NOT NULL,
        size        INTEGER NOT NULL,
        sha256      TEXT NOT NULL,
        started_at  INTEGER NOT NULL
      );
      CREATE INDEX intents_path_key ON intents (path_key);

      CREATE TABLE remote_deletes (
        file_id     TEXT PRIMARY KEY,
        remote_name TEXT,
        path        TEXT,
        reason      TEXT NOT NULL,
        queued_at   INTEGER NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        last_error  TEXT
      ) WITHOUT ROWID;
    `,
  },
  {
    // When the hash was taken, so that a hash racing a write in the same mtime tick is not reused.
    version: 2,
    sql: `ALTER TABLE files ADD COLUMN hashed_at REAL;`,
  },
  {
    // The inode's change time: a same-stat edit (`cp -p`, `touch -r`) keeps size, mtime and inode
    // but always moves ctime. Rows from before have NULL and are hashed once on their next look.
    version: 3,
    sql: `ALTER TABLE files ADD COLUMN ctime_ms REAL;`,
  },
  {
    // The Content-Type the remote copy was uploaded with (it decides the Messages block a file id
    // fits: src/plan/mime-policy.ts), and why a text-like file could not be sent as text/plain.
    // NULL for copies uploaded or adopted before: their type is not known.
    version: 4,
    sql: `
      ALTER TABLE files ADD COLUMN mime_type TEXT;
      ALTER TABLE files ADD COLUMN mime_note TEXT;
      CREATE INDEX files_mime_note ON files (path) WHERE mime_note IS NOT NULL;
    `,
  },
];

export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
