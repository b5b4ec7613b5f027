import { Command } from 'commander';
import { EXIT_FAILURE, EXIT_OK } from '../../daemon/exit-codes.js';
import { describeTarget, targetKey } from '../../state-dir/state-files.js';
import { contentBlockFor } from '../../engine/report.js';
import { answeredByEmulator, askDaemonOrIndex, FROM_EMULATOR_NOTE } from '../ask-daemon.js';
import { addCommonOptions, loadConfig, reportError, type CommandEnv, type CommonOptions } from '../common.js';
import { toFolderRelative } from '../folder-path.js';
import { quotePath } from '../quote-path.js';
import { type LocalChange, offlineEntryOf, offlineId } from '../offline.js';
import type { FileEntry } from '../../engine/contract.js';

export function idCommand(env: CommandEnv, done: (code: number) => void): Command {
  return addCommonOptions(new Command('id'))
    .description('print the file id of a synced local file (exit 1 if it is not synced), for use in a Messages request')
    .argument('<path>', 'a path relative to the watched folder, or an absolute path inside it')
    .option(
      '--block',
      'print the JSON content block instead: document, image or container_upload, by the type it was uploaded with',
    )
    .action(async (input: string, opts: CommonOptions & { block?: boolean }) => {
      try {
        const { config } = loadConfig(env, opts, { allowMissingKey: true });
        const rel = toFolderRelative(config.dir, input);
        const shown = quotePath(rel);
        if (opts.block) {
          // The block needs the whole entry (its type); the daemon's file list carries it.
          const entries: (FileEntry & { changed?: LocalChange })[] = await askDaemonOrIndex(
            config,
            { type: 'files' },
            (index) => [offlineEntryOf(index, rel, config.dir)].filter((e) => e !== null),
            { timeoutMs: 60_000 },
          );
          const entry = entries.find((e) => e.path === rel);
          if (entry?.changed) return done(changedSince(env, shown, entry.changed));
          const block = entry ? contentBlockFor(entry) : null;
          if (block === null) {
            env.err.write(
              `claude-filesync: ${shown} is not synced${entry ? ` (state: ${entry.state})` : ' (not in the index)'}\n`,
            );
            done(EXIT_FAILURE);
            return;
          }
          env.out.write(`${JSON.stringify(block)}\n`);
          if (await answeredByEmulator(config)) env.err.write(FROM_EMULATOR_NOTE);
          done(EXIT_OK);
          return;
        }
        // The daemon answers the file id only; the index also says why there is none.
        const answer = await askDaemonOrIndex(config, { type: 'id', path: rel }, (index) => ({
          ...offlineId(index, rel, config.dir),
          noIndex: index === null,
        }));
        if ('changed' in answer && answer.changed) return done(changedSince(env, shown, answer.changed));
        const fileId = answer.fileId;
        const state = 'state' in answer ? (answer.state ?? null) : null;
        if ('noIndex' in answer && answer.noIndex) {
          // The index is per target: another target's ids are no answer for this one.
          env.err.write(
            `claude-filesync: ${shown} is not synced: there is no index for ${describeTarget(targetKey(config.api))} in ${config.stateDir} (nothing was synced to it yet)\n`,
          );
          done(EXIT_FAILURE);
          return;
        }
        if (state === 'held') {
          // Its remote copy still exists, but the file is gone: handing out its id would be a lie.
          env.err.write(
            `claude-filesync: held: ${shown} is gone from the folder and its remote delete is held; run \`claude-filesync reconcile --allow-mass-delete\` to delete it, or restore the file\n`,
          );
          done(EXIT_FAILURE);
          return;
        }
        if (fileId === null) {
          env.err.write(
            `claude-filesync: ${shown} is not synced${state ? ` (state: ${state})` : ' (not in the index)'}\n`,
          );
          done(EXIT_FAILURE);
          return;
        }
        env.out.write(`${fileId}\n`);
        if (await answeredByEmulator(config)) env.err.write(FROM_EMULATOR_NOTE);
        done(EXIT_OK);
      } catch (err) {
        done(reportError(env, err));
      }
    });
}

/** The index's id is for the content synced then; with no daemon running, nobody synced the change. */
function changedSince(env: CommandEnv, shown: string, change: LocalChange): number {
  env.err.write(
    `claude-filesync: ${shown} ${change === 'gone' ? 'is gone' : 'changed'} since it was synced, and the daemon is not running: its id is for the old content. Run \`claude-filesync sync\` (or start the daemon), then ask again\n`,
  );
  return EXIT_FAILURE;
}
