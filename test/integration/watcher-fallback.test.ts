import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as chokidar from 'chokidar';
import { createWatcher, type ChokidarFactory } from '../../src/watch/watcher.js';
import { sleep, waitFor, watcherOptions, watcherSandbox } from '../helpers/watcher.js';

/** A native watcher that becomes ready and then hits the OS watch limit. */
class RefusingWatcher extends EventEmitter {
  closed = false;
  constructor(code: string, readyFirst = true) {
    super();
    setTimeout(() => {
      if (readyFirst) this.emit('ready');
      const err = Object.assign(new Error(`${code}: System limit for number of file watchers reached, watch '/x'`), {
        code,
        errno: -28,
        syscall: 'watch',
      });
      this.emit('error', err);
      // Several directories fail at once on a big tree: only one fallback must follow.
      this.emit('error', err);
    }, 10);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const sandbox = watcherSandbox('filesync-watchfb-');

function setup(code: string, readyFirst = true) {
  const calls: { usePolling: boolean | undefined; fake: RefusingWatcher | null }[] = [];
  const factory = ((paths: string | string[], options?: chokidar.ChokidarOptions) => {
    if (!options?.usePolling) {
      const fake = new RefusingWatcher(code, readyFirst);
      calls.push({ usePolling: options?.usePolling, fake });
      return fake as unknown as chokidar.FSWatcher;
    }
    calls.push({ usePolling: true, fake: null });
    return chokidar.watch(paths, options);
  }) as ChokidarFactory;
  const settled: string[] = [];
  const warnings: { message: string; code: string }[] = [];
  const errors: Error[] = [];
  const watcher = createWatcher(
    watcherOptions(sandbox.dir(), {
      onSettled: (paths) => settled.push(...paths),
      onWarning: (message, c) => warnings.push({ message, code: c }),
      onError: (err) => errors.push(err),
      chokidarFactory: factory,
    }),
  );
  sandbox.track(watcher);
  return { watcher, calls, settled, warnings, errors };
}

describe('watcher fallback to polling', () => {
  it.each(['ENOSPC', 'EMFILE'])('falls back to polling once on %s, with a warning that says how to raise the limit', async (code) => {
    const { watcher, calls, settled, warnings, errors } = setup(code);
    expect(watcher.mode).toBe('native');
    await watcher.ready();
    await waitFor('fallback warning', () => warnings.length > 0);
    expect(watcher.mode).toBe('polling');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.code).toBe('E_WATCH_LIMIT');
    const message = watcher.warning ?? '';
    expect(message).toBe(warnings[0]!.message);
    expect(message).toContain('polling');
    expect(message).toContain('sudo sysctl fs.inotify.max_user_watches=524288');
    expect(message).toContain('/etc/sysctl.d/');
    expect(message).toContain(code);
    expect(errors).toEqual([]);
    expect(calls.map((c) => c.usePolling ?? false)).toEqual([false, true]);
    expect(calls[0]!.fake!.closed).toBe(true);

    // The polling watcher really watches. Its setup is not awaited here, so keep changing the
    // file until a change lands after it is watching.
    const file = path.join(sandbox.dir(), 'after-fallback.txt');
    const deadline = Date.now() + 20_000;
    for (let i = 0; !settled.includes('after-fallback.txt'); i++) {
      if (Date.now() > deadline) throw new Error('the polling watcher never reported the file');
      await writeFile(file, `seen by polling ${i}`);
      await sleep(400);
    }
  });

  it('ready() resolves with the polling watcher when the limit is hit before the native one was ready', async () => {
    const { watcher, warnings } = setup('ENOSPC', false);
    await watcher.ready();
    expect(watcher.mode).toBe('polling');
    expect(warnings.map((w) => w.code)).toEqual(['E_WATCH_LIMIT']);
  });

  it('reports other watcher errors through onError and stays native', async () => {
    const errors: Error[] = [];
    const fake = new EventEmitter() as EventEmitter & { close: () => Promise<void> };
    fake.close = async () => undefined;
    const watcher = createWatcher(
      watcherOptions(sandbox.dir(), {
        onError: (err) => errors.push(err),
        chokidarFactory: (() => fake as unknown as chokidar.FSWatcher) as ChokidarFactory,
      }),
    );
    sandbox.track(watcher);
    fake.emit('ready');
    await watcher.ready();
    fake.emit('error', Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['EIO']);
    expect(watcher.mode).toBe('native');
    expect(watcher.warning).toBeNull();
  });

  it('starts in polling mode when asked, with no warning', async () => {
    const watcher = createWatcher(watcherOptions(sandbox.dir(), { usePolling: true }));
    sandbox.track(watcher);
    await watcher.ready();
    expect(watcher.mode).toBe('polling');
    expect(watcher.warning).toBeNull();
  });

  it('rejects a bad poll interval with the value it got', () => {
    expect(() =>
      createWatcher(watcherOptions(sandbox.dir(), { usePolling: true, pollIntervalMs: 0 })),
    ).toThrow(/pollIntervalMs.*0/);
  });
});
