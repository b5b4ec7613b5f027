/** The watched folder's identity as it is now (the IO half of src/plan/root-identity.ts). */
import { stat } from 'node:fs/promises';

export interface RootIdentity {
  /** null when only the inode is known (an index written before the device was recorded). */
  readonly dev: string | null;
  readonly ino: string;
}

/** The folder's identity now, or null when it is missing (or no longer a directory). */
export async function observeRoot(dir: string): Promise<RootIdentity | null> {
  return stat(dir).then(
    (s) => (s.isDirectory() ? { dev: String(s.dev), ino: String(s.ino) } : null),
    () => null,
  );
}
