import { Command } from 'commander';
import { NotRunningError, requestControl } from '../../control/client.js';
import { EXIT_FAILURE, EXIT_OK } from '../../daemon/exit-codes.js';
import { addCommonOptions, loadConfig, reportError, type CommandEnv, type CommonOptions } from '../common.js';
import { toFolderRelative } from '../folder-path.js';
import { openIndexReadonly } from '../offline.js';

export function idCommand(env: CommandEnv, done: (code: number) => void): Command {
  return addCommonOptions(new Command('id'))
    .description('print the file id of a synced local file (exit 1 if it is not synced), for use in a Messages request')
    .argument('<path>', 'a path relative to the watched folder, or an absolute path inside it')
    .action(async (input: string, opts: CommonOptions) => {
      try {
        const { config } = loadConfig(env, opts, { allowMissingKey: true });
        const rel = toFolderRelative(config.dir, input);
        let fileId: string | null;
        let state: string | null = null;
        try {
          fileId = (await requestControl(config.stateDir, { type: 'id', path: rel })).fileId;
        } catch (err) {
          if (!(err instanceof NotRunningError)) throw err;
          const index = openIndexReadonly(config);
          try {
            const row = index?.get(rel);
            state = row?.state ?? null;
            fileId = row && row.state === 'synced' ? row.fileId : null;
          } finally {
            index?.close();
          }
        }
        if (fileId === null) {
          env.err.write(`claude-filesync: ${rel} is not synced${state ? ` (state: ${state})` : ' (not in the index)'}\n`);
          done(EXIT_FAILURE);
          return;
        }
        env.out.write(`${fileId}\n`);
        done(EXIT_OK);
      } catch (err) {
        done(reportError(env, err));
      }
    });
}
