/**
 * The executor runs one job against the API and records the outcome in the index, in the order
 * that keeps a crash harmless:
 *   upload: intent recorded -> bytes streamed (hashed as they go) -> file id committed in the same
 *           transaction that marks the row synced and queues the superseded copy for deletion;
 *   delete: the API call -> the queued delete retired (404 counts as done: ./delete-remote.ts).
 * A crash between any two steps leaves an intent or a queued delete that the next reconcile
 * finishes or undoes.
 */
import type { UploadResult } from '../api/types.js';
import { ErrorCode } from '../errors.js';
import { classifyError, factsOf } from '../plan/error-class.js';
import { blockTypeOf, registeredType, type MimeChoice } from '../plan/mime-policy.js';
import { remoteNameFor } from '../plan/naming.js';
import { API_REFUSED_TOO_LARGE } from '../plan/plan.js';
import { toRemote } from '../plan/remote-file.js';
import { remoteHolds, type FileRow, type UploadIntent } from '../store/types.js';
import type { ExecutorDeps, UploadOutcome } from './executor-deps.js';
import { RealRoot } from './real-root.js';
import { resolveStaleIntents } from './stale-intents.js';
import { mimeFor, readSmall, realPathInside } from './upload-source.js';

export type { DeleteOutcome, ExecutorDeps, UploadOutcome } from './executor-deps.js';
export { deleteRemote } from './delete-remote.js';
export { RealRoot } from './real-root.js';
export type { FailureFacts } from '../plan/error-class.js';

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
    return storedOutcome(deps, { relPath, row, intent, remoteName, mime, started }, result);
  } catch (err) {
    return failedOutcome(deps, { relPath, row, intent, remoteName, mime, started }, err);
  } finally {
    deps.liveIntents.delete(intent.id);
  }
}

/** One upload attempt, as the outcome functions below need it. */
interface Attempt {
  relPath: string;
  row: FileRow;
  intent: UploadIntent;
  remoteName: string;
  mime: MimeChoice;
  started: number;
}

/** The upload was answered: commit it, or discard it when the file changed while it streamed. */
function storedOutcome(deps: ExecutorDeps, attempt: Attempt, result: UploadResult): UploadOutcome {
  const { index, logger } = deps;
  const { relPath, row, intent, remoteName, mime, started } = attempt;
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
}

/** The upload failed: what its error means for the row and the intent. */
function failedOutcome(deps: ExecutorDeps, attempt: Attempt, err: unknown): UploadOutcome {
  const { index, logger } = deps;
  const { relPath, row, intent, started } = attempt;
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
