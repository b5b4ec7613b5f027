import { Command } from 'commander';
import { dryRunScratch } from '../../daemon/dry-run-scratch.js';
import { EXIT_FAILURE, EXIT_OK } from '../../daemon/exit-codes.js';
import type { ReconcileOptions, ReconcileReport } from '../../engine/contract.js';
import {
  addCommonOptions,
  loadConfig,
  makeLogger,
  printJson,
  reportError,
  type CommandEnv,
  type CommonOptions,
} from '../common.js';
import { checkNamedFolder } from '../named-folder.js';
import { formatReport } from '../format.js';
import { reconcileViaDaemon, withSession } from '../in-process.js';

interface ReconcileFlags extends CommonOptions {
  dryRun?: boolean;
  adopt?: boolean;
  deleteUnmanaged?: boolean;
  deleteOrphans?: boolean;
  acceptWorkspace?: boolean;
  allowMassDelete?: boolean;
  rehash?: boolean;
  json?: boolean;
}

/** Exit 1 when a file failed or deletes were held back: both need someone to act. */
function reportExitCode(r: ReconcileReport): number {
  return r.failed.length > 0 || r.heldDeletes !== null ? EXIT_FAILURE : EXIT_OK;
}

export function reconcileCommand(env: CommandEnv, done: (code: number) => void): Command {
  return addCommonOptions(new Command('reconcile'))
    .description(
      'compare the full remote listing with the folder and the index, and repair every difference now (asks the running daemon if there is one)',
    )
    .option('--dry-run', 'report what would be done; change nothing')
    .option(
      '--adopt',
      "also adopt legacy remote files (named before owner tags) whose name and size match a local file; never another owner's. Only safe when no other host shares the workspace with such legacy copies",
    )
    .option(
      '--delete-orphans',
      'delete remote files carrying our owner tag that the index does not reference (with --dry-run: list them); never touches other files',
    )
    .option(
      '--delete-unmanaged',
      "delete remote files the index does not know, INCLUDING OTHER TOOLS' FILES in the workspace (never a copy with another owner's tag); with --dry-run: list them",
    )
    .option(
      '--accept-workspace',
      'the API now answers for another workspace than the index was built in: accept it, and release the deletes held for it',
    )
    .option('--allow-mass-delete', 'lift the deletion-safety limit for this pass')
    .option('--rehash', 'read every file again, even those whose size, mtime, inode and ctime are as indexed')
    .option('--json', 'print the report as JSON')
    .action(async (opts: ReconcileFlags) => {
      try {
        const { config, warnings } = loadConfig(env, opts);
        checkNamedFolder(config);
        for (const w of warnings) env.err.write(`warning: ${w}\n`);
        const options: ReconcileOptions = {
          ...(opts.dryRun ? { dryRun: true } : {}),
          ...(opts.adopt ? { adopt: true } : {}),
          ...(opts.deleteUnmanaged ? { deleteUnmanaged: true } : {}),
          ...(opts.deleteOrphans ? { deleteOrphans: true } : {}),
          ...(opts.acceptWorkspace ? { acceptWorkspace: true } : {}),
          ...(opts.allowMassDelete ? { allowMassDelete: true } : {}),
          ...(opts.rehash ? { rehash: true } : {}),
        };
        let report = await reconcileViaDaemon(config, options);
        if (report === null) {
          const logger = makeLogger(env, config.log.level, 'stderr');
          const scratch = opts.dryRun ? dryRunScratch(config) : null;
          try {
            report = await withSession(
              scratch?.config ?? config,
              logger,
              { watch: false, onSecret: (s) => env.redactor.add(s) },
              async (session) => {
                const r = await session.engine.reconcile(options);
                await session.engine.onIdle();
                return r;
              },
            );
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
