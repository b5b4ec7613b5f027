/**
 * The file and status reports, pure: one builder for the running engine and for the CLI's answer
 * from the index alone (src/cli/offline.ts) when no daemon runs.
 */
import type { FileRow } from '../index/types.js';
import type { FileEntry, LastError, StatusReport } from './types.js';

/** How many skipped files a status lists. */
const SKIPPED_SHOWN = 100;
/** How many failed files a status from the index lists as its last errors. */
const FAILED_SHOWN = 20;

export function toEntry(r: FileRow): FileEntry {
  return {
    path: r.path,
    fileId: r.fileId,
    sizeBytes: r.size,
    sha256: r.sha256,
    state: r.state,
    error: r.state === 'skipped' ? r.skipReason : r.lastError,
  };
}

/** The facts a status report is made of; queue and watcher default to "not running". */
export type StatusFacts = Omit<StatusReport, 'skipped' | 'queue' | 'watcher'> & {
  /** Rows in state `skipped` (the first 100 are listed). */
  skippedRows: readonly FileRow[];
  queue?: StatusReport['queue'];
  watcher?: StatusReport['watcher'];
};

export function buildStatus(facts: StatusFacts): StatusReport {
  const { skippedRows, queue, watcher, ...rest } = facts;
  return {
    ...rest,
    queue: queue ?? { depth: 0, inFlight: 0, pausedUntil: null, rateLimitPauses: 0 },
    watcher: watcher ?? { mode: 'off', warning: null },
    skipped: skippedRows.slice(0, SKIPPED_SHOWN).map((r) => ({ path: r.path, reason: r.skipReason ?? 'skipped' })),
  };
}

/** Without a running engine, the last errors are the failed rows, newest first. */
export function lastErrorsFromRows(rows: readonly FileRow[]): LastError[] {
  return rows
    .filter((r) => r.state === 'failed')
    .sort((a, b) => b.updatedAt - a.updatedAt)
    .slice(0, FAILED_SHOWN)
    .map((r) => ({ at: new Date(r.updatedAt).toISOString(), path: r.path, error: r.lastError ?? 'failed', code: null }));
}

// --- the workspace (src/sync/workspace-guard.ts records it; status without a daemon reads it) ---

/** Index meta: the workspace the index belongs to (first seen, or accepted). */
export const WORKSPACE_META = 'target.workspaceId';
/** Index meta: another workspace the API answered for, while deletes are held ('' when none). */
export const WORKSPACE_SEEN_META = 'target.workspaceSeen';

/** Why deletes are held, for status and the reconcile report; null when they are not. */
export function workspaceHold(known: string | undefined, seen: string | undefined): { count: number; message: string } | null {
  if (!known || !seen || known === seen) return null;
  return {
    count: 0,
    message:
      `the API now answers for workspace ${seen}, but this index belongs to workspace ${known}; every remote delete is held. ` +
      'If the key was changed to another workspace on purpose, run `claude-filesync reconcile --accept-workspace` (the index then follows the new workspace: ' +
      'copies missing there are uploaded again); otherwise restore the right key.',
  };
}
