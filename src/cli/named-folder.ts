/** A folder named by the user that does not exist: a typo, or a disk not mounted yet. */
import { existsSync } from 'node:fs';
import type { Config } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { anyIndexExists } from '../state-dir/state-files.js';

/**
 * Throws (exit 2) when `dir` was named (flag, environment or file), does not exist, and no index
 * exists yet: the case where a first run used to create an empty folder and report it in sync.
 * With an index, a missing folder is one that vanished, and the commands say so themselves.
 */
export function checkNamedFolder(config: Config): void {
  if (config.dirSource === undefined || existsSync(config.dir) || anyIndexExists(config.stateDir)) return;
  throw new ConfigError(`the folder ${config.dir} (${config.dirSource}) does not exist`, {
    hint: `create it (mkdir -p '${config.dir}') if that is the folder to sync, or name the right one; only the default folder is created on a first run`,
  });
}
