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
