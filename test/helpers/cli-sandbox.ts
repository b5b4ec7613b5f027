/** A user's world for one spawned CLI: a temporary HOME with the watched folder and the state directory in it. */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Sandbox {
  home: string;
  dir: string;
  stateDir: string;
  /** `--dir <dir> --state-dir <stateDir>`, for every command. */
  args: string[];
}

export function sandbox(prefix = 'cfs-e2e-'): Sandbox {
  const home = mkdtempSync(join(tmpdir(), prefix));
  const dir = join(home, 'folder');
  const stateDir = join(home, 'state');
  mkdirSync(dir);
  return { home, dir, stateDir, args: ['--dir', dir, '--state-dir', stateDir] };
}
