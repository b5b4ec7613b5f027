/**
 * The watched folder's identity: its device and inode together. Another identity at the same path
 * means the folder was replaced (an empty new folder, a disk not mounted over its mount point), so
 * its "removals" are held. The shell observes it (src/scan/observe-root.ts); the planner compares (sameRoot).
 */
import type { RootIdentity } from '../scan/observe-root.js';

export type { RootIdentity };
/** Index meta key of the identity the last reconcile accepted, `dev:ino`. */
export const ROOT_ID_META = 'root_id';
/** Written by older versions: the inode alone. Read when ROOT_ID_META is absent. */
const LEGACY_ROOT_INO_META = 'root_ino';

/** True when both name the same folder; a side without a device compares by inode alone. */
export function sameRoot(a: RootIdentity, b: RootIdentity): boolean {
  if (a.ino !== b.ino) return false;
  return a.dev === null || b.dev === null || a.dev === b.dev;
}

/** The identity recorded in the index meta, or null when none was recorded yet. */
export function knownRoot(getMeta: (key: string) => string | undefined): RootIdentity | null {
  const id = getMeta(ROOT_ID_META);
  if (id) {
    const sep = id.indexOf(':');
    if (sep > 0) return { dev: id.slice(0, sep), ino: id.slice(sep + 1) };
  }
  const legacy = getMeta(LEGACY_ROOT_INO_META);
  return legacy ? { dev: null, ino: legacy } : null;
}

export function formatRootMeta(id: RootIdentity): string {
  return `${id.dev ?? ''}:${id.ino}`;
}
