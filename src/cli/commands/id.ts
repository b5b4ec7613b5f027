import { Command } from 'commander';
import { EXIT_FAILURE, EXIT_OK } from '../../daemon/exit-codes.js';
import { askDaemonOrIndex } from '../ask-daemon.js';
import { addCommonOptions, loadConfig, reportError, type CommandEnv, type CommonOptions } from '../common.js';
import { toFolderRelative } from '../folder-path.js';
import { offlineId } from '../offline.js';

export function idCommand(env: CommandEnv, done: (code: number) => void): Command {
  return addCommonOptions(new Command('id'))
    .description('print the file id of a synced local file (exit 1 if it is not synced), for use in a Messages request')
    .argument('<path>', 'a path relative to the watched folder, or an absolute path inside it')
    .action(async (input: string, opts: CommonOptions) => {
      try {
        const { config } = loadConfig(env, opts, { allowMissingKey: true });
        const rel = toFolderRelative(config.dir, input);
        // The daemon answers the file id only; the index also says why there is none.
        const answer = await askDaemonOrIndex(config, { type: 'id', path: rel }, (index) => offlineId(index, rel));
        const fileId = answer.fileId;
        const state = answer.state ?? null;
        if (state === 'held') {
          // Its remote copy still exists, but the file is gone: handing out its id would be a lie.
          env.err.write(`claude-filesync: held: ${rel} is gone from the folder and its remote delete is held; run \`claude-filesync reconcile --allow-mass-delete\` to delete it, or restore the file\n`);
          done(EXIT_FAILURE);
          return;
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
