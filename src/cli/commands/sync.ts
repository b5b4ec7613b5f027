import { statSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { EXIT_FAILURE, EXIT_OK } from '../../daemon/exit-codes.js';
import type { FileEntry, ProgressEvent, ReconcileOptions, ReconcileReport } from '../../engine/contract.js';
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
import { escapeControls, quotePath } from '../quote-path.js';
import { formatBytes, formatReport } from '../format.js';
import { reconcileViaDaemon, withSession } from '../in-process.js';

interface SyncFlags extends CommonOptions {
  json?: boolean;
  progress?: boolean;
  rehash?: boolean;
}

/**
 * A terminal progress bar: files and bytes done, rate, time left. Only on a TTY; cli-progress
 * redraws in place, so the log level drops to warnings while it shows.
 */
function progressBar(stream: NodeJS.WritableStream) {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format:
        'sync [{bar}] {percentage}% | {value}/{total} files | {bytes} of {bytesTotal} | {rate}/s | ETA {eta_formatted}',
      hideCursor: true,
      etaBuffer: 30,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let shown = false;
  return {
    update(e: ProgressEvent) {
      const payload = {
        bytes: formatBytes(e.bytesDone),
        bytesTotal: formatBytes(e.bytesTotal),
        rate: formatBytes(Math.round(e.bytesDone / Math.max(0.001, (Date.now() - started) / 1000))),
      };
      if (!shown) {
        if (e.filesTotal === 0 && e.phase !== 'done') return;
        bar.start(Math.max(e.filesTotal, 1), e.filesDone, payload);
        shown = true;
      }
      bar.setTotal(Math.max(e.filesTotal, 1));
      bar.update(e.filesDone, payload);
    },
    stop() {
      if (shown) bar.stop();
    },
  };
}

export function syncCommand(env: CommandEnv, done: (code: number) => void): Command {
  return addCommonOptions(new Command('sync'))
    .description(
      'one shot for cron and scripts: scan, list the remote, apply everything, exit (0 all in sync, 1 some file failed)',
    )
    .option('--json', 'print the report and the failed files as JSON')
    .option('--no-progress', 'no progress bar even on a terminal')
    .option('--rehash', 'read every file again, even those whose size, mtime, inode and ctime are as indexed')
    .action(async (opts: SyncFlags) => {
      try {
        const { config, warnings } = loadConfig(env, opts);
        checkNamedFolder(config);
        for (const w of warnings) env.err.write(`warning: ${w}\n`);
        const options: ReconcileOptions = opts.rehash ? { rehash: true } : {};
        let report: ReconcileReport | null = await reconcileViaDaemon(config, options);
        let failed: FileEntry[];
        if (report !== null) {
          failed = report.failed.map((f) => ({
            path: f.path,
            fileId: null,
            sizeBytes: 0,
            sha256: null,
            state: 'failed',
            error: f.error,
          }));
        } else {
          const rawErr = env.ctx.stderr as unknown as NodeJS.WritableStream & { isTTY?: boolean };
          const bar = opts.progress !== false && rawErr.isTTY === true && !opts.json ? progressBar(rawErr) : null;
          const level: LevelWithSilent = bar && config.log.level === 'info' ? 'warn' : config.log.level;
          const logger = makeLogger(env, level, 'stderr');
          try {
            [report, failed] = await withSession(
              config,
              logger,
              {
                watch: false,
                onSecret: (s) => env.redactor.add(s),
                ...(bar ? { onProgress: (e: ProgressEvent) => bar.update(e) } : {}),
              },
              async (session) => {
                const r = await session.engine.reconcile(options);
                await session.engine.onIdle();
                return [r, session.engine.files().filter((f) => f.state === 'failed')] as const;
              },
            );
          } finally {
            bar?.stop();
          }
        }
        if (opts.json) printJson(env, { ...report, failedFiles: failed });
        else {
          env.out.write(formatReport(report, 'sync'));
          const extra = failed.filter((f) => !report.failed.some((r) => r.path === f.path));
          for (const f of extra)
            env.out.write(`failed: ${quotePath(f.path)}: ${escapeControls(f.error ?? 'unknown error')}\n`);
        }
        // A missing folder (an unmounted disk) is not "in sync": nothing was deleted, but nothing
        // was synced either, and a script must see that. On a first run the session created it.
        if (!statSync(config.dir, { throwIfNoEntry: false })?.isDirectory()) {
          env.err.write(
            `claude-filesync: the watched folder ${config.dir} is missing: nothing was synced and nothing deleted remotely (is the disk mounted?)\n`,
          );
          done(EXIT_FAILURE);
          return;
        }
        done(failed.length > 0 || report.failed.length > 0 ? EXIT_FAILURE : EXIT_OK);
      } catch (err) {
        done(reportError(env, err));
      }
    });
}
