/**
 * The planner's removal step (planSync step 6): the rows whose file is gone, the moves among them,
 * and what deletion safety, a missing or replaced folder and the held deletes let go. Pure.
 */
import { isUnderAny } from '../scan/inside.js';
import type { PlanRow } from '../store/types.js';
import { checkDeleteSafety } from './delete-safety.js';
import { HELD_MESSAGE } from './held-deletes.js';
import { pairMoves, type MoveTarget } from './moves.js';
import type { Plan, PlanContext } from './plan-types.js';
import type { RootIdentity } from './root-identity.js';

/** The folder as this plan sees it. */
interface FolderSeen {
  seen: RootIdentity | null | undefined;
  rootMissing: boolean;
  rootReplaced: boolean;
}

/** Writes the removals, moves, held paths and the folder identity to record into `ctx.plan`. */
export function planRemovals(ctx: PlanContext, folder: FolderSeen): void {
  const { input, plan, rows, local, rowByPath, goneIds } = ctx;
  const { options, now } = input;
  const allRows = input.rows;
  const { seen, rootMissing, rootReplaced } = folder;
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
}

function countManaged(rows: readonly PlanRow[]): number {
  let n = 0;
  for (const r of rows) if (r.fileId !== null) n++;
  return n;
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
