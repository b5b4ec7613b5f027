/** The planner's input and output (src/plan/plan.ts planSync), and what its steps share. */
import type { LocalObservation, PlanRow, RemoteDelete, UploadIntent } from '../store/types.js';
import type { LocalSnapshot } from './local-snapshot.js';
import type { MoveTarget } from './moves.js';
import type { ConcurrentChanges } from './plan-concurrent.js';
import type { Adoption, OwnershipOptions } from './plan-remote.js';
import type { RemoteFile, RemoteListing } from './remote-file.js';
import type { RootIdentity } from './root-identity.js';

/** A remote copy expiring within this margin is replaced at the pass before. */
export const EXPIRY_MARGIN_MS = 5 * 60_000;

/** The start of the skip reason the executor records when the API answers 413. */
export const API_REFUSED_TOO_LARGE = 'refused by the API as too large (413)';

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

/** What planSync's steps (./plan-local.ts, ./plan-removals.ts) share of its state. */
export interface PlanContext {
  readonly input: PlanInput;
  readonly plan: Plan;
  /** The rows this plan judges (src/plan/plan-concurrent.ts). */
  readonly rows: readonly PlanRow[];
  readonly local: LocalSnapshot;
  readonly rowByPath: { get(path: string): PlanRow | undefined };
  /** For each path, the content its remote copy holds after this plan. */
  readonly willHold: { get(path: string): string | undefined };
  /** Remote copies gone from the listing (false) or expired (true), by file id. */
  readonly goneIds: ReadonlyMap<string, boolean>;
}
