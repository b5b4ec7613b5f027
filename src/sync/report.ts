/**
 * The file and status reports, pure: one builder for the running engine and for the CLI's answer
 * from the index alone (src/cli/offline.ts) when no daemon runs.
 */
import type { FileRow } from '../index/types.js';
import { blockTypeOf, registeredType } from './mime-policy.js';
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
    mimeType: r.fileId ? (r.mimeType ?? null) : null,
    // A copy uploaded before the type was recorded went with its name's registered type.
    block: r.fileId ? blockTypeOf(r.mimeType ?? registeredType(r.path)) : null,
    note: r.mimeNote ?? null,
  };
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

/** Without a running engine, the last errors are the failed rows, newest first. */
export function lastErrorsFromRows(rows: readonly FileRow[]): LastError[] {
  return rows
    .filter((r) => r.state === 'failed')
    .sort((a, b) => b.updatedAt - a.updatedAt)
    .slice(0, FAILED_SHOWN)
    .map((r) => ({ at: new Date(r.updatedAt).toISOString(), path: r.path, error: r.lastError ?? 'failed', code: null }));
}

export { manifestOf, MAX_SESSION_RESOURCES, sessionResourcesOf, splitResources, type Manifest, type SessionResource } from './manifest.js';
