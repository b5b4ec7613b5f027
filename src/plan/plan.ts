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
import { remoteHolds, type PlanRow } from '../store/types.js';
import { sameRoot } from './root-identity.js';
import { planRemoteOwnership } from './plan-remote.js';
import { concurrentView } from './plan-concurrent.js';
import { planLocalSide } from './plan-local.js';
import { planRemovals } from './plan-removals.js';
import type { Plan, PlanContext, PlanInput } from './plan-types.js';

export type { RemoteFile, RemoteListing } from './remote-file.js';
export type { Adoption } from './plan-remote.js';
export type { ConcurrentChanges } from './plan-concurrent.js';
export type { LocalSnapshot, SkippedFile } from './local-snapshot.js';
export {
  API_REFUSED_TOO_LARGE,
  EXPIRY_MARGIN_MS,
  type Plan,
  type PlanInput,
  type PlanOptions,
} from './plan-types.js';

/** Plans one pass. Deterministic: the same input gives the same plan. */
export function planSync(input: PlanInput): Plan {
  const { options, now } = input;
  // Every row counts as owned; only the judged ones (not the watcher path's) are planned.
  const allRows = input.rows;
  const view = concurrentView(input, input.concurrent);
  const { local, remote } = view;
  const rows = view.judged;
  const plan = emptyPlan();

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

  const ctx: PlanContext = { input, plan, rows, local, rowByPath, willHold, goneIds };
  planLocalSide(ctx);

  planRemovals(ctx, { seen, rootMissing, rootReplaced });
  if (orphanHeld)
    plan.held = plan.held
      ? { count: plan.held.count + orphanHeld.count, message: `${plan.held.message} ${orphanHeld.message}` }
      : orphanHeld;
  plan.removals.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  plan.heldPaths.sort();
  return plan;
}

function emptyPlan(): Plan {
  return {
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
}
