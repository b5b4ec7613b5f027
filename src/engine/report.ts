/**
 * The file and status reports, pure: one builder for the running engine and for the CLI's answer
 * from the index alone (src/cli/offline.ts) when no daemon runs.
 */
import type { FileRow, RemoteDelete, StateCounts } from '../store/types.js';
import { blockTypeOf, registeredType } from '../plan/mime-policy.js';
import { HELD_MESSAGE } from '../plan/held-deletes.js';
import { parseUnreadableDirs, UNREADABLE_DIRS_META, type UnreadableDir } from '../plan/unreadable-dirs.js';
import type { Activity, FileEntry, LastError, StatusReport } from './contract.js';

/** The held set as the index keeps it (for the engine and the offline CLI alike). */
export { readHeld } from '../plan/held-deletes.js';

/** The unreadable folders the last full scan recorded in the index. */
export function readUnreadableDirs(meta: { getMeta(key: string): string | undefined } | null): UnreadableDir[] {
  return meta ? parseUnreadableDirs(meta.getMeta(UNREADABLE_DIRS_META)) : [];
}

/** How many skipped files a status lists. */
const SKIPPED_SHOWN = 100;
/** How many failed files a status from the index lists as its last errors. */
const FAILED_SHOWN = 20;

/** A row as `ls` shows it; a path in `held` shows as held, not as its row's state. */
export function toEntry(r: FileRow, held: ReadonlySet<string> = new Set()): FileEntry {
  if (held.has(r.path)) {
    return {
      path: r.path,
      fileId: r.fileId,
      sizeBytes: r.size,
      sha256: r.sha256,
      state: 'held',
      error: 'gone from the folder; its remote delete is held',
    };
  }
  return {
    path: r.path,
    fileId: r.fileId,
    sizeBytes: r.size,
    sha256: r.sha256,
    state: r.state,
    error: r.state === 'skipped' ? r.skipReason : r.lastError,
    mimeType: r.fileId ? (r.mimeType ?? null) : null,
    // A copy uploaded before the type was recorded went with its name's registered type.
    block: r.fileId ? blockTypeOf(r.mimeType ?? registeredType(r.path)) : null,
    note: r.mimeNote ?? null,
  };
}

/** An unreadable folder as `ls` shows it: skipped, with its reason; the path ends in '/'. */
export function unreadableDirEntry(d: { path: string; reason: string }): FileEntry {
  return {
    path: d.path === '' ? './' : `${d.path}/`,
    fileId: null,
    sizeBytes: 0,
    sha256: null,
    state: 'skipped',
    error: `unreadable folder: ${d.reason}`,
  };
}

/** Counts by state with the held paths moved from their row's state to `held`. */
export function countsWithHeld(counts: StateCounts, heldRows: readonly FileRow[]): StatusReport['counts'] {
  if (heldRows.length === 0) return { ...counts };
  const out = { ...counts, held: 0 };
  for (const r of heldRows) {
    out[r.state] -= 1;
    out.held += 1;
  }
  return out;
}

/**
 * The held deletes a status shows: all held paths, with the last hold's message when it held
 * some; else the last hold itself (a missing folder holds without listing paths).
 */
export function heldStatus(heldCount: number, last: StatusReport['heldDeletes']): StatusReport['heldDeletes'] {
  if (heldCount === 0) return last?.rootMissing ? last : null;
  return { count: heldCount, message: last && !last.rootMissing ? last.message : HELD_MESSAGE };
}

/** The JSON content block that puts a synced file in a Messages request (docs/files-api-facts.md §8), or null. */
export function contentBlockFor(entry: FileEntry): Record<string, unknown> | null {
  if (entry.fileId === null || entry.state !== 'synced' || !entry.block) return null;
  switch (entry.block) {
    case 'document':
      return { type: 'document', source: { type: 'file', file_id: entry.fileId }, title: entry.path };
    case 'image':
      return { type: 'image', source: { type: 'file', file_id: entry.fileId } };
    case 'container_upload':
      return { type: 'container_upload', file_id: entry.fileId };
  }
}

/** The facts a status report is made of; queue and watcher default to "not running". */
export type StatusFacts = Omit<StatusReport, 'skipped' | 'queue' | 'watcher' | 'notDocuments' | 'apiProblem'> & {
  /** Rows in state `skipped` (the first 100 are listed). */
  skippedRows: readonly FileRow[];
  /** Rows with a MIME note (the first 100 are listed). */
  noteRows?: readonly FileRow[];
  apiProblem?: StatusReport['apiProblem'];
  queue?: StatusReport['queue'];
  watcher?: StatusReport['watcher'];
};

