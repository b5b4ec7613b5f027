/**
 * What the watcher tests share: a temporary folder per test, watchers closed after each test,
 * options with quiet defaults, and a polling wait for an observed outcome.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { Watcher, WatcherOptions } from '../../src/watch/watcher.js';
import { sleep } from './time.js';

export async function waitFor(what: string, predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Native watching of everything, 200 ms settling, no callbacks; `overrides` say what a test needs. */
export function watcherOptions(root: string, overrides: Partial<WatcherOptions> = {}): WatcherOptions {
  return {
    root,
    ignored: () => false,
    followSymlinks: false,
    usePolling: false,
    pollIntervalMs: 100,
    settleMs: 200,
    onSettled: () => undefined,
    ...overrides,
  };
}

/**
 * Registers the hooks: a fresh temporary folder before each test (`dir()`), and after it every
 * watcher passed to `track` closed and the folder removed.
 */
export function watcherSandbox(prefix: string): { dir: () => string; track: (w: Watcher) => Watcher } {
  let dir = '';
  const open: Watcher[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), prefix));
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((w) => w.close()));
    await rm(dir, { recursive: true, force: true });
  });
  return {
    dir: () => dir,
    track: (w) => {
      open.push(w);
      return w;
    },
  };
}
