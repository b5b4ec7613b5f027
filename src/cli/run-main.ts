/**
 * The CLI as a function: runMain(argv, context) -> exit code. 0 ok, 1 failure at run time,
 * 2 bad usage or configuration (commander's own errors included).
 */
import { Command, CommanderError } from 'commander';
import { EXIT_OK, EXIT_USAGE } from '../daemon/exit-codes.js';
import { createRedactor } from '../log/redactor.js';
import { VERSION } from '../version.js';
import { emulatorCommand } from './commands/emulator.js';
import { filesCommand } from './commands/files.js';
import { exportCommand } from './commands/export.js';
import { idCommand } from './commands/id.js';
import { lsCommand } from './commands/ls.js';
import { reconcileCommand } from './commands/reconcile.js';
import { runCommand } from './commands/run.js';
import { serviceCommand } from './commands/service.js';
import { statusCommand } from './commands/status.js';
import { syncCommand } from './commands/sync.js';
import type { CommandEnv } from './common.js';
import type { CliContext, Output } from './context.js';

export async function runMain(argv: readonly string[], ctx: CliContext): Promise<number> {
  // Every byte the CLI prints passes the redactor: the key from the environment is known now,
  // a key from a key file or a generated emulator key is added when it is read.
  const redactor = createRedactor([ctx.env.ANTHROPIC_API_KEY]);
  const scrubbing = (o: Output): Output => ({
    write: (chunk: string | Uint8Array) => o.write(typeof chunk === 'string' ? redactor.scrub(chunk) : chunk),
    ...(o.isTTY !== undefined ? { isTTY: o.isTTY } : {}),
    ...(o.columns !== undefined ? { columns: o.columns } : {}),
  });
  const env: CommandEnv = { ctx, out: scrubbing(ctx.stdout), err: scrubbing(ctx.stderr), redactor };

  let code: number = EXIT_OK;
  const done = (c: number): void => {
    code = c;
  };
  const program = new Command('claude-filesync')
    .description('Mirror a local folder to the Anthropic (Claude) Files API.')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => env.out.write(s), writeErr: (s) => env.err.write(s) });
  for (const make of [
    runCommand,
    syncCommand,
    reconcileCommand,
    statusCommand,
    lsCommand,
    idCommand,
    exportCommand,
    filesCommand,
    emulatorCommand,
    serviceCommand,
  ]) {
    program.addCommand(inherit(make(env, done), env));
  }
  program.addHelpText(
    'after',
    '\nEnvironment: ANTHROPIC_API_KEY (the key), ANTHROPIC_BASE_URL, CLAUDE_FILESYNC_CONFIG, CLAUDE_FILESYNC_DIR,\n' +
      'CLAUDE_FILESYNC_STATE_DIR, CLAUDE_FILESYNC_LOG_LEVEL. Exit codes: 0 ok, 1 failure, 2 bad usage or configuration.\n',
  );

  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    throw err;
  }
  return code;
}

/** addCommand does not copy the parent's settings; give every level exitOverride and the outputs. */
function inherit(cmd: Command, env: CommandEnv): Command {
  cmd
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (s) => env.out.write(s), writeErr: (s) => env.err.write(s) });
  for (const sub of cmd.commands) inherit(sub, env);
  return cmd;
}