export function buildStatus(facts: StatusFacts): StatusReport {
  const { skippedRows, noteRows, queue, watcher, apiProblem, ...rest } = facts;
  return {
    ...rest,
    apiProblem: apiProblem ?? null,
    notDocuments: (noteRows ?? []).slice(0, SKIPPED_SHOWN).map((r) => ({ path: r.path, reason: r.mimeNote ?? '' })),
    queue: queue ?? { depth: 0, inFlight: 0, pausedUntil: null, rateLimitPauses: 0 },
    watcher: watcher ?? { mode: 'off', warning: null },
    skipped: skippedRows.slice(0, SKIPPED_SHOWN).map((r) => ({ path: r.path, reason: r.skipReason ?? 'skipped' })),
  };
}

/** A rate within this share of the configured one counts as running at the limit. */
const AT_LIMIT_SHARE = 0.9;

export interface ActivityFacts {
  now: number;
  /** ms since epoch (server clock) of the newest remote copy, or null. */
  lastUploadAt: number | null;
  oldestPendingRow: Pick<FileRow, 'path' | 'updatedAt'> | undefined;
  oldestDelete: Pick<RemoteDelete, 'path' | 'remoteName' | 'queuedAt'> | undefined;
  /** Pending files plus queued remote deletes: about one request each. */
  backlog: number;
  /** The running daemon's rate; null when none runs. */
  traffic: {
    requestsLastMinute: number;
    configuredRpm: number;
    effectiveRpm: number;
    pausedUntil: number | null;
  } | null;
}

export function buildActivity(f: ActivityFacts): Activity {
  const candidates: { kind: 'upload' | 'delete'; path: string | null; at: number }[] = [];
  if (f.oldestPendingRow)
    candidates.push({ kind: 'upload', path: f.oldestPendingRow.path, at: f.oldestPendingRow.updatedAt });
  if (f.oldestDelete)
    candidates.push({
      kind: 'delete',
      path: f.oldestDelete.path ?? f.oldestDelete.remoteName,
      at: f.oldestDelete.queuedAt,
    });
  const oldest = candidates.sort((a, b) => a.at - b.at)[0];
  return {
    lastUploadAt: f.lastUploadAt !== null ? new Date(f.lastUploadAt).toISOString() : null,
    oldestPending: oldest
      ? {
          kind: oldest.kind,
          path: oldest.path,
          since: new Date(oldest.at).toISOString(),
          waitingMs: Math.max(0, f.now - oldest.at),
        }
      : null,
    backlog: f.backlog,
    requestsLastMinute: f.traffic?.requestsLastMinute ?? null,
    rateLimited: f.traffic ? rateLimited(f.traffic, f.backlog, f.now) : null,
  };
}

function rateLimited(t: NonNullable<ActivityFacts['traffic']>, backlog: number, now: number): Activity['rateLimited'] {
  const paused = t.pausedUntil !== null && t.pausedUntil > now;
  const slowed = t.effectiveRpm < t.configuredRpm;
  const atLimit = backlog > 0 && t.requestsLastMinute >= t.configuredRpm * AT_LIMIT_SHARE;
  if (!paused && !slowed && !atLimit) return null;
  const pauseLeft = paused ? t.pausedUntil! - now : 0;
  // The pacer's rate at this instant can sit far below what goes through (it is cut while the
  // key's budget is low and spent at once when the headers show it refilled): what the last
  // minute carried, up to the configured bound, is the better guide when it is higher.
  const pace = Math.max(t.effectiveRpm, Math.min(t.configuredRpm, t.requestsLastMinute));
  // About one request per file or delete; retries and listings make it an estimate, not a promise.
  const etaMs = backlog > 0 && pace > 0 ? Math.round(pauseLeft + (backlog / pace) * 60_000) : null;
  return {
    currentRpm: Math.round(pace * 10) / 10,
    configuredRpm: t.configuredRpm,
    pausedUntil: paused ? new Date(t.pausedUntil!).toISOString() : null,
    doneBy: etaMs !== null ? new Date(now + etaMs).toISOString() : null,
    etaMs,
  };
}

/** Without a running engine, the last errors are the failed rows, newest first. */
export function lastErrorsFromRows(rows: readonly FileRow[]): LastError[] {
  return rows
    .filter((r) => r.state === 'failed')
    .sort((a, b) => b.updatedAt - a.updatedAt)
    .slice(0, FAILED_SHOWN)
    .map((r) => ({
      at: new Date(r.updatedAt).toISOString(),
      path: r.path,
      error: r.lastError ?? 'failed',
      code: null,
    }));
}

// The workspace (src/jobs/workspace-guard.ts records it; status without a daemon reads it).
export { WORKSPACE_META, WORKSPACE_SEEN_META, workspaceHold } from '../jobs/workspace-guard.js';
export {
  manifestOf,
  MAX_SESSION_RESOURCES,
  sessionResourcesOf,
  splitResources,
  type Manifest,
  type SessionResource,
} from './manifest.js';
