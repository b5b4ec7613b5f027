/**
 * What a CLI run sees of the world. main.ts fills it from `process`; tests pass their own, so a
 * command is a function of (argv, context) -> exit code.
 */
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { SignalSource } from '../daemon/run-daemon.js';

export interface Output {
  write(chunk: string | Uint8Array): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface CliContext {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  platform: NodeJS.Platform;
  homedir: string;
  stdout: Output;
  stderr: Output;
  signals: SignalSource;
  /** The node binary and the CLI entry point, for the service units. */
  execPath: string;
  mainScript: string;
}

export function processContext(): CliContext {
  return {
    env: process.env,
    cwd: process.cwd(),
    platform: process.platform,
    homedir: homedir(),
    stdout: process.stdout,
    stderr: process.stderr,
    signals: process,
    execPath: process.execPath,
    mainScript: fileURLToPath(new URL('./main.js', import.meta.url)),
  };
}
