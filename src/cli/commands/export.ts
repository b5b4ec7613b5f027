/** `export --format json|resources`: the synced folder as data for programs and Managed Agents sessions. */
import { Command, Option } from 'commander';
import { EXIT_OK } from '../../daemon/exit-codes.js';
import { manifestOf, MAX_SESSION_RESOURCES, sessionResourcesOf, splitResources } from '../../engine/report.js';
import { answeredByEmulator, askDaemonOrIndex, FROM_EMULATOR_NOTE } from '../ask-daemon.js';
import {
  addCommonOptions,
  loadConfig,
  printJson,
  reportError,
  usageError,
  type CommandEnv,
  type CommonOptions,
} from '../common.js';
import { offlineEntries } from '../offline.js';

type ExportFlags = CommonOptions & { format: 'json' | 'resources'; split?: string; part?: string };

function positiveInt(text: string | undefined): number | null {
  if (text === undefined) return null;
  return /^[1-9][0-9]*$/.test(text) ? Number(text) : NaN;
}

export function exportCommand(env: CommandEnv, done: (code: number) => void): Command {
  return addCommonOptions(new Command('export'))
    .description(
      'print every synced file as JSON: a manifest (id, size, sha256, MIME type, block) or Managed Agents session resources',
    )
    .addOption(
      new Option('--format <format>', 'json: the manifest; resources: [{type, file_id, mount_path}] for a session')
        .choices(['json', 'resources'])
        .default('json'),
    )
    .option(
      '--split <n>',
      `resources: cut into sessions of at most n files (1-${MAX_SESSION_RESOURCES}); without --part prints an array of sessions`,
    )
    .option(
      '--part <k>',
      `resources: print only session k (1-based) of the split (${MAX_SESSION_RESOURCES} files each unless --split)`,
    )
    .action(async (opts: ExportFlags) => {
      try {
        const { config } = loadConfig(env, opts, { allowMissingKey: true });
        const split = positiveInt(opts.split);
        const part = positiveInt(opts.part);
        if (opts.format !== 'resources' && (split !== null || part !== null))
          return done(usageError(env, '--split and --part apply to --format resources only'));
        if (Number.isNaN(split) || (split !== null && split > MAX_SESSION_RESOURCES)) {
          return done(
            usageError(
              env,
              `--split must be an integer from 1 to ${MAX_SESSION_RESOURCES} (a session mounts at most ${MAX_SESSION_RESOURCES} files), got ${opts.split}`,
            ),
          );
        }
        if (Number.isNaN(part)) return done(usageError(env, `--part must be a positive integer, got ${opts.part}`));
        const entries = await askDaemonOrIndex(config, { type: 'files' }, (index) => offlineEntries(index), {
          timeoutMs: 60_000,
        });
        if (await answeredByEmulator(config)) env.err.write(FROM_EMULATOR_NOTE);
        const manifest = manifestOf(entries, config.dir, Date.now());
        if (opts.format === 'json') {
          printJson(env, manifest);
          return done(EXIT_OK);
        }
        const resources = sessionResourcesOf(manifest);
        const size = split ?? MAX_SESSION_RESOURCES;
        const parts = splitResources(resources, size);
        if (part !== null) {
          if (part > Math.max(1, parts.length)) {
            return done(
              usageError(
                env,
                `--part ${part} is past the end: ${resources.length} synced files make ${parts.length} part(s) of at most ${size}`,
              ),
            );
          }
          printJson(env, parts[part - 1] ?? []);
          return done(EXIT_OK);
        }
        if (split !== null) {
          printJson(env, parts);
          return done(EXIT_OK);
        }
        if (resources.length > MAX_SESSION_RESOURCES) {
          return done(
            usageError(
              env,
              `${resources.length} synced files, but a Managed Agents session mounts at most ${MAX_SESSION_RESOURCES}: ` +
                `print one session's share with --part K (K from 1 to ${parts.length}), or all of them as an array of sessions with --split ${MAX_SESSION_RESOURCES}`,
            ),
          );
        }
        printJson(env, resources);
        done(EXIT_OK);
      } catch (err) {
        done(reportError(env, err));
      }
    });
}
