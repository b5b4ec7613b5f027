/** Where the randomized drivers open a daemon's index (shared by the drivers and the child). */
import path from 'node:path';
import * as stateFiles from '../../src/state-dir/state-files.js';

/**
 * The index file the daemon keeps for this target, as src/daemon/open-session.ts picks it: one per
 * target (`indexFile(stateDir, targetKey(api))`) once state-files.ts has them, else `index.sqlite`.
 * A target switch then resumes each target's own index, as the daemon does.
 */
export function indexPathFor(stateDir: string, url: string): string {
  const sf = stateFiles as unknown as Record<string, unknown>;
  const indexFile = sf.indexFile as ((dir: string, key: string) => string) | undefined;
  const targetKey = sf.targetKey as ((api: { target: string; baseURL: string }) => string) | undefined;
  if (indexFile && targetKey) return indexFile(stateDir, targetKey({ target: 'api', baseURL: url }));
  return path.join(stateDir, 'index.sqlite');
}
