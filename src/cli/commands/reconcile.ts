import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, sep } from 'node:path';
import { Command } from 'commander';
import type { Config } from '../../config/types.js';
import { EMULATOR_DIR, indexFile } from '../../daemon/state-files.js';
import { escapeLiteral } from '../../scan/ignore.js';
import { EXIT_FAILURE, EXIT_OK } from '../../daemon/exit-codes.js';
import type { ReconcileOptions, ReconcileReport } from '../../sync/types.js';
import { addCommonOptions, loadConfig, makeLogger, printJson, reportError, type CommandEnv, type CommonOptions } from '../common.js';
import { formatReport } from '../format.js';
import { reconcileViaDaemon, withSession } from '../in-process.js';

interface ReconcileFlags extends CommonOptions {
  dryRun?: boolean;
  adopt?: boolean;
  deleteUnmanaged?: boolean;
  allowMassDelete?: boolean;
  json?: boolean;
}

/**
 * A dry run must create nothing, but a session creates the state directory, the index and (on a
 * first run) the folder. With no index yet, the dry run works on a scratch state directory in the
 * temporary folder instead: an empty index is exactly what a missing one means, the built-in
 * emulator's store is reached through a link when it exists, and a missing folder stands as an
 * empty one (so every remote copy shows as unmanaged and nothing as to upload). Null when the
 * index exists: then the session only reads what is there.
 */
function dryRunScratch(config: Config): { config: Config; remove(): void } | null {
  if (existsSync(indexFile(config.stateDir))) return null;
  const root = mkdtempSync(join(tmpdir(), 'cfs-dry-run-'));
  const stateDir = join(root, 'state');
  mkdirSync(stateDir, { mode: 0o700 });
  const emulatorStore = join(config.stateDir, EMULATOR_DIR);
  const linked = config.api.target === 'emulator' && existsSync(emulatorStore);
  if (linked) symlinkSync(emulatorStore, join(stateDir, EMULATOR_DIR));
  let dir = config.dir;
  if (!existsSync(config.dir)) {
    dir = join(root, 'empty-folder');
    mkdirSync(dir);
  }
  // The real state directory, when it lies inside the folder, stays out of the scan as it would
  // in a real run (the engine only knows to skip the scratch one).
  const inside = relative(config.dir, config.stateDir);
  const watch =
    dir === config.dir && inside !== '' && !inside.startsWith('..') && !isAbsolute(inside)
      ? { ...config.watch, ignore: [`/${escapeLiteral(inside.split(sep).join('/'))}/`, ...config.watch.ignore] }
      : config.watch;
  return {
    config: Object.freeze({ ...config, stateDir, dir, watch }),
    remove() {
      // The link first: only the link goes, never the store it points at.
      if (linked) unlinkSync(join(stateDir, EMULATOR_DIR));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Exit 1 when a file failed or deletes were held back: both need someone to act. */
export function reportExitCode(r: ReconcileReport): number {
  return r.failed.length > 0 || r.heldDeletes !== null ? EXIT_FAILURE : EXIT_OK;
}

export function reconcileCommand(env: CommandEnv, done: (code: number) => void): Command {
  return addCommonOptions(new Command('reconcile'))
    .description('compare the full remote listing with the folder and the index, and repair every difference now (asks the running daemon if there is one)')
    .option('--dry-run', 'report what would be done; change nothing')
    .option('--adopt', 'adopt unmanaged remote files whose name and size match a local file (rebuilds a lost index)')
    .option('--delete-unmanaged', 'delete remote files the index does not know (with --dry-run: list them)')
    .option('--allow-mass-delete', 'lift the deletion-safety limit for this pass')
    .option('--json', 'print the report as JSON')
    .action(async (opts: ReconcileFlags) => {
      try {
        const { config, warnings } = loadConfig(env, opts);
        for (const w of warnings) env.err.write(`warning: ${w}\n`);
        const options: ReconcileOptions = {
          ...(opts.dryRun ? { dryRun: true } : {}),
          ...(opts.adopt ? { adopt: true } : {}),
          ...(opts.deleteUnmanaged ? { deleteUnmanaged: true } : {}),
          ...(opts.allowMassDelete ? { allowMassDelete: true } : {}),
        };
        let report = await reconcileViaDaemon(config, options);
        if (report === null) {
          const logger = makeLogger(env, config.log.level, 'stderr');
          const scratch = opts.dryRun ? dryRunScratch(config) : null;
          try {
            report = await withSession(scratch?.config ?? config, logger, { watch: false, onSecret: (s) => env.redactor.add(s) }, async (session) => {
              const r = await session.engine.reconcile(options);
              await session.engine.onIdle();
              return r;
            });
          } finally {
            scratch?.remove();
          }
        }
        if (opts.json) printJson(env, report);
        else env.out.write(formatReport(report));
        done(reportExitCode(report));
      } catch (err) {
        done(reportError(env, err));
      }
    });
}
