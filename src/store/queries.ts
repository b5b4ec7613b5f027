/**
 * Every SQL statement the store runs, prepared once per connection and typed by its parameters
 * and rows. Columns are renamed to the camelCase fields of ./types.ts in the SELECTs, so rows come
 * back as FileRow, UploadIntent and RemoteDelete without copying.
 */
import type Database from 'better-sqlite3';
import type { DeleteReason, FileRow, FileState, RemoteDelete, UploadIntent } from './types.js';

const FILE_COLUMNS = `
  path_key AS pathKey, path, size, mtime_ms AS mtimeMs, ino, sha256, state, file_id AS fileId,
  remote_name AS remoteName, remote_sha256 AS remoteSha256, remote_size AS remoteSize,
  remote_created_at AS remoteCreatedAt, remote_expires_at AS remoteExpiresAt, attempts,
  last_error AS lastError, skip_reason AS skipReason, updated_at AS updatedAt, hashed_at AS hashedAt, ctime_ms AS ctimeMs,
  mime_type AS mimeType, mime_note AS mimeNote`;
const INTENT_COLUMNS = `id, path_key AS pathKey, path, remote_name AS remoteName, size, sha256, started_at AS startedAt`;
const DELETE_COLUMNS = `file_id AS fileId, remote_name AS remoteName, path, reason, queued_at AS queuedAt, attempts, last_error AS lastError`;

