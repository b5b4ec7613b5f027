import { Command } from 'commander';
import { EXIT_OK } from '../../daemon/exit-codes.js';
import { answeredByEmulator, askDaemonOrIndex, FROM_EMULATOR_NOTE } from '../ask-daemon.js';
import {
  addCommonOptions,
  loadConfig,
  printJson,
  reportError,
  type CommandEnv,
  type CommonOptions,
} from '../common.js';
import { formatEntries } from '../format.js';
import { offlineEntries } from '../offline.js';

export function lsCommand(env: CommandEnv, done: (code: number) => void): Command {
  return addCommonOptions(new Command('ls'))
    .description('every indexed file: state, size, file id, path')
    .option('--json', 'print an array of {path, fileId, sizeBytes, sha256, state, error, mimeType, block, note}')
    .action(async (opts: CommonOptions & { json?: boolean }) => {
      try {
        const { config } = loadConfig(env, opts, { allowMissingKey: true });
        const entries = await askDaemonOrIndex(config, { type: 'files' }, offlineEntries, { timeoutMs: 60_000 });
        entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
        if (opts.json) printJson(env, entries);
        else env.out.write(formatEntries(entries));
        if (await answeredByEmulator(config)) env.err.write(FROM_EMULATOR_NOTE);
        done(EXIT_OK);
      } catch (err) {
        done(reportError(env, err));
      }
    });
}
