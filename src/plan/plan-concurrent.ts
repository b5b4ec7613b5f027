/**
 * A reconcile runs while the watcher path keeps working (issue 10: live from the first second).
 * Its listing and its scan are snapshots taken over seconds; the index it plans against is read
 * at planning time, after uploads and deletes of the watcher path have changed both the index and
 * the remote. This pure step narrows the planner's input to what those snapshots can still judge:
 *
 * - paths the watcher path handled since the pass began are left out of the plan: the watcher
 *   path saw them later than the scan did, and owns them (their rows still count as ours, so
 *   their copies are never orphans);
 * - a row whose remote copy was stored since the pass began is not judged missing from the
 *   listing, which may have been read before the copy existed;
 * - a copy deleted since the pass began is taken out of the listing, which may have been read
 *   before it went: it is neither adopted, nor an orphan, nor a reason to upload;
 * - an intent live at any time since the pass began is left alone like a live one: the listing
 *   may not show what its upload stored (the executor resolves its own intents).
 *
 * The engine records these facts (src/engine/concurrent-changes.ts); planSync applies them.
 */
import type { PlanRow, UploadIntent } from '../store/types.js';
import type { LocalSnapshot } from './local-snapshot.js';
import type { RemoteFile, RemoteListing } from './remote-file.js';

export interface ConcurrentChanges {
  /** When the pass began (before its listing and its scan), on the engine's clock. */
  since: number;
  /** Paths the watcher path (or a job outside this pass) handled since `since`. */
  handled: ReadonlySet<string>;
  /** File ids of remote copies stored (uploaded or adopted by a job) since `since`. */
  stored: ReadonlySet<string>;
  /** File ids deleted (or found gone) by a job since `since`. */
  gone: ReadonlySet<string>;
  /** Intents that were live when the pass began. */
  liveAtStart: ReadonlySet<number>;
}

interface ConcurrentView {
  local: LocalSnapshot;
  remote: RemoteListing | null;
  /** The rows the plan judges (the handled ones left out); every row still counts as owned. */
  judged: readonly PlanRow[];
  liveIntentIds: ReadonlySet<number>;
  /** True when a row's copy may be missing from the listing only because it is newer. */
  storedSince(fileId: string): boolean;
}

/** The planner's view of its input, narrowed by what happened meanwhile. Without changes, the input as is. */
export function concurrentView(
  input: {
    rows: readonly PlanRow[];
    local: LocalSnapshot;
    remote: RemoteListing | null;
    intents: readonly UploadIntent[];
    liveIntentIds?: ReadonlySet<number> | undefined;
  },
  changes: ConcurrentChanges | undefined,
): ConcurrentView {
  const liveIntentIds = input.liveIntentIds ?? new Set<number>();
  if (!changes)
    return { local: input.local, remote: input.remote, judged: input.rows, liveIntentIds, storedSince: () => false };
  const { handled, gone, stored } = changes;
  const live = new Set(liveIntentIds);
  for (const i of input.intents) {
    if (changes.liveAtStart.has(i.id) || i.startedAt >= changes.since || handled.has(i.path)) live.add(i.id);
  }
  let remote = input.remote;
  if (remote && gone.size > 0) remote = withoutIds(remote, gone);
  return {
    local: handled.size > 0 ? withoutPaths(input.local, handled) : input.local,
    remote,
    judged: handled.size > 0 ? input.rows.filter((r) => !handled.has(r.path)) : input.rows,
    liveIntentIds: live,
    storedSince: (fileId) => stored.has(fileId),
  };
}

function withoutPaths(local: LocalSnapshot, paths: ReadonlySet<string>): LocalSnapshot {
  const files = new Map(local.files);
  const skipped = new Map(local.skipped);
  const unreadable = new Set(local.unreadable);
  for (const p of paths) {
    files.delete(p);
    skipped.delete(p);
    unreadable.delete(p);
  }
  return { ...local, files, skipped, unreadable };
}

/** At most this many scanned changes go to the watcher path ahead of the plan; more wait for it. */
export const EARLY_CHANGES_LIMIT = 1_000;

/**
 * The files a finished scan found new or changed against the index, to hand to the watcher path
 * at once instead of after the listing (which the request rate paces: 15 s for 100,000 files).
 * The watcher path checks and plans them as if the watcher had reported them, and the pass then
 * leaves them to it. Null when there are more than `limit` (a first sync or a big change: the
 * plan, with the listing's adoptions, is the better judge). Removals are not handed over: their
 * deletes wait for the full plan and its deletion-safety share.
 */
export function scanChanges(
  files: Iterable<{ path: string; size: number; mtimeMs: number; ino: number; sha256: string | null }>,
  factsOf: (path: string) => { size: number; mtimeMs: number; ino: number; sha256: string | null } | undefined,
  limit = EARLY_CHANGES_LIMIT,
): string[] | null {
  const out: string[] = [];
  for (const f of files) {
    const row = factsOf(f.path);
    if (row && row.size === f.size && row.mtimeMs === f.mtimeMs && row.ino === f.ino && row.sha256 === f.sha256)
      continue;
    out.push(f.path);
    if (out.length > limit) return null;
  }
  return out;
}

/** The listing without the copies deleted meanwhile, read through (the listing may be a table). */
function withoutIds(listing: RemoteListing, gone: ReadonlySet<string>): RemoteListing {
  let size = 0;
  for (const id of gone) if (listing.has(id)) size += 1;
  const keptSize = listing.size - size;
  return {
    size: keptSize,
    has: (id) => !gone.has(id) && listing.has(id),
    get: (id) => (gone.has(id) ? undefined : listing.get(id)),
    *values(): Iterable<RemoteFile> {
      for (const f of listing.values()) if (!gone.has(f.id)) yield f;
    },
  };
}
