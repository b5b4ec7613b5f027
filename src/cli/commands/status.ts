import { Command } from 'commander';
import { NotRunningError, requestControl } from '../../control/client.js';
import { EXIT_OK } from '../../daemon/exit-codes.js';
import type { StatusReport } from '../../sync/types.js';
import { addCommonOptions, loadConfig, printJson, reportError, type CommandEnv, type CommonOptions } from '../common.js';
import { formatStatus } from '../format.js';
import { offlineStatus, openIndexReadonly } from '../offline.js';

export function statusCommand(env: CommandEnv, done: (code: number) => void): Command {
  return addCommonOptions(new Command('status'))
    .description('running or not, target, counts by state, queue, rate-limit pauses, last reconcile, last errors')
    .option('--json', 'print the status as JSON')
    .action(async (opts: CommonOptions & { json?: boolean }) => {
      try {
        const { config } = loadConfig(env, opts, { allowMissingKey: true });
        let status: StatusReport;
        try {
          status = await requestControl(config.stateDir, { type: 'status' });
        } catch (err) {
          if (!(err instanceof NotRunningError)) throw err;
          const index = openIndexReadonly(config);
          try {
            status = offlineStatus(config, index);
          } finally {
            index?.close();
          }
        }
        if (opts.json) printJson(env, status);
        else env.out.write(formatStatus(status));
        done(EXIT_OK);
      } catch (err) {
        done(reportError(env, err));
      }
    });
}
