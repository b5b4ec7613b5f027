/** What every command shares: the common options, config loading, logger, output and errors. */
import { Option, type Command } from 'commander';
import type { Logger, LevelWithSilent } from 'pino';
import { resolveConfig } from '../config/resolve-config.js';
import type { ResolvedConfig } from '../config/config-input.js';
import { LOG_LEVELS } from '../config/schema.js';
import { EXIT_USAGE, exitCodeFor } from '../daemon/exit-codes.js';
import { describeError } from '../errors.js';
import { createLogger } from '../log/create-logger.js';
import type { Redactor } from '../log/redactor.js';
import type { CliContext, Output } from './context.js';

export interface CommonOptions {
  dir?: string;
  stateDir?: string;
  config?: string;
  logLevel?: string;
  /** Only `run` has --metrics. */
  metrics?: string;
}

/** One CLI run: the context plus outputs that redact every secret the run has learnt. */
export interface CommandEnv {
  ctx: CliContext;
  out: Output;
  err: Output;
  redactor: Redactor;
}

export function addCommonOptions(cmd: Command): Command {
  return cmd
    .option('--dir <path>', 'the watched folder (default ~/ClaudeSync)')
    .option('--state-dir <path>', 'index, lock and control socket (default: the platform state folder)')
    .option('--config <file>', 'JSON configuration file (default: the platform config folder)')
    .addOption(new Option('--log-level <level>', 'log level').choices([...LOG_LEVELS]));
}

export function loadConfig(
  env: CommandEnv,
  opts: CommonOptions,
  options: { allowMissingKey?: boolean } = {},
): ResolvedConfig {
  const resolved = resolveConfig({
    flags: {
      dir: opts.dir,
      stateDir: opts.stateDir,
      config: opts.config,
      logLevel: opts.logLevel,
      metrics: opts.metrics,
    },
    env: env.ctx.env,
    cwd: env.ctx.cwd,
    platform: env.ctx.platform,
    homedir: env.ctx.homedir,
    ...(options.allowMissingKey ? { allowMissingKey: true } : {}),
    ...(underServiceManager(env.ctx.env) ? { underServiceManager: true } : {}),
  });
  env.redactor.add(resolved.config.api.apiKey);
  return resolved;
}

/** systemd sets INVOCATION_ID for every unit it starts; launchd sets XPC_SERVICE_NAME. */
export function underServiceManager(vars: Readonly<Record<string, string | undefined>>): boolean {
  return Boolean(vars.INVOCATION_ID || (vars.XPC_SERVICE_NAME && vars.XPC_SERVICE_NAME !== '0'));
}

/** Logs for one-shot commands go to stderr (stdout carries their result); the daemon's to stdout. */
export function makeLogger(env: CommandEnv, level: LevelWithSilent, to: 'stdout' | 'stderr'): Logger {
  const raw = to === 'stdout' ? env.ctx.stdout : env.ctx.stderr;
  return createLogger({
    level,
    destination: { write: (s: string) => raw.write(s) },
    pretty: raw.isTTY === true,
    redact: [],
    redactor: env.redactor,
  });
}

/** Prints an error with its hint and returns the exit code it calls for. */
export function reportError(env: CommandEnv, err: unknown): number {
  env.err.write(`claude-filesync: ${describeError(err)}\n`);
  return exitCodeFor(err);
}

export function usageError(env: CommandEnv, message: string): number {
  env.err.write(`claude-filesync: ${message}\n`);
  return EXIT_USAGE;
}

export function printJson(env: CommandEnv, value: unknown): void {
  env.out.write(`${JSON.stringify(value, null, 2)}\n`);
}
