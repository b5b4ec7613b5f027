/**
 * The planner's remote-ownership step: pure, called by planSync (src/plan/plan.ts) with the full
 * listing. It decides, for every listed file the index does not own, whether it is ours and what
 * becomes of it: adopted (it is exactly what an upload would store), deleted, or left alone.
 *
 * Ownership is what keeps us from deleting other people's files, so this step is kept apart and
 * small. A listed file the index does not own is ours only if it was found for one of our own
 * upload intents (same name, created after the intent began) or its name carries our owner tag
 * (src/plan/naming.ts):
 * - intent copies: one copy of the intended size is adopted while the folder still holds the
 *   intended content; every other copy under the intent's name is an orphan and is deleted;
 * - our tag: adopted when it is exactly a local file's copy (name, content tag and size), else an
 *   orphan, deleted only with --delete-orphans / --delete-unmanaged or after a lost index, and
 *   never while the folder is not all readable (it may be the copy of a file we cannot see);
 * - another owner's tag ("foreign"): never adopted, never deleted;
 * - no tag (a legacy name or another tool's file): adopted only with --adopt, deleted only with
 *   --delete-unmanaged.
 */
import { mayBeStoredBy } from '../files-api/limits.js';
import type { LocalObservation, UploadIntent } from '../store/types.js';
import { checkDeleteSafety, type DeleteSafetyLimits } from './delete-safety.js';
import { ownerTagOf, remoteNameFor } from './naming.js';
import type { RemoteFile, RemoteListing } from './remote-file.js';

/** The plan options this step reads (src/plan/plan.ts PlanOptions extends them). */
export interface OwnershipOptions extends DeleteSafetyLimits {
  /** Adopt unmanaged remote files whose name and size match a local file. */
  adopt: boolean;
  /** Delete remote files the index does not own. */
  deleteUnmanaged: boolean;
  /** Lift the share limit for this pass. */
  allowMassDelete: boolean;
  /** An intent matches files created up to this long before it began (clock skew). */
  intentSkewMs: number;
  /**
   * Our owner tag (config.sync.ownerTag). A listed copy with it that no row references is
   * adopted when it is exactly a local file's copy (name, content tag and size), else it is an
   * orphan. Absent or null: no name is ours by its tag.
   */
  ownerTag?: string | null;
  /**
   * The index was lost or never completed a reconcile: our orphans are deleted (within the
   * deletion-safety limits), since no row can still want them.
   */
  freshIndex?: boolean;
  /** Delete our orphans (`reconcile --delete-orphans`), whatever the index's age. */
  deleteOrphans?: boolean;
}

export interface Adoption {
  path: string;
  file: RemoteFile;
  sha256: string;
  /** intent: found for an upload intent; owner: carries our tag; unmanaged: a legacy name, by --adopt. */
  via: 'intent' | 'owner' | 'unmanaged';
  intentId: number | null;
}

interface OwnershipInput {
  /** The full listing by id (read once in full here). */
  remote: RemoteListing;
  /** Every id the index owns (rows and queued deletes): not this step's to judge. */
  owned: ReadonlySet<string>;
  intents: readonly UploadIntent[];
  /** Intents of uploads running right now: left alone. */
  liveIntentIds?: ReadonlySet<number>;
  /** Every syncable local file, with its content hash. */
  files: ReadonlyMap<string, LocalObservation>;
  /** For each path, the content its remote copy holds after the earlier steps. */
  willHold: { get(path: string): string | undefined };
  /** The folder is not all there (missing, replaced, or partly unreadable). */
  partial: boolean;
  options: OwnershipOptions;
}

interface OwnershipPlan {
  /** Intents resolved: adopted, turned into orphan deletes, or dropped (nothing was stored). */
  intentsDone: number[];
  /** In the order made; later adoptions saw the earlier ones' content as held. */
  adoptions: Adoption[];
  deletes: { fileId: string; remoteName: string; path: string | null; reason: 'orphan' | 'unmanaged' }[];
  unmanaged: RemoteFile[];
  orphans: RemoteFile[];
  foreign: RemoteFile[];
  /** Orphans held back (by the share or a partial folder), and why. */
  held: { count: number; message: string } | null;
}

