/** The planner's local step (planSync step 5): what to observe, skip and upload. Pure. */
import type { LocalObservation } from '../store/types.js';
import { API_REFUSED_TOO_LARGE, type Plan, type PlanContext } from './plan-types.js';

/** Writes the observations, skips and uploads of the files the folder holds into `ctx.plan`. */
export function planLocalSide(ctx: PlanContext): void {
  const { local, rowByPath, plan, willHold, goneIds } = ctx;
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
}

function sortedEntries<V>(map: ReadonlyMap<string, V>): [string, V][] {
  return [...map.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
