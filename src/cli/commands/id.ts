import { Command } from 'commander';
import { EXIT_FAILURE, EXIT_OK } from '../../daemon/exit-codes.js';
import { contentBlockFor } from '../../sync/report.js';
import { askDaemonOrIndex } from '../ask-daemon.js';
import { addCommonOptions, loadConfig, reportError, type CommandEnv, type CommonOptions } from '../common.js';
import { toFolderRelative } from '../folder-path.js';
import { toEntry } from '../offline.js';

export function idCommand(env: CommandEnv, done: (code: number) => void): Command {
  return addCommonOptions(new Command('id'))
    .description('print the file id of a synced local file (exit 1 if it is not synced), for use in a Messages request')
    .argument('<path>', 'a path relative to the watched folder, or an absolute path inside it')
    .option('--block', 'print the JSON content block instead: document, image or container_upload, by the type it was uploaded with')
    .action(async (input: string, opts: CommonOptions & { block?: boolean }) => {
      try {
        const { config } = loadConfig(env, opts, { allowMissingKey: true });
        const rel = toFolderRelative(config.dir, input);
        if (opts.block) {
          // The block needs the whole entry (its type); the daemon's file list carries it.
          const entries = await askDaemonOrIndex(config, { type: 'files' }, (index) => {
            const row = index?.get(rel);
            return row ? [toEntry(row)] : [];
          }, { timeoutMs: 60_000 });
          const entry = entries.find((e) => e.path === rel);
          const block = entry ? contentBlockFor(entry) : null;
          if (block === null) {
            env.err.write(`claude-filesync: ${rel} is not synced${entry ? ` (state: ${entry.state})` : ' (not in the index)'}\n`);
            done(EXIT_FAILURE);
            return;
          }
          env.out.write(`${JSON.stringify(block)}\n`);
          done(EXIT_OK);
          return;
        }
        // The daemon answers the file id only; the index also says why there is none.
        const answer = await askDaemonOrIndex(config, { type: 'id', path: rel }, (index) => {
          const row = index?.get(rel);
          return { fileId: row && row.state === 'synced' ? row.fileId : null, state: row?.state ?? null };
        });
        const fileId = answer.fileId;
        const state = 'state' in answer ? answer.state : null;
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
