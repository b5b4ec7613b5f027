/**
 * The planner: pure. Given the index (rows, intents, queued deletes), what the folder holds now
 * (a scan) and, for a reconcile, the full remote listing, it decides what to do. It performs no
 * IO and reads no clock: `now` comes in. The engine turns the plan into index transactions and
 * queued jobs; the property tests in test/unit/plan-property.test.ts drive it with a simulated
 * world and check that it converges and never deletes what the index does not own.
 *
 * Ownership is the rule that keeps us from deleting other people's files: a remote file is ours
 * only if an index row points at it, it is queued in remote_deletes, it was found for one of
 * our own upload intents (same name, same size, created after the intent began), or its name
 * carries our owner tag (src/plan/naming.ts). A name with another owner's tag is never adopted
 * and never deleted ("foreign"); a name without a tag (a legacy name or another tool's file) is
 * adopted only with --adopt and deleted only with --delete-unmanaged. The listed files the index
 * does not own are judged in src/plan/plan-remote.ts; the removals of local files here.
 */
import {
  remoteHolds,
  type LocalObservation,
  type PlanRow,
  type RemoteDelete,
  type UploadIntent,
} from '../store/types.js';
import type { RemoteFile, RemoteListing } from './remote-file.js';

export type { RemoteFile, RemoteListing } from './remote-file.js';
import { isUnderAny } from '../scan/inside.js';
import { checkDeleteSafety } from './delete-safety.js';
import { planRemoteOwnership, type Adoption, type OwnershipOptions } from './plan-remote.js';

export type { Adoption } from './plan-remote.js';
import { sameRoot, type RootIdentity } from './root-identity.js';
import { HELD_MESSAGE } from './held-deletes.js';
import { pairMoves, type MoveTarget } from './moves.js';
import { concurrentView, type ConcurrentChanges } from './plan-concurrent.js';

export type { ConcurrentChanges } from './plan-concurrent.js';

/** A remote copy expiring within this margin is replaced at the pass before. */
export const EXPIRY_MARGIN_MS = 5 * 60_000;

/** The start of the skip reason the executor records when the API answers 413. */
export const API_REFUSED_TOO_LARGE = 'refused by the API as too large (413)';

import type { LocalSnapshot } from './local-snapshot.js';
export type { LocalSnapshot, SkippedFile } from './local-snapshot.js';

/** The ownership options (adopt, deleteUnmanaged, ownerTag, ...) are in src/plan/plan-remote.ts. */
export interface PlanOptions extends OwnershipOptions {
  /** A remote copy that expires within this margin is replaced now. */
  expiryMarginMs: number;
}

/**
 * A watcher batch: the snapshot covers only `paths` and `rows` holds only their rows, so rows
 * elsewhere are not removal candidates. Removals deleted lately count with this batch's against
 * the share: an `rm -rf` arrives as several batches and must be judged as one.
 */
interface PlanScope {
  paths: ReadonlySet<string>;
  /** Rows with a remote copy in the whole index (the share's denominator). */
  managed: number;
  /** When removals were deleted lately (ms since epoch). */
  recentRemovals: readonly number[];
  /** How long a removal counts against the share. */
  windowMs: number;
}

export interface PlanInput {
  /** The index's rows (full FileRows do), ordered by path. */
  rows: readonly PlanRow[];
  /** The row of each path, exactly `rows` (IndexStore.planRowLookup): saves the planner its own map. */
  rowOf?: ((path: string) => PlanRow | undefined) | null;
  intents: readonly UploadIntent[];
  pendingDeletes: readonly RemoteDelete[];
  local: LocalSnapshot;
  /**
   * The full listing by id (a Map, or the index's TEMP table: src/plan/remote-file.ts); null when
   * the plan is made without one (trust the index).
   */
  remote: RemoteListing | null;
  /** Intents of uploads running right now: left alone. */
  liveIntentIds?: ReadonlySet<number>;
  now: number;
  options: PlanOptions;
  /** Set for a watcher batch; absent for a full pass. */
  scope?: PlanScope;
  /**
   * The folder's identity as seen now (null: missing) and as last accepted (null: never
   * recorded). Another folder at the path holds every delete.
   */
  root?: { seen: RootIdentity | null; known: RootIdentity | null };
  /**
   * Paths whose deletes were held before (src/plan/held-deletes.ts): still gone, they stay held
   * until `allowMassDelete`, whatever the share says now.
   */
  held?: ReadonlySet<string>;
  /**
   * Files that appeared under new paths lately, outside this plan's scope, and are up remotely
   * (a watcher batch of removals). A removal whose content or inode is among them is a move.
   */
  appeared?: readonly MoveTarget[];
  /**
   * For a full pass that ran while the watcher path kept working: what it did meanwhile
   * (src/plan/plan-concurrent.ts). Handled paths are left to it; newer copies are not missing.
   */
  concurrent?: ConcurrentChanges;
}

