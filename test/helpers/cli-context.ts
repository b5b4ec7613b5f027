/** A CliContext for running runMain in-process: captured outputs, an EventEmitter for signals. */
import { EventEmitter } from 'node:events';
import type { CliContext } from '../../src/cli/context.js';

export interface CapturedContext {
  ctx: CliContext;
  stdout: () => string;
  stderr: () => string;
  signals: EventEmitter;
}

export function captureContext(over: Partial<CliContext> & { home: string }): CapturedContext {
  const out: string[] = [];
  const err: string[] = [];
  const signals = new EventEmitter();
  const ctx: CliContext = {
    env: {},
    cwd: over.home,
    platform: 'linux',
    homedir: over.home,
    stdout: { write: (s: string | Uint8Array) => void out.push(String(s)), isTTY: false },
    stderr: { write: (s: string | Uint8Array) => void err.push(String(s)), isTTY: false },
    signals,
    execPath: process.execPath,
    mainScript: '/opt/claude-filesync/dist/src/cli/main.js',
    ...over,
  };
  return { ctx, stdout: () => out.join(''), stderr: () => err.join(''), signals };
}
