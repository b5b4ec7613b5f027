/**
 * Answers for status, ls and id when no daemon runs: read the index read-only (WAL lets a reader
 * and a writer coexist, so this is also safe while a one-shot sync holds the lock).
 */
import type { Config } from '../config/types.js';
import { EMULATOR_NOTE } from '../daemon/run-daemon.js';
import { indexFile, LAST_RECONCILE_META } from '../daemon/state-files.js';
import type { StatusReport } from '../sync/types.js';
import { ErrorCode, IndexError } from '../errors.js';
import { IndexStore } from '../index/store.js';
import { buildStatus, lastErrorsFromRows } from '../sync/report.js';

/** The index opened read-only, or null when there is none yet. */
export function openIndexReadonly(config: Config): IndexStore | null {
  try {
    return IndexStore.open(indexFile(config.stateDir), { readonly: true });
  } catch (err) {
    if (err instanceof IndexError && err.code === ErrorCode.IndexMissing) return null;
    throw err;
  }
}

export { toEntry } from '../sync/report.js';

export function offlineStatus(config: Config, index: IndexStore | null): StatusReport {
  const rows = index ? index.all() : [];
  const counts = index ? index.countByState() : { pending: 0, synced: 0, failed: 0, skipped: 0 };
  let lastReconcile: StatusReport['lastReconcile'] = null;
  const meta = index?.getMeta(LAST_RECONCILE_META);
  if (meta) {
    try {
      lastReconcile = JSON.parse(meta) as StatusReport['lastReconcile'];
    } catch {
      lastReconcile = null;
    }
  }
  return buildStatus({
    running: false,
    pid: null,
    dir: config.dir,
    stateDir: config.stateDir,
    target: {
      kind: config.api.target,
      baseURL: config.api.target === 'emulator' ? 'in-process (started by the daemon)' : config.api.baseURL,
      shape: config.api.shape,
      note: config.api.target === 'emulator' ? EMULATOR_NOTE : null,
    },
    counts,
    lastReconcile,
    heldDeletes: null,
    lastErrors: lastErrorsFromRows(rows),
    skippedRows: rows.filter((r) => r.state === 'skipped'),
    noteRows: rows.filter((r) => r.mimeNote),
  });
}