type DeleteReasonText = RemoteDelete['reason'];

export interface Plan {
  /** Intents resolved: adopted, turned into orphan deletes, or dropped (nothing was stored). */
  intentsDone: number[];
  adoptions: Adoption[];
  /** Rows whose remote copy is gone (deleted by someone) or expired: their remote fields clear. */
  remoteGone: { path: string; fileId: string; expired: boolean }[];
  /** Local files gone: the row goes and its remote copy is deleted. */
  removals: { path: string; fileId: string | null; reason: 'removed' | 'skipped' }[];
  /** Queued deletes whose file is already gone remotely: retire without a request. */
  retire: string[];
  /** Remote deletes to run now (owned files only). */
  deletes: { fileId: string; remoteName: string | null; path: string | null; reason: DeleteReasonText }[];
  /** Paths to upload (the executor reads the row when it runs). */
  uploads: { path: string; reason: 'new' | 'changed' | 'missing-remote' | 'expired' }[];
  /** Observations to write to the index before the uploads run. */
  observe: LocalObservation[];
  skip: { obs: LocalObservation; reason: string }[];
  /** Listed files without an owner tag that the index does not own, left alone. */
  unmanaged: RemoteFile[];
  /** Listed files with our tag that the index does not reference and this plan does not delete. */
  orphans: RemoteFile[];
  /** Listed files with another owner's tag: never adopted, never deleted. */
  foreign: RemoteFile[];
  held: { count: number; message: string; rootMissing?: true } | null;
  /** The paths held after this plan, within its scope (src/plan/held-deletes.ts nextHeld). */
  heldPaths: string[];
  /** Removals paired with a new path holding their content: deleted without counting. */
  moves: { from: string; to: string }[];
  /** For a scoped plan: the removal window after this plan (this plan's deletes added). */
  recentRemovals: number[];
  /** The folder identity to record as accepted, or null to keep the recorded one. */
  rootToRecord: RootIdentity | null;
}

