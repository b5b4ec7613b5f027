/** The watched folder's identity as it is now (the IO half of src/plan/root-identity.ts). */
import { stat } from 'node:fs/promises';

export interface RootIdentity {
  /** null when only the inode is known (an index written before the device was recorded). */
  readonly dev: string | null;
  readonly ino: string;
}

/**
 * Whether the folder is there, and its identity when it can be stat'ed (the watcher's view). Only
 * a sure absence counts as missing: an unreadable root is not a reason to hold everything.
 */
export async function rootState(dir: string): Promise<{ present: boolean; id: RootIdentity | null }> {
  try {
    const st = await stat(dir);
    return { present: st.isDirectory(), id: { dev: String(st.dev), ino: String(st.ino) } };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { present: !(code === 'ENOENT' || code === 'ENOTDIR'), id: null };
  }
}

/** The folder's identity now, or null when it is missing (or no longer a directory, or cannot be stat'ed). */
export async function observeRoot(dir: string): Promise<RootIdentity | null> {
  const { present, id } = await rootState(dir);
  return present ? id : null;
}
