import { Command } from 'commander';
import { parseNonNegative } from '../parse.js';
import { runDaemon } from '../../daemon/run-daemon.js';
import {
  addCommonOptions,
  loadConfig,
  makeLogger,
  reportError,
  type CommandEnv,
  type CommonOptions,
  underServiceManager,
} from '../common.js';

export function runCommand(env: CommandEnv, done: (code: number) => void): Command {
  return addCommonOptions(new Command('run'))
    .description(
      'run the daemon in the foreground: watch the folder and keep the Files API in sync (what the service units start)',
    )
    .option('--grace-ms <ms>', 'at SIGTERM, how long uploads in flight may take to finish', parseNonNegative, 10_000)
    .option(
      '--metrics <host:port>',
      'serve Prometheus /metrics, /healthz and /readyz there (loopback only unless metrics.allowNonLoopback)',
    )
    .action(async (opts: CommonOptions & { graceMs: number }) => {
      let resolved: ReturnType<typeof loadConfig>;
      try {
        resolved = loadConfig(env, opts);
      } catch (err) {
        done(reportError(env, err));
        return;
      }
      const logger = makeLogger(env, resolved.config.log.level, 'stdout');
      done(
        await runDaemon(resolved.config, logger, {
          signals: env.ctx.signals,
          graceMs: opts.graceMs,
          warnings: resolved.warnings,
          onSecret: (s) => env.redactor.add(s),
          underServiceManager: underServiceManager(env.ctx.env),
        }),
      );
    });
}