/** Judges the listed files the index does not own. Deterministic. */
export function planRemoteOwnership(input: OwnershipInput): OwnershipPlan {
  const { remote, owned, options } = input;
  const out: OwnershipPlan = {
    intentsDone: [],
    adoptions: [],
    deletes: [],
    unmanaged: [],
    orphans: [],
    foreign: [],
    held: null,
  };
  // This step's adoptions over the earlier steps' contents (not a copy: it may be every row).
  const adopted = new Map<string, string>();
  const willHold = { get: (path: string): string | undefined => adopted.get(path) ?? input.willHold.get(path) };
  const adopt = (a: Adoption): void => {
    out.adoptions.push(a);
    adopted.set(a.path, a.sha256);
  };

  // Intents left by uploads that did not finish: find what they stored.
  const claimed = new Set<string>();
  // Only the listed files the index does not own are judged here, so only they are kept: for a
  // synced folder that is none of a listing of any size.
  const unowned: RemoteFile[] = [];
  for (const f of remote.values()) if (!owned.has(f.id)) unowned.push(f);
  const byName = groupByName(unowned);
  for (const intent of input.intents) {
    if (input.liveIntentIds?.has(intent.id)) continue;
    out.intentsDone.push(intent.id);
    // A file under the intent's exact name, created after it began, is ours whatever its size
    // (the file may have changed while it streamed). Only a copy of the intended size can hold
    // the intended content; and it is adopted only while the folder still holds that content.
    const candidates = (byName.get(intent.remoteName) ?? [])
      .filter((f) => !claimed.has(f.id) && mayBeStoredBy(f.createdAt, intent.startedAt, options.intentSkewMs))
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
    for (const f of candidates) claimed.add(f.id);
    const obs = input.files.get(intent.path);
    let wanted = obs?.sha256 === intent.sha256 && willHold.get(intent.path) !== intent.sha256;
    for (const f of candidates) {
      if (wanted && f.size === intent.size) {
        adopt({ path: intent.path, file: f, sha256: intent.sha256, via: 'intent', intentId: intent.id });
        wanted = false;
      } else {
        out.deletes.push({ fileId: f.id, remoteName: f.filename, path: intent.path, reason: 'orphan' });
      }
    }
  }

  // Listed files the index does not own: ours by tag, another owner's, or untagged.
  const owner = options.ownerTag ?? null;
  // A running upload's copy may be listed before its answer arrives: it is the upload's.
  const liveNames = new Set(input.intents.filter((i) => input.liveIntentIds?.has(i.id)).map((i) => i.remoteName));
  // The copy each local file lacks, under our name and (for --adopt) under its legacy name.
  const ownNames = new Map<string, LocalObservation>();
  const legacyNames = new Map<string, LocalObservation>();
  for (const obs of input.files.values()) {
    if (!obs.sha256 || willHold.get(obs.path) === obs.sha256) continue;
    if (owner !== null) ownNames.set(remoteNameFor(obs.path, obs.sha256, owner), obs);
    if (options.adopt) legacyNames.set(remoteNameFor(obs.path, obs.sha256, null), obs);
  }
  const adoptMatch = (names: Map<string, LocalObservation>, f: RemoteFile): LocalObservation | null => {
    const obs = names.get(f.filename);
    return obs?.sha256 && obs.size === f.size && willHold.get(obs.path) !== obs.sha256 ? obs : null;
  };
  const orphans: RemoteFile[] = [];
  let ownTagged = 0;
  for (const f of sortedByCreation(unowned)) {
    if (claimed.has(f.id) || liveNames.has(f.filename)) continue;
    const tag = ownerTagOf(f.filename);
    if (owner !== null && tag === owner) {
      ownTagged += 1;
      // Exactly a local file's copy, by our own name: adopting it is what uploading would give.
      const obs = adoptMatch(ownNames, f);
      if (obs) adopt({ path: obs.path, file: f, sha256: obs.sha256 as string, via: 'owner', intentId: null });
      else orphans.push(f);
      continue;
    }
    if (tag !== null) {
      out.foreign.push(f);
      continue;
    }
    const obs = options.adopt ? adoptMatch(legacyNames, f) : null;
    if (obs) {
      adopt({ path: obs.path, file: f, sha256: obs.sha256 as string, via: 'unmanaged', intentId: null });
      continue;
    }
    if (options.deleteUnmanaged)
      out.deletes.push({ fileId: f.id, remoteName: f.filename, path: null, reason: 'unmanaged' });
    else out.unmanaged.push(f);
  }
  judgeOrphans(input, out, orphans, ownTagged);
  return out;
}

/**
 * Our orphans (tagged copies no row wants): deleted, held (by the share or a partial folder) or
 * listed, by the options. `ownTagged`: the unowned copies with our tag.
 */
function judgeOrphans(input: OwnershipInput, out: OwnershipPlan, orphans: RemoteFile[], ownTagged: number): void {
  const { remote, owned, options } = input;
  const owner = options.ownerTag ?? null;
  const deleteOrphans = (): void => {
    for (const f of orphans) out.deletes.push({ fileId: f.id, remoteName: f.filename, path: null, reason: 'orphan' });
  };
  // An orphan is an older version or a removed path, unless the folder is not all there: then
  // it may be the copy of a file we cannot see (with a lost index, no row says otherwise).
  const { partial } = input;
  if (orphans.length === 0) {
    // nothing to decide
  } else if ((options.deleteOrphans || options.deleteUnmanaged) && !partial) {
    deleteOrphans();
  } else if (options.freshIndex || options.deleteOrphans || options.deleteUnmanaged) {
    // The share is of every copy with our tag, the index's own included: the reconcile's batches
    // (src/reconcile/early-plan.ts) adopt most of a lost index's copies before this step runs, and
    // counting only the copies left unowned made a few stale copies look like all of them.
    for (const f of remote.values()) if (owned.has(f.id) && ownerTagOf(f.filename) === owner) ownTagged += 1;
    const verdict = checkDeleteSafety({
      deleting: orphans.length,
      managed: ownTagged,
      limits: options,
      allow: options.allowMassDelete,
    });
    if (!partial && verdict.ok && options.freshIndex) deleteOrphans();
    else {
      out.orphans = orphans;
      out.held = {
        count: orphans.length,
        message: partial
          ? `${orphans.length} remote copies carry our owner tag but match no file; the folder is not all readable (or is missing or replaced), so none was deleted. Once it is, run \`claude-filesync reconcile --delete-orphans\`.`
          : `${orphans.length} of ${ownTagged} remote copies with our owner tag match no file in the folder, more than sync.maxDeletePercent (${options.maxDeletePercent}%); ` +
            'nothing was deleted. If the folder is complete, run `claude-filesync reconcile --delete-orphans` (with --dry-run to list them first).',
      };
    }
  } else {
    out.orphans = orphans;
  }
}

function groupByName(files: readonly RemoteFile[]): Map<string, RemoteFile[]> {
  const byName = new Map<string, RemoteFile[]>();
  for (const f of files) {
    const list = byName.get(f.filename);
    if (list) list.push(f);
    else byName.set(f.filename, [f]);
  }
  return byName;
}

function sortedByCreation(files: Iterable<RemoteFile>): RemoteFile[] {
  return [...files].sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
}
