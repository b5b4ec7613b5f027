/**
 * The scratch state directory of a dry-run reconcile with no index yet (see dryRunScratch). It is
 * composition, not a command's business: it decides which state directory a session opens.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/types.js';
import { EMULATOR_DIR, indexFile, legacyIndexFile, ownFilesOf, targetKey } from '../state-dir/state-files.js';

/**
 * A dry run must create nothing, but a session creates the state directory, the index and (on a
 * first run) the folder. With no index yet, the dry run works on a scratch state directory in the
 * temporary folder instead: an empty index is exactly what a missing one means, the built-in
 * emulator's store is reached through a link when it exists, and a missing folder stands as an
 * empty one (so every remote copy shows as unmanaged and nothing as to upload). Null when the
 * index exists: then the session only reads what is there.
 */
export function dryRunScratch(config: Config): { config: Config; remove(): void } | null {
  if (existsSync(indexFile(config.stateDir, targetKey(config.api))) || existsSync(legacyIndexFile(config.stateDir)))
    return null;
  const root = mkdtempSync(join(tmpdir(), 'cfs-dry-run-'));
  const stateDir = join(root, 'state');
  mkdirSync(stateDir, { mode: 0o700 });
  const emulatorStore = join(config.stateDir, EMULATOR_DIR);
  const linked = config.api.target === 'emulator' && existsSync(emulatorStore);
  if (linked) symlinkSync(emulatorStore, join(stateDir, EMULATOR_DIR));
  let dir = config.dir;
  if (!existsSync(config.dir)) {
    dir = join(root, 'empty-folder');
    mkdirSync(dir);
  }
  return {
    // The real state directory stays among the own files (out of the scan, as in a real run).
    config: Object.freeze({
      ...config,
      stateDir,
      dir,
      ownFiles: [...ownFilesOf(config), { path: stateDir, what: 'the state directory', dir: true }],
    }),
    remove() {
      // The link first: only the link goes, never the store it points at.
      if (linked) unlinkSync(join(stateDir, EMULATOR_DIR));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
