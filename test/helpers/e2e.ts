/**
 * What the end-to-end files share: the built CLI checked once, one emulator for the file, and every
 * CLI process a test started killed at the end (a failed test must not leave a daemon running).
 */
import { afterAll, beforeAll } from 'vitest';
import { Emulator } from '../../src/emulator/index.js';
import type { Sandbox } from './cli-sandbox.js';
import { cliEnv, ensureBuilt, type RunningCli } from './cli-process.js';

export interface E2eWorld {
  /** The file's emulator, started in beforeAll. */
  readonly emulator: Emulator;
  /** Push every started CLI here: afterAll kills those still running. */
  readonly running: RunningCli[];
  /** A clean environment for a CLI in `s`, pointed at the emulator with `key`. */
  env(s: Sandbox, extra?: Record<string, string | undefined>): Record<string, string>;
}

/** Registers the file's beforeAll (build check, emulator) and afterAll (kill the CLIs, close the emulator). */
export function e2eWorld(key: string): E2eWorld {
  let emulator: Emulator | undefined;
  const running: RunningCli[] = [];
  beforeAll(async () => {
    ensureBuilt();
    emulator = await Emulator.start({ apiKey: key });
  }, 120_000);
  afterAll(async () => {
    for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await emulator?.close();
  });
  return {
    get emulator() {
      if (!emulator) throw new Error('the e2e emulator starts in beforeAll');
      return emulator;
    },
    running,
    env: (s, extra = {}) => cliEnv(s.home, { ANTHROPIC_API_KEY: key, ANTHROPIC_BASE_URL: emulator?.url, ...extra }),
  };
}
