/**
 * The executor runs one job against the API and records the outcome in the index, in the order
 * that keeps a crash harmless:
 *   upload: intent recorded -> bytes streamed (hashed as they go) -> file id committed in the same
 *           transaction that marks the row synced and queues the superseded copy for deletion;
 *   delete: the API call -> the queued delete retired (404 counts as done).
 * A crash between any two steps leaves an intent or a queued delete that the next reconcile
 * finishes or undoes.
 */
import { constants as fsConstants, fstatSync, realpathSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { UploadSourceError } from '../api/errors.js';
import type { FilesApi } from '../api/types.js';
import { INTENT_CLOCK_SKEW_MS, mayBeStoredBy } from '../files-api/limits.js';
import type { FileMetadata } from '../files-api/wire.js';
import type { IndexStore } from '../store/store.js';
import { remoteHolds, type FileRow, type RemoteDelete } from '../store/types.js';
import { SMALL_READ_BYTES, type FsSpeed } from '../scan/fs-speed.js';
import { readUpTo } from '../scan/hash.js';
import { relativeInside } from '../scan/inside.js';
import { blockTypeOf, chooseMimeType, isTextLike, registeredType, type MimeChoice } from '../plan/mime-policy.js';
import { remoteNameFor } from '../plan/naming.js';
import { API_REFUSED_TOO_LARGE } from '../plan/plan.js';
import { classifyError, factsOf, type FailureFacts } from '../plan/error-class.js';
import { toRemote } from '../plan/remote-file.js';
import { isUtf8, isUtf8File } from './is-utf8-file.js';
import { RealRoot } from './real-root.js';
import { ErrorCode } from '../errors.js';

export { RealRoot } from './real-root.js';
export type { FailureFacts } from '../plan/error-class.js';

export interface ExecutorDeps {
  root: string;
  /** The root's real path, resolved once (./real-root.ts). Absent: resolved for every upload. */
  realRoot?: RealRoot;
  /**
   * Whether the folder's filesystem is fast (src/scan/fs-speed.ts): a small file is then read
   * whole in one synchronous call and uploaded from memory. Absent: every file goes through the
   * client's own reads.
   */
  fsSpeed?: FsSpeed;
  index: IndexStore;
  client: FilesApi;
  logger: Logger;
  now: () => number;
  /** GA only; null = never expire. */
  expiresInSeconds: number | null;
  maxFileBytes: number;
  /** The owner tag our names carry (config.sync.ownerTag). */
  ownerTag: string;
  /** `sync.mimeTypes`: upload type per extension, over the MIME policy. */
  mimeTypes?: Readonly<Record<string, string>>;
  /** Intents of uploads running now, so a concurrent reconcile leaves them alone. */
  liveIntents: Set<number>;
  /** A remote delete was queued outside an upload's own outcome (an orphan found): run it. */
  onDeleteQueued?: (d: RemoteDelete) => void;
}

export type UploadOutcome =
  | { kind: 'nothing' }
  | { kind: 'uploaded'; fileId: string; bytes: number; superseded: RemoteDelete | null; recovered: boolean }
  | { kind: 'changed'; discarded: RemoteDelete }
  /**
   * A retryable failure leaves the row pending (waiting is not failing): the engine requeues it,
   * or marks it failed once the server has stopped answering anything (src/plan/backoff.ts).
   */
  | ({ kind: 'failed'; error: string; intentKept: boolean } & FailureFacts)
  | { kind: 'skipped'; reason: string };

type DeleteOutcome = { kind: 'deleted' | 'gone' | 'nothing' } | ({ kind: 'failed'; error: string } & FailureFacts);

/**
 * Uploads the current content of `relPath` if its row needs it. `retype`: also when the synced
 * copy went up with another type than the MIME policy wants now (src/plan/mime-policy.ts).
 */
export async function uploadPath(
  deps: ExecutorDeps,
  relPath: string,
  signal?: AbortSignal,
  retype = false,
): Promise<UploadOutcome> {
  const { index, client, logger } = deps;
  const row = index.get(relPath);
  if (!row || row.state === 'skipped' || row.sha256 === null) return { kind: 'nothing' };
  const current = remoteHolds(row, row.sha256);
  if (current && !retype) return { kind: 'nothing' };
  if (row.size > deps.maxFileBytes)
    return { kind: 'skipped', reason: `larger than sync.maxFileBytes (${row.size} > ${deps.maxFileBytes} bytes)` };

  // Never read outside the folder: upload from the real path, only when it lies inside the real
  // root, and only the inode that was scanned (the client opens it once, without following links).
  let source: string;
  let bytes: Buffer | null;
  try {
    source = await realPathInside(deps.realRoot ?? new RealRoot(deps.root), relPath, deps.fsSpeed);
    bytes = readSmall(deps.fsSpeed, source, row);
  } catch (err) {
    if (isGone(err)) return goneBeforeUpload(deps, relPath);
    const c = classifyError(err);
    index.markFailed(relPath, c.message);
    logger.warn({ event: 'failure', path: relPath, err: c.message }, 'not uploaded');
    return { kind: 'failed', error: c.message, ...factsOf(c), retryable: false, intentKept: false };
  }

  // An earlier attempt for this path may have stored a copy without our hearing of it (a
  // timeout, a garbled answer): find it before uploading again, so nothing is stored twice.
  const adopted = await resolveStaleIntents(deps, relPath, signal);
  if (adopted) return adopted;

  const mime = await mimeFor(deps, relPath, source, bytes);
  if (current && blockTypeOf(row.mimeType ?? registeredType(relPath)) === mime.block) return { kind: 'nothing' };
  const remoteName = remoteNameFor(relPath, row.sha256, deps.ownerTag);
  const intent = index.recordIntent({
    path: relPath,
    remoteName,
    size: row.size,
    sha256: row.sha256,
    startedAt: deps.now(),
  });
  deps.liveIntents.add(intent.id);
  const started = deps.now();
  try {
    // The intent must survive a power loss before a byte leaves: else a stored copy could be
    // left that no one owns.
    await index.flushDurable();
    const result = await client.upload(bytes ? { bytes } : { path: source }, {
      filename: remoteName,
      mimeType: mime.mimeType,
      expectedIno: row.ino,
      // Lost-response recovery must never mistake the copy we are replacing for the new one.
      ...(row.fileId ? { recoveryExcludeIds: [row.fileId] } : {}),
      ...(deps.expiresInSeconds !== null && client.shape === 'ga' ? { expiresInSeconds: deps.expiresInSeconds } : {}),
      ...(signal ? { signal } : {}),
    });
    const { createdAt, expiresAt } = toRemote(result.file);
    if (result.sha256 !== intent.sha256 || result.bytesSent !== intent.size) {
      // The file changed while it streamed: what was stored is neither the old nor a settled new
      // version. Delete it and let the path settle and upload again.
      index.discardUpload(intent.id, result.file.id, 'changed-during-upload');
      logger.info(
        { event: 'changed-during-upload', path: relPath, fileId: result.file.id },
        'file changed while uploading; will upload again once it settles',
      );
      return {
        kind: 'changed',
        discarded: {
          fileId: result.file.id,
          remoteName,
          path: relPath,
          reason: 'changed-during-upload',
          queuedAt: deps.now(),
          attempts: 0,
          lastError: null,
        },
      };
    }
    const superseded = index.commitUpload(intent.id, {
      path: relPath,
      fileId: result.file.id,
      remoteName,
      size: result.bytesSent,
      sha256: result.sha256,
      createdAt,
      expiresAt,
      mimeType: mime.mimeType,
      mimeNote: mime.note,
    });
    const removedMeanwhile = superseded?.fileId === result.file.id;
    logger.info(
      {
        event: removedMeanwhile ? 'upload-orphaned' : row.fileId ? 'replace' : 'upload',
        path: relPath,
        fileId: result.file.id,
        ...(row.fileId ? { oldFileId: row.fileId } : {}),
        size: result.bytesSent,
        mimeType: mime.mimeType,
        ...(mime.note ? { note: mime.note } : {}),
        durationMs: deps.now() - started,
        ...(result.recovered ? { recovered: true } : {}),
      },
      removedMeanwhile ? 'uploaded, but the file was removed meanwhile' : row.fileId ? 'replaced' : 'uploaded',
    );
    return {
      kind: 'uploaded',
      fileId: result.file.id,
      bytes: result.bytesSent,
      superseded,
      recovered: result.recovered,
    };
  } catch (err) {
    const c = classifyError(err);
    // An ambiguous failure may have stored the file: keep the intent for reconcile to resolve.
    if (!c.ambiguous) index.dropIntent(intent.id);
    if (!c.ambiguous && isGone(err)) return goneBeforeUpload(deps, relPath);
    if (c.code === ErrorCode.ApiTooLarge) {
      const reason = `${API_REFUSED_TOO_LARGE}: ${c.message}`;
      index.markSkipped({ path: relPath, size: row.size, mtimeMs: row.mtimeMs, ino: row.ino }, reason);
      logger.warn({ event: 'skip', path: relPath, size: row.size, reason }, 'skipped');
      return { kind: 'skipped', reason };
    }
    if (c.retryable) {
      // Waiting is not failing: the row stays pending and the engine sends it again.
      logger.warn(
        {
          event: 'upload-retry',
          path: relPath,
          size: row.size,
          durationMs: deps.now() - started,
          status: c.status,
          err: c.message,
          ...(c.ambiguous ? { intentKept: true } : {}),
        },
        'upload not done yet; it goes again',
      );
    } else {
      index.markFailed(relPath, c.message);
      logger.error(
        {
          event: 'failure',
          path: relPath,
          size: row.size,
          durationMs: deps.now() - started,
          status: c.status,
          err: c.message,
        },
        'upload failed',
      );
    }
    return { kind: 'failed', error: c.message, ...factsOf(c), intentKept: c.ambiguous };
  } finally {
    deps.liveIntents.delete(intent.id);
  }
}

/**
 * The file was moved or removed after its upload was queued: nothing to send, and nothing failed.
 * Its row stays as it is: the watcher's event for the removal (or the next reconcile's scan)
 * removes it, and the new name, if it was moved, is its own upload.
 */
function goneBeforeUpload(deps: ExecutorDeps, relPath: string): UploadOutcome {
  deps.logger.debug(
    { event: 'gone-before-upload', path: relPath },
    'file gone before its upload; its removal is handled as such',
  );
  return { kind: 'nothing' };
}

/** ENOENT or ENOTDIR: the path no longer names a file. */
function isGone(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * The type to upload `relPath` with (src/plan/mime-policy.ts). A text-like file is read once to
 * check it is UTF-8; a read error here leaves the check to the upload, which reads it again.
 */
async function mimeFor(deps: ExecutorDeps, relPath: string, source: string, bytes: Buffer | null): Promise<MimeChoice> {
  const overrides = deps.mimeTypes ?? {};
  if (!isTextLike(relPath, overrides)) return chooseMimeType(relPath, { overrides });
  const utf8 = bytes ? isUtf8(bytes) : await isUtf8File(source).catch(() => true);
  return chooseMimeType(relPath, { overrides, isUtf8: utf8 });
}

/**
 * A small file's bytes, read in one synchronous call where the filesystem is fast: they are what
 * every attempt sends, and the type check reads them instead of the file. Opened as the client
 * opens a path (never through a final symlink) and refused, as the client refuses it, when it is
 * no longer the inode that was scanned. Null: the file is streamed by the client as usual (a slow
 * filesystem, a larger file, or one that grew since its scan).
 */
function readSmall(speed: FsSpeed | undefined, source: string, row: FileRow): Buffer | null {
  if (!speed?.fast || row.size > SMALL_READ_BYTES) return null;
  return speed.time(() =>
    readUpTo(source, SMALL_READ_BYTES, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW, (fd) => {
      const st = fstatSync(fd);
      if (st.ino !== row.ino)
        throw new UploadSourceError(
          `${source} is no longer the file that was scanned (it was replaced); not uploaded.`,
          st.size,
          st.size,
        );
    }),
  );
}

/**
 * The real path of `relPath`, refused when it resolves outside the real root. A file that seems
 * outside is judged again against the root resolved afresh: the folder may have been moved or
 * its link pointed elsewhere since the root was resolved.
 */
async function realPathInside(realRoot: RealRoot, relPath: string, speed?: FsSpeed): Promise<string> {
  const abs = path.join(realRoot.root, ...relPath.split('/'));
  // On a fast filesystem the few lstat/readlink calls are cheaper than a trip through the pool.
  const real = speed?.fast ? speed.time(() => realpathSync.native(abs)) : realpath(abs);
  const [rootNow, resolved] = await Promise.all([realRoot.get(), real]);
  return checkInside(realRoot, relPath, rootNow, resolved);
}

async function checkInside(realRoot: RealRoot, relPath: string, rootNow: string, real: string): Promise<string> {
  if (relativeInside(rootNow, real) !== null) return real;
  if (relativeInside(await realRoot.refresh(), real) !== null) return real;
  throw Object.assign(new Error(`${relPath} resolves outside the watched folder (${real}); it is never read`), {
    code: 'EPERM',
  });
}

/**
 * Intents of this path left by attempts that ended without an answer (a lost answer whose
 * lookup failed, a timeout, a crash). The newest files (one listing shared with any concurrent
 * lookup, deeper only when that page does not reach back to the oldest intent) tell what they
 * stored: the copy holding the content we want is adopted, any other is queued for deletion.
 * Until a listing succeeds, nothing is uploaded again (that could store a second copy): the job
 * fails retryably and the engine sends it again. Returns an outcome when the path needs no
 * upload (now).
 */
async function resolveStaleIntents(
  deps: ExecutorDeps,
  relPath: string,
  signal?: AbortSignal,
): Promise<UploadOutcome | null> {
  const stale = deps.index.intentsFor(relPath).filter((i) => !deps.liveIntents.has(i.id));
  if (stale.length === 0) return null;
  const oldest = Math.min(...stale.map((i) => i.startedAt)) - INTENT_CLOCK_SKEW_MS;
  let recent: FileMetadata[];
  try {
    const newest = await deps.client.recentFiles(signal ? { signal } : {});
    recent = newest.files;
    // Only a listing that reaches back past the intents' start shows every copy they could have made.
    if (!newest.complete && !recent.some((f) => Date.parse(f.created_at) < oldest))
      recent = await listBackTo(deps.client, oldest, signal);
  } catch (err) {
    const c = classifyError(err);
    deps.logger.warn(
      { event: 'intent-unresolved', path: relPath, intents: stale.length, err: c.message },
      'an earlier upload may have stored a copy; looking again before uploading',
    );
    return {
      kind: 'failed',
      error: `an earlier upload of ${relPath} may have stored a copy, and the listing that looks for it failed: ${c.message}`,
      ...factsOf(c),
      intentKept: true,
    };
  }
  let outcome: UploadOutcome | null = null;
  for (const intent of stale) {
    const copies = recent.filter(
      (f) => f.filename === intent.remoteName && mayBeStoredBy(Date.parse(f.created_at), intent.startedAt),
    );
    const row = deps.index.get(relPath);
    for (const f of copies) {
      const { createdAt, expiresAt } = toRemote(f);
      const wanted =
        outcome === null &&
        row &&
        row.sha256 === intent.sha256 &&
        f.size_bytes === intent.size &&
        row.remoteSha256 !== intent.sha256;
      if (wanted) {
        const superseded = deps.index.adopt(relPath, {
          path: relPath,
          fileId: f.id,
          remoteName: f.filename,
          size: f.size_bytes,
          sha256: intent.sha256,
          createdAt,
          expiresAt,
          mimeType: f.mime_type,
        });
        deps.logger.info(
          { event: 'adopt', path: relPath, fileId: f.id, size: f.size_bytes, via: 'intent' },
          'adopted the copy an unanswered upload stored',
        );
        outcome = { kind: 'uploaded', fileId: f.id, bytes: f.size_bytes, superseded, recovered: true };
      } else {
        deps.onDeleteQueued?.(
          deps.index.queueDelete({ fileId: f.id, remoteName: f.filename, path: relPath, reason: 'orphan' }),
        );
      }
    }
    deps.index.dropIntent(intent.id);
  }
  return outcome;
}

/** Every file created since `since` (newest first), and the first one before it. */
async function listBackTo(client: FilesApi, since: number, signal?: AbortSignal): Promise<FileMetadata[]> {
  const out: FileMetadata[] = [];
  for await (const f of client.list({ limit: 1000, ...(signal ? { signal } : {}) })) {
    out.push(f);
    if (Date.parse(f.created_at) < since) break;
  }
  return out;
}

/** Deletes a queued remote file and retires it. */
export async function deleteRemote(deps: ExecutorDeps, fileId: string, signal?: AbortSignal): Promise<DeleteOutcome> {
  const queued = deps.index.getDelete(fileId);
  if (!queued) return { kind: 'nothing' };
  const started = deps.now();
  try {
    await deps.client.delete(fileId, signal ? { signal } : undefined);
    deps.index.retireDelete(fileId);
    deps.logger.info(
      { event: 'delete', path: queued.path, fileId, reason: queued.reason, durationMs: deps.now() - started },
      'deleted remote copy',
    );
    return { kind: 'deleted' };
  } catch (err) {
    const c = classifyError(err);
    if (c.code === ErrorCode.ApiNotFound) {
      deps.index.retireDelete(fileId);
      deps.logger.info(
        { event: 'delete', path: queued.path, fileId, reason: queued.reason, alreadyGone: true },
        'remote copy already gone',
      );
      return { kind: 'gone' };
    }
    deps.index.deleteFailed(fileId, c.message);
    if (c.retryable) {
      deps.logger.warn(
        { event: 'delete-retry', path: queued.path, fileId, status: c.status, err: c.message },
        'delete not done yet; it goes again',
      );
    } else {
      deps.logger.error(
        { event: 'failure', op: 'delete', path: queued.path, fileId, status: c.status, err: c.message },
        'delete failed',
      );
    }
    return { kind: 'failed', error: c.message, ...factsOf(c) };
  }
}
