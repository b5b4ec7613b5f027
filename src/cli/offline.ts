/**
 * Answers for status, ls and id when no daemon runs: read the index read-only (WAL lets a reader
 * and a writer coexist, so this is also safe while a one-shot sync holds the lock).
 */
import type { Config } from '../config/types.js';
import { EMULATOR_NOTE } from '../daemon/run-daemon.js';
import { existsSync, lstatSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { indexFile, LAST_RECONCILE_META, legacyIndexFile, targetIndexes, targetKey } from '../state-dir/state-files.js';
import type { StatusReport } from '../engine/contract.js';
import { ErrorCode, IndexError } from '../errors.js';
import { IndexStore } from '../store/store.js';
import type { FileRow } from '../store/types.js';
import {
  buildActivity,
  buildStatus,
  countsWithHeld,
  heldStatus,
  lastErrorsFromRows,
  readHeld,
  readUnreadableDirs,
  toEntry,
  unreadableDirEntry,
  WORKSPACE_META,
  WORKSPACE_SEEN_META,
  workspaceHold,
} from '../engine/report.js';
import type { FileEntry } from '../engine/contract.js';

/**
 * The configured target's index opened read-only, or null when it has none yet. A legacy
 * `index.sqlite` (from before per-target indexes, its target unrecorded) is read while no
 * per-target index exists: the next start takes it over.
 */
export function openIndexReadonly(config: Config): IndexStore | null {
  let file = indexFile(config.stateDir, targetKey(config.api));
  if (!existsSync(file) && existsSync(legacyIndexFile(config.stateDir)) && targetIndexes(config.stateDir).length === 0)
    file = legacyIndexFile(config.stateDir);
  try {
    return IndexStore.open(file, { readonly: true });
  } catch (err) {
    if (err instanceof IndexError && err.code === ErrorCode.IndexMissing) return null;
    throw err;
  }
}

export { toEntry } from '../engine/report.js';

/** What `ls` shows from the index alone: held paths as held. */
export function offlineEntries(index: IndexStore | null): FileEntry[] {
  if (!index) return [];
  const held = readHeld(index);
  return [...index.all().map((r) => toEntry(r, held)), ...readUnreadableDirs(index).map(unreadableDirEntry)];
}

/** How the file differs from its synced row, or null when it still matches. */
export type LocalChange = 'changed' | 'gone';

/**
 * With no daemon to notice edits, the index may be stale: one lstat against the row (size,
 * mtime, inode, and ctime when recorded, which `cp -p` and `touch -r` cannot restore) says
 * whether the synced copy is still the file's content.
 */
export function changedSinceSync(
  dir: string,
  row: Pick<FileRow, 'path' | 'size' | 'mtimeMs' | 'ino' | 'ctimeMs'>,
): LocalChange | null {
  let st: ReturnType<typeof lstatSync> | undefined;
  const abs = join(dir, ...row.path.split('/'));
  try {
    st = lstatSync(abs, { throwIfNoEntry: false });
    // A followed symlink's row holds its target's stat (watch.followSymlinks): compare with that.
    if (st?.isSymbolicLink()) st = statSync(abs, { throwIfNoEntry: false });
  } catch {
    return 'changed';
  }
  if (st === undefined) return 'gone';
  if (!st.isFile() || st.size !== row.size || st.mtimeMs !== row.mtimeMs || st.ino !== row.ino) return 'changed';
  const ctimeMs = row.ctimeMs ?? null;
  return ctimeMs !== null && ctimeMs !== st.ctimeMs ? 'changed' : null;
}

/** What `id` learns from the index alone: the synced id, else the state that says why not. */
export function offlineId(
  index: IndexStore | null,
  rel: string,
  dir: string,
): { fileId: string | null; state: FileEntry['state'] | null; changed?: LocalChange } {
  const row = index?.get(rel);
  if (!index || !row) return { fileId: null, state: null };
  if (readHeld(index).has(rel)) return { fileId: null, state: 'held' };
  if (row.state !== 'synced' || row.fileId === null) return { fileId: null, state: row.state };
  const changed = changedSinceSync(dir, row);
  return changed ? { fileId: null, state: row.state, changed } : { fileId: row.fileId, state: row.state };
}

/** The entry of one path for `id --block`, withheld (changed set) when the file changed since. */
export function offlineEntryOf(
  index: IndexStore | null,
  rel: string,
  dir: string,
): (FileEntry & { changed?: LocalChange }) | null {
  const entry = offlineEntries(index).find((e) => e.path === rel);
  const row = index?.get(rel);
  if (!entry || !row || entry.state !== 'synced') return entry ?? null;
  const changed = changedSinceSync(dir, row);
  return changed ? { ...entry, changed } : entry;
}

export function offlineStatus(config: Config, index: IndexStore | null, now: number = Date.now()): StatusReport {
  const rows = index ? index.all() : [];
  const held = index ? readHeld(index) : new Set<string>();
  const counts = countsWithHeld(
    index ? index.countByState() : { pending: 0, synced: 0, failed: 0, skipped: 0 },
    rows.filter((r) => held.has(r.path)),
  );
  const deletes = index ? index.deleteBacklog() : { oldest: undefined, count: 0 };
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
    heldDeletes:
      (index ? workspaceHold(index.getMeta(WORKSPACE_META), index.getMeta(WORKSPACE_SEEN_META)) : null) ??
      heldStatus(held.size, null),
    lastErrors: lastErrorsFromRows(rows),
    skippedRows: rows.filter((r) => r.state === 'skipped'),
    activity: buildActivity({
      now,
      lastUploadAt: index?.lastUploadAt() ?? null,
      oldestPendingRow: index?.oldestPending(),
      oldestDelete: deletes.oldest,
      backlog: counts.pending + deletes.count,
      traffic: null,
    }),
    unreadableDirs: readUnreadableDirs(index),
    noteRows: rows.filter((r) => r.mimeNote),
  });
}
