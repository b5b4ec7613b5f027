import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { EXIT_OK } from '../../daemon/exit-codes.js';
import { askDaemonOrIndex } from '../ask-daemon.js';
import {
  addCommonOptions,
  loadConfig,
  printJson,
  reportError,
  type CommandEnv,
  type CommonOptions,
} from '../common.js';
import { formatStatus } from '../format.js';
import { offlineStatus } from '../offline.js';

export function statusCommand(env: CommandEnv, done: (code: number) => void): Command {
  return addCommonOptions(new Command('status'))
    .description(
      'running or not, target, counts by state, queue, rate-limit pauses, last reconcile, last errors; last upload, what waits and since when, the rate, and when a rate-limited backlog should be done',
    )
    .option('--json', 'print the status as JSON')
    .action(async (opts: CommonOptions & { json?: boolean }) => {
      try {
        const { config } = loadConfig(env, opts, { allowMissingKey: true });
        const status = await askDaemonOrIndex(config, { type: 'status' }, (index) => offlineStatus(config, index));
        if (opts.json) printJson(env, status);
        else {
          // The default folder, missing with no daemon, is one the first run will create: no problem.
          const missing = !existsSync(status.dir) && (status.running || config.dirSource !== undefined);
          env.out.write(formatStatus(status, { folderMissing: missing }));
        }
        done(EXIT_OK);
      } catch (err) {
        done(reportError(env, err));
      }
    });
}
