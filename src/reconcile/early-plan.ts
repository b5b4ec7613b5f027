/**
 * Planning a reconcile's files in batches while the walk goes on, pure. Once the listing is
 * complete, a file needs only its own row and the remote facts about its own path to decide
 * whether it is unchanged, adopted or uploaded; everything that needs the whole scan (removals,
 * moves, the mass-delete guard, orphans) waits for the walk to end.
 *
 * The batch decisions are made by the very planner of the full pass (src/plan/plan.ts planSync),
 * given the batch's rows and the slice of the listing its paths can touch: a copy a batch row
 * points at, and the copies the index does not own named for a batch file's content (our name,
 * and the legacy name with --adopt). The slice is looked up by id and by name in the listing (the
 * index's TEMP table: no map of the whole listing is built). planSync's per-path decisions read
 * nothing else, so a batch gets the decisions the full plan gives the same paths.
 *
 * The full plan then leaves the decided paths out (as it leaves out the watcher path's: the
 * `handled` set of src/plan/plan-concurrent.ts) and is told the early uploads of new files as
 * `appeared`, so a move still pairs a file uploaded early with the path it left and the
 * mass-delete guard counts as it always did.
 *
 * Paths whose decision involves more than their own upload are left to the full plan: an upload
 * intent (an earlier attempt may have stored a copy), or a row whose copy is gone, deleted
 * meanwhile or expiring (that queues a delete, and deletes wait for the uploads).
 */
import type { LocalObservation, PlanRow } from '../store/types.js';
import type { MoveTarget } from '../plan/moves.js';
import { remoteNameFor } from '../plan/naming.js';
import { planSync, type ConcurrentChanges, type Plan, type PlanOptions } from '../plan/plan.js';
import type { RemoteFile } from '../plan/remote-file.js';

/** The complete listing, as a batch reads it: by id and by name. */
export interface ListingLookup {
  get(id: string): RemoteFile | undefined;
  named(filename: string): readonly RemoteFile[];
}

interface EarlyInput {
  /** The batch: files whose observation is final. */
  files: readonly LocalObservation[];
  /** The index's row of a path. */
  rowOf(path: string): PlanRow | undefined;
  /** True when the path has an upload intent. */
  hasIntent(path: string): boolean;
  /** True when the index owns the copy: a row points at it, or its delete is queued. */
  owned(fileId: string): boolean;
  listing: ListingLookup;
  /** Copies deleted (or found gone) since the listing was read: as good as unlisted. */
  gone?: ReadonlySet<string>;
  now: number;
  options: PlanOptions;
}

export interface EarlyPlan {
  /** Paths decided here (whether or not they need anything): the full plan leaves them out. */
  decided: string[];
  /** Paths left to the full plan. */
  deferred: string[];
  observe: LocalObservation[];
  adoptions: Plan['adoptions'];
  uploads: Plan['uploads'];
  /** The new files among the uploads, for the full plan's move pairing. */
  appeared: MoveTarget[];
}

/** Decides what a batch of files needs, as the full plan would. Deterministic. */
export function planEarly(input: EarlyInput): EarlyPlan {
  const { options, now } = input;
  const gone = input.gone ?? new Set<string>();
  const out: EarlyPlan = { decided: [], deferred: [], observe: [], adoptions: [], uploads: [], appeared: [] };
  const rows: PlanRow[] = [];
  const files = new Map<string, LocalObservation>();
  const remote = new Map<string, RemoteFile>();
  const owner = options.ownerTag ?? null;
  const addNamed = (name: string): void => {
    for (const f of input.listing.named(name)) if (!gone.has(f.id) && !input.owned(f.id)) remote.set(f.id, f);
  };
  for (const obs of input.files) {
    const row = input.rowOf(obs.path);
    const copy = row?.fileId && !gone.has(row.fileId) ? input.listing.get(row.fileId) : undefined;
    if (input.hasIntent(obs.path) || (row?.fileId && !liveCopy(row, copy, now, options.expiryMarginMs))) {
      out.deferred.push(obs.path);
      continue;
    }
    out.decided.push(obs.path);
    files.set(obs.path, obs);
    if (row) rows.push(row);
    if (copy) remote.set(copy.id, copy);
    if (obs.sha256 === null) continue;
    if (owner !== null) addNamed(remoteNameFor(obs.path, obs.sha256, owner));
    if (options.adopt) addNamed(remoteNameFor(obs.path, obs.sha256, null));
  }
  if (files.size === 0) return out;
  const plan = planSync({
    rows,
    intents: [],
    pendingDeletes: [],
    local: { files, skipped: new Map(), unreadable: new Set(), unreadableDirs: [], rootMissing: false },
    remote,
    now,
    // Orphans and unmanaged files are the full plan's to judge: nothing is deleted from here.
    options: { ...options, freshIndex: false, deleteOrphans: false, deleteUnmanaged: false },
  });
  out.observe = plan.observe;
  out.adoptions = plan.adoptions;
  out.uploads = plan.uploads;
  for (const u of plan.uploads) {
    const obs = u.reason === 'new' ? files.get(u.path) : undefined;
    if (obs) out.appeared.push({ path: obs.path, sha256: obs.sha256, ino: obs.ino });
  }
  return out;
}

/** The row's copy is listed and not about to expire. */
function liveCopy(row: PlanRow, copy: RemoteFile | undefined, now: number, marginMs: number): boolean {
  if (!copy) return false;
  const expiresAt = copy.expiresAt ?? row.remoteExpiresAt;
  return expiresAt === null || expiresAt === undefined || expiresAt > now + marginMs;
}

/**
 * What the full plan is told happened meanwhile: the watcher path's facts, with the paths the
 * batches decided added to the handled ones (the full plan leaves both out).
 */
export function withDecided(
  facts: ConcurrentChanges | undefined,
  decided: ReadonlySet<string>,
  since: number,
): ConcurrentChanges | undefined {
  if (decided.size === 0) return facts;
  const handled = new Set(facts?.handled ?? []);
  for (const p of decided) handled.add(p);
  return facts ? { ...facts, handled } : { since, handled, stored: new Set(), gone: new Set(), liveAtStart: new Set() };
}

/** `paths` without those the batches decided. */
export function withoutPaths(
  paths: ReadonlySet<string>,
  decided: ReadonlySet<string> | undefined,
): ReadonlySet<string> {
  if (!decided || decided.size === 0 || paths.size === 0) return paths;
  const kept = new Set<string>();
  for (const p of paths) if (!decided.has(p)) kept.add(p);
  return kept;
}
