/** An upload's earlier attempts that ended without an answer: what they stored is found before it goes again. */
import type { FilesApi } from '../api/types.js';
import { INTENT_CLOCK_SKEW_MS, mayBeStoredBy } from '../files-api/limits.js';
import type { FileMetadata } from '../files-api/wire.js';
import { classifyError, factsOf } from '../plan/error-class.js';
import { toRemote } from '../plan/remote-file.js';
import type { ExecutorDeps, UploadOutcome } from './executor-deps.js';

/**
 * Intents of this path left by attempts that ended without an answer (a lost answer whose
 * lookup failed, a timeout, a crash). The newest files (one listing shared with any concurrent
 * lookup, deeper only when that page does not reach back to the oldest intent) tell what they
 * stored: the copy holding the content we want is adopted, any other is queued for deletion.
 * Until a listing succeeds, nothing is uploaded again (that could store a second copy): the job
 * fails retryably and the engine sends it again. Returns an outcome when the path needs no
 * upload (now).
 */
export async function resolveStaleIntents(
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