export function prepareQueries(db: Database.Database) {
  return {
    get: db.prepare<[string], FileRow>(`SELECT ${FILE_COLUMNS} FROM files WHERE path_key = ?`),
    all: db.prepare<[], FileRow>(`SELECT ${FILE_COLUMNS} FROM files ORDER BY path`),
    count: db.prepare<[], number>('SELECT count(*) FROM files').pluck(),
    planRows: db
      .prepare<
        [],
        [
          string,
          number,
          number,
          number,
          string | null,
          number | null,
          number | null,
          FileState,
          string | null,
          string | null,
          string | null,
          number | null,
          string | null,
        ]
      >(
        `SELECT path, size, mtime_ms, ino, sha256, hashed_at, ctime_ms, state, file_id, remote_name, remote_sha256, remote_expires_at, skip_reason
         FROM files ORDER BY path`,
      )
      .raw(),
    syncedTypes: db.prepare<[], { path: string; mimeType: string | null; mimeNote: string | null }>(
      "SELECT path, mime_type AS mimeType, mime_note AS mimeNote FROM files WHERE state = 'synced'",
    ),
    paths: db.prepare<[], string>('SELECT path FROM files ORDER BY path').pluck(),
    countByState: db.prepare<[], { state: FileState; n: number }>(
      'SELECT state, count(*) AS n FROM files GROUP BY state',
    ),
    byState: db.prepare<[FileState, number], FileRow>(
      `SELECT ${FILE_COLUMNS} FROM files WHERE state = ? ORDER BY path LIMIT ?`,
    ),
    oldestPending: db.prepare<[], FileRow>(
      `SELECT ${FILE_COLUMNS} FROM files WHERE state = 'pending' ORDER BY updated_at, path LIMIT 1`,
    ),
    lastUploadAt: db
      .prepare<[], number | null>('SELECT max(remote_created_at) FROM files WHERE file_id IS NOT NULL')
      .pluck(),
    oldestDelete: db.prepare<[], RemoteDelete>(
      `SELECT ${DELETE_COLUMNS} FROM remote_deletes ORDER BY queued_at, file_id LIMIT 1`,
    ),
    deleteCount: db.prepare<[], number>('SELECT count(*) FROM remote_deletes').pluck(),
    withMimeNote: db.prepare<[number], FileRow>(
      `SELECT ${FILE_COLUMNS} FROM files WHERE mime_note IS NOT NULL ORDER BY path LIMIT ?`,
    ),
    byFileId: db.prepare<[string], FileRow>(`SELECT ${FILE_COLUMNS} FROM files WHERE file_id = ? LIMIT 1`),
    put: db.prepare<[FileRow]>(`
      INSERT INTO files (path_key, path, size, mtime_ms, ino, sha256, state, file_id, remote_name, remote_sha256,
        remote_size, remote_created_at, remote_expires_at, attempts, last_error, skip_reason, updated_at, hashed_at, ctime_ms, mime_type, mime_note)
      VALUES (@pathKey, @path, @size, @mtimeMs, @ino, @sha256, @state, @fileId, @remoteName, @remoteSha256,
        @remoteSize, @remoteCreatedAt, @remoteExpiresAt, @attempts, @lastError, @skipReason, @updatedAt, @hashedAt, @ctimeMs, @mimeType, @mimeNote)
      ON CONFLICT (path_key) DO UPDATE SET path = excluded.path, size = excluded.size, mtime_ms = excluded.mtime_ms,
        ino = excluded.ino, sha256 = excluded.sha256, state = excluded.state, file_id = excluded.file_id,
        remote_name = excluded.remote_name, remote_sha256 = excluded.remote_sha256, remote_size = excluded.remote_size,
        remote_created_at = excluded.remote_created_at, remote_expires_at = excluded.remote_expires_at,
        attempts = excluded.attempts, last_error = excluded.last_error, skip_reason = excluded.skip_reason,
        updated_at = excluded.updated_at, hashed_at = excluded.hashed_at, ctime_ms = excluded.ctime_ms,
        mime_type = excluded.mime_type, mime_note = excluded.mime_note`),
    deleteRow: db.prepare<[string]>('DELETE FROM files WHERE path_key = ?'),
    setState: db.prepare<[FileState, number, string]>('UPDATE files SET state = ?, updated_at = ? WHERE path_key = ?'),
    insertIntent: db.prepare<[string, string, string, number, string, number]>(
      'INSERT INTO intents (path_key, path, remote_name, size, sha256, started_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    getIntent: db.prepare<[number], UploadIntent>(`SELECT ${INTENT_COLUMNS} FROM intents WHERE id = ?`),
    intents: db.prepare<[], UploadIntent>(`SELECT ${INTENT_COLUMNS} FROM intents ORDER BY id`),
    intentsFor: db.prepare<[string], UploadIntent>(
      `SELECT ${INTENT_COLUMNS} FROM intents WHERE path_key = ? ORDER BY id`,
    ),
    dropIntent: db.prepare<[number]>('DELETE FROM intents WHERE id = ?'),
    queueDelete: db.prepare<[string, string | null, string | null, DeleteReason, number]>(
      'INSERT OR IGNORE INTO remote_deletes (file_id, remote_name, path, reason, queued_at) VALUES (?, ?, ?, ?, ?)',
    ),
    getDelete: db.prepare<[string], RemoteDelete>(`SELECT ${DELETE_COLUMNS} FROM remote_deletes WHERE file_id = ?`),
    pendingDeletes: db.prepare<[], RemoteDelete>(
      `SELECT ${DELETE_COLUMNS} FROM remote_deletes ORDER BY queued_at, file_id`,
    ),
    retireDelete: db.prepare<[string]>('DELETE FROM remote_deletes WHERE file_id = ?'),
    deleteFailed: db.prepare<[string, string]>(
      'UPDATE remote_deletes SET attempts = attempts + 1, last_error = ? WHERE file_id = ?',
    ),
    ownedFileIds: db
      .prepare<[], string>(
        'SELECT file_id FROM files WHERE file_id IS NOT NULL UNION SELECT file_id FROM remote_deletes',
      )
      .pluck(),
    totalChanges: db.prepare<[], number>('SELECT total_changes()').pluck(),
    getMeta: db.prepare<[string], string>('SELECT value FROM meta WHERE key = ?').pluck(),
    setMeta: db.prepare<[string, string]>(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
  };
}

export type Queries = ReturnType<typeof prepareQueries>;