/** Plans one pass. Deterministic: the same input gives the same plan. */
export function planSync(input: PlanInput): Plan {
  const { options, now } = input;
  // Every row counts as owned; only the judged ones (not the watcher path's) are planned.
  const allRows = input.rows;
  const view = concurrentView(input, input.concurrent);
  const { local, remote } = view;
  const rows = view.judged;
  const plan: Plan = {
    intentsDone: [],
    adoptions: [],
    remoteGone: [],
    removals: [],
    retire: [],
    deletes: [],
    uploads: [],
    observe: [],
    skip: [],
    unmanaged: [],
    orphans: [],
    foreign: [],
    held: null,
    heldPaths: [],
    moves: [],
    recentRemovals: [],
    rootToRecord: null,
  };
  // Built by loops, not rows.map(...): a pass over 100,000 rows should not allocate 100,000 pairs.
  // The caller's own map of exactly these rows when it has one: not a second 100,000 entries.
  const rowByPath = input.rowOf && rows === allRows ? { get: input.rowOf } : new Map<string, PlanRow>();
  if (rowByPath instanceof Map) for (const r of rows) rowByPath.set(r.path, r);

  // Every id the index owns, and which of them are still wanted.
  const owned = new Set<string>();
  for (const r of allRows) if (r.fileId) owned.add(r.fileId);
  for (const d of input.pendingDeletes) owned.add(d.fileId);

  /**
   * For each path, the remote copy it will hold after this plan (by content): an adoption's, else
   * its row's live copy. Read through the rows, not copied into a map of every path.
   */
  const gonePaths = new Set<string>();
  const adoptedHold = new Map<string, string>();
  const willHold = {
    get(path: string): string | undefined {
      const adopted = adoptedHold.get(path);
      if (adopted !== undefined) return adopted;
      const r = rowByPath.get(path);
      return r && remoteHolds(r, r.remoteSha256) && !gonePaths.has(path) ? (r.remoteSha256 as string) : undefined;
    },
  };

  // 1. Queued deletes: run them, or retire them when the listing shows them gone. A copy stored
  // since the pass began (an early batch's or the watcher path's upload, replaced again or moved
  // meanwhile) is missing from a listing read before it existed: its delete still runs (a 404
  // counts as done), else the copy would leak.
  for (const d of input.pendingDeletes) {
    if (remote && !remote.has(d.fileId) && !view.storedSince(d.fileId)) plan.retire.push(d.fileId);
    else plan.deletes.push({ fileId: d.fileId, remoteName: d.remoteName, path: d.path, reason: d.reason });
  }

  // 2. Rows whose remote copy vanished or expired.
  /** Remote copies gone from the listing (false) or expired (true), by file id. */
  const goneIds = new Map<string, boolean>();
  for (const r of rows) {
    if (!r.fileId) continue;
    // One lookup per row: the listing may be a table, not a Map.
    const listed = remote?.get(r.fileId);
    if (remote && !listed && !view.storedSince(r.fileId)) {
      plan.remoteGone.push({ path: r.path, fileId: r.fileId, expired: false });
      goneIds.set(r.fileId, false);
      gonePaths.add(r.path);
      continue;
    }
    const expiresAt = listed?.expiresAt ?? r.remoteExpiresAt;
    if (expiresAt !== null && expiresAt !== undefined && expiresAt <= now + options.expiryMarginMs) {
      plan.remoteGone.push({ path: r.path, fileId: r.fileId, expired: true });
      goneIds.set(r.fileId, true);
      gonePaths.add(r.path);
      // An expired file still lists for 30 days; deleting it frees its metadata at once.
      if (!remote || listed) {
        plan.deletes.push({ fileId: r.fileId, remoteName: r.remoteName, path: r.path, reason: 'expired' });
      }
    }
  }

  // The folder as seen now: a missing or replaced folder, or parts of it unreadable, and no
  // deletion judges by what the folder lacks.
  const seen = input.root?.seen;
  const rootMissing = local.rootMissing || seen === null;
  const rootReplaced = !!seen && !!input.root?.known && !sameRoot(input.root.known, seen);

  // 3-4. With the listing: what unfinished uploads stored, and the listed files the index does
  // not own (ours by tag, another owner's, or untagged): src/plan/plan-remote.ts.
  let orphanHeld: Plan['held'] = null;
  if (remote) {
    const partial = rootMissing || rootReplaced || local.unreadableDirs.length > 0 || local.unreadable.size > 0;
    const own = planRemoteOwnership({
      remote,
      owned,
      intents: input.intents,
      liveIntentIds: view.liveIntentIds,
      files: local.files,
      willHold,
      partial,
      options,
    });
    plan.intentsDone = own.intentsDone;
    plan.adoptions = own.adoptions;
    for (const a of own.adoptions) adoptedHold.set(a.path, a.sha256);
    plan.deletes.push(...own.deletes);
    plan.unmanaged = own.unmanaged;
    plan.orphans = own.orphans;
    plan.foreign = own.foreign;
    orphanHeld = own.held;
  }

  // 5. The local side: observe, skip, upload.
  // By path, each observation read as it is judged: the map may make them on demand
  // (src/reconcile/local-files.ts), and an array of them all would hold them all at once.
  for (const path of [...local.files.keys()].sort()) {
    const obs = local.files.get(path) as LocalObservation;
    const row = rowByPath.get(obs.path);
    // The API refused this very content (413): sending it again would only be refused again.
    // It is tried again when it changes (its size, mtime or inode).
    if (
      row?.state === 'skipped' &&
      row.skipReason?.startsWith(API_REFUSED_TOO_LARGE) &&
      row.size === obs.size &&
      row.mtimeMs === obs.mtimeMs &&
      row.ino === obs.ino
    )
      continue;
    // A failed row is observed again even when unchanged: its failure may have passed.
    if (
      !row ||
      row.size !== obs.size ||
      row.mtimeMs !== obs.mtimeMs ||
      row.ino !== obs.ino ||
      row.sha256 !== obs.sha256 ||
      (obs.ctimeMs !== undefined && obs.ctimeMs !== (row.ctimeMs ?? null)) ||
      row.state === 'skipped' ||
      row.state === 'failed' ||
      (obs.hashedAt !== undefined && obs.hashedAt !== row.hashedAt)
    ) {
      plan.observe.push(obs);
    }
    if (obs.sha256 === null) continue;
    if (willHold.get(obs.path) === obs.sha256) continue;
    let reason: Plan['uploads'][number]['reason'] = 'new';
    if (row?.fileId) {
      const expired = goneIds.get(row.fileId);
      if (expired !== undefined) reason = expired ? 'expired' : 'missing-remote';
      else reason = 'changed';
    }
    plan.uploads.push({ path: obs.path, reason });
  }
  for (const [path, s] of sortedEntries(local.skipped)) {
    const row = rowByPath.get(path);
    if (
      row &&
      row.state === 'skipped' &&
      row.skipReason === s.reason &&
      row.size === s.size &&
      row.mtimeMs === s.mtimeMs
    )
      continue;
    plan.skip.push({ obs: { path, size: s.size, mtimeMs: s.mtimeMs, ino: s.ino, sha256: null }, reason: s.reason });
  }

  // 6. Removals: rows whose file is gone (or now skipped while a remote copy remains).
  const { scope } = input;
  if (seen && (!rootReplaced || options.allowMassDelete)) plan.rootToRecord = seen;
  const candidates: Plan['removals'] = [];
  if (!rootMissing) {
    for (const r of rows) {
      if (scope && !scope.paths.has(r.path)) continue;
      if (local.files.has(r.path) || local.unreadable.has(r.path)) continue;
      if (isUnderAny(r.path, local.unreadableDirs)) continue;
      const liveFileId = r.fileId && !goneIds.has(r.fileId) ? r.fileId : null;
      if (local.skipped.has(r.path)) {
        if (liveFileId) candidates.push({ path: r.path, fileId: liveFileId, reason: 'skipped' });
        continue;
      }
      candidates.push({ path: r.path, fileId: liveFileId, reason: 'removed' });
    }
  }
  // Moves: content that reappeared under a new path is not a loss (src/plan/moves.ts).
  const newFiles: MoveTarget[] = [...(input.appeared ?? [])];
  for (const u of plan.uploads) {
    const obs = u.reason === 'new' ? local.files.get(u.path) : undefined;
    if (obs) newFiles.push({ path: obs.path, sha256: obs.sha256, ino: obs.ino });
  }
  const sources = candidates
    .filter((c) => c.fileId !== null && c.reason === 'removed')
    .map((c) => rowByPath.get(c.path) as PlanRow);
  const pairs = rootReplaced
    ? new Map<string, string>()
    : pairMoves(
        sources.map((r) => ({ path: r.path, sha256: r.sha256, ino: r.ino })),
        newFiles,
      );
  plan.moves = [...pairs].map(([from, to]) => ({ from, to }));
  const heldBefore = input.held ?? new Set<string>();
  const moved = candidates.filter((c) => pairs.has(c.path));
  const gone = candidates.filter((c) => c.fileId === null);
  // Held before and still gone: held until the user lifts the limit, never by the share.
  const stillHeld = options.allowMassDelete
    ? []
    : candidates.filter((c) => c.fileId !== null && !pairs.has(c.path) && heldBefore.has(c.path));
  const stillHeldSet = new Set(stillHeld);
  const fresh = candidates.filter((c) => c.fileId !== null && !pairs.has(c.path) && !stillHeldSet.has(c));
  const candidatePaths = new Set(candidates.map((c) => c.path));
  // Held paths out of reach of this plan (an unreadable directory, a missing folder) stay held.
  // (A held path the watcher path handled meanwhile is its to judge: it stays held here.)
  const untouched = allRows
    .filter(
      (r) =>
        heldBefore.has(r.path) &&
        (!scope || scope.paths.has(r.path)) &&
        !candidatePaths.has(r.path) &&
        !local.files.has(r.path) &&
        !local.skipped.has(r.path),
    )
    .map((r) => r.path);

  const recent = scope ? scope.recentRemovals.filter((t) => t > now - scope.windowMs) : [];
  plan.recentRemovals = recent;
  const managed = (scope ? scope.managed : countManaged(allRows)) + recent.length;
  const deleting = distinctFiles(fresh, rowByPath);
  const verdict = checkDeleteSafety({
    deleting: deleting + recent.length,
    managed,
    limits: options,
    allow: options.allowMassDelete,
  });
  const keptHeld = [...stillHeld.map((c) => c.path), ...untouched];
  if (rootMissing && allRows.some((r) => r.fileId)) {
    plan.held = {
      count: allRows.filter((r) => r.fileId).length,
      message: 'the watched folder is missing: nothing is deleted until it is back (is the disk mounted?)',
      rootMissing: true,
    };
    plan.heldPaths = keptHeld;
  } else if (rootReplaced && !options.allowMassDelete && deleting + stillHeld.length > 0) {
    plan.removals = gone;
    plan.heldPaths = [...fresh.map((c) => c.path), ...keptHeld];
    plan.held = {
      count: plan.heldPaths.length,
      message:
        `the watched folder was replaced (another folder now stands at its path) and ${deleting + stillHeld.length} synced files are not in it; ` +
        'nothing was deleted remotely. If the right disk is not mounted, mount it; if you meant it, run `claude-filesync reconcile --allow-mass-delete`.',
    };
  } else if (verdict.ok) {
    plan.removals = [...gone, ...moved, ...fresh];
    plan.heldPaths = keptHeld;
    if (keptHeld.length > 0) plan.held = { count: keptHeld.length, message: HELD_MESSAGE };
    if (scope) plan.recentRemovals = [...recent, ...fresh.map(() => now)];
  } else {
    // Rows whose remote copy is already gone can still go, and moves; only deletes are held.
    plan.removals = [...gone, ...moved];
    plan.heldPaths = [...fresh.map((c) => c.path), ...keptHeld];
    plan.held = { count: plan.heldPaths.length, message: verdict.message };
  }
  if (orphanHeld)
    plan.held = plan.held
      ? { count: plan.held.count + orphanHeld.count, message: `${plan.held.message} ${orphanHeld.message}` }
      : orphanHeld;
  plan.removals.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  plan.heldPaths.sort();
  return plan;
}

function countManaged(rows: readonly PlanRow[]): number {
  let n = 0;
  for (const r of rows) if (r.fileId !== null) n++;
  return n;
}

function sortedEntries<V>(map: ReadonlyMap<string, V>): [string, V][] {
  return [...map.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/**
 * The files a removal deletes, for the guard: a file moved and then removed before its move
 * finished has two rows, its old path and its new one, with one inode and one content (random
 * seed 300: a renamed folder removed 223 ms later was held as "20 of 20"). The user removed one
 * file, so it counts once. Distinct files keep distinct inodes, so a real mass delete, even of
 * files with equal content, counts every file.
 */
function distinctFiles(
  removals: readonly { path: string }[],
  rowByPath: { get(path: string): PlanRow | undefined },
): number {
  const seen = new Set<string>();
  let n = 0;
  for (const c of removals) {
    const r = rowByPath.get(c.path);
    if (!r?.ino || r.sha256 === null) {
      n += 1;
      continue;
    }
    const key = `${r.ino}:${r.sha256}`;
    if (seen.has(key)) continue;
    seen.add(key);
    n += 1;
  }
  return n;
}
