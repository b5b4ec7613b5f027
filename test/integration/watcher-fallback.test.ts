import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as chokidar from 'chokidar';
import { createWatcher, watchLimitMessage, type ChokidarFactory, type ParcelModule } from '../../src/watch/watcher.js';
import { sleep } from '../helpers/time.js';
import { waitFor, watcherOptions, watcherSandbox } from '../helpers/watcher.js';

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

/**
 * Keeps changing `name` until the watcher reports it: a fallback watcher's setup is not awaited,
 * so only a change made after it watches is sure to be seen.
 */
async function writeUntilReported(settled: readonly string[], name: string, watcher: string): Promise<void> {
  const file = path.join(sandbox.dir(), name);
  const deadline = Date.now() + 20_000;
  for (let i = 0; !settled.includes(name); i++) {
    if (Date.now() > deadline) throw new Error(`${watcher} never reported ${name}`);
    await writeFile(file, `change ${i}`);
    await sleep(300);
  }
}

/** The setting each refusal names, with the command that raises it. */
const LIMIT_REMEDY: Record<string, string> = {
  ENOSPC: 'sudo sysctl fs.inotify.max_user_watches=524288',
  EMFILE: 'sudo sysctl fs.inotify.max_user_instances=512',
};

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
      nativeBackend: 'chokidar',
      chokidarFactory: factory,
    }),
  );
  sandbox.track(watcher);
  return { watcher, calls, settled, warnings, errors };
}

describe('watcher fallback to polling', () => {
  it.each(['ENOSPC', 'EMFILE'])(
    'falls back to polling once on %s, with a warning that says how to raise the limit',
    async (code) => {
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
      expect(message).toContain(LIMIT_REMEDY[code]);
      expect(message).toContain('/etc/sysctl.d/');
      expect(message).toContain(code);
      expect(errors).toEqual([]);
      expect(calls.map((c) => c.usePolling ?? false)).toEqual([false, true]);
      expect(calls[0]!.fake!.closed).toBe(true);

      // The polling watcher really watches. Its setup is not awaited here, so keep changing the
      // file until a change lands after it is watching.
      await writeUntilReported(settled, 'after-fallback.txt', 'the polling watcher');
    },
  );

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
        nativeBackend: 'chokidar',
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
    expect(() => createWatcher(watcherOptions(sandbox.dir(), { usePolling: true, pollIntervalMs: 0 }))).toThrow(
      /pollIntervalMs.*0/,
    );
  });
});

/** A @parcel/watcher whose subscriptions the OS refuses, with the native module's own wording. */
function refusingParcel(message: string): ParcelModule {
  return {
    subscribe: async () => {
      throw new Error(message);
    },
    writeSnapshot: async (_dir, snapshot) => snapshot,
    getEventsSince: async () => [],
  };
}

const PARCEL_REFUSALS: [string, string][] = [
  ['ENOSPC', "inotify_add_watch on '/x/deep' failed: No space left on device"],
  ['EMFILE', 'Unable to initialize inotify: Too many open files'],
];

describe('native directory watcher fallback', () => {
  it.each(PARCEL_REFUSALS)(
    'falls back to polling on %s, with a warning that names the limit and how to raise it',
    async (code, nativeMessage) => {
      const warnings: { message: string; code: string }[] = [];
      const settled: string[] = [];
      const watcher = createWatcher(
        watcherOptions(sandbox.dir(), {
          onSettled: (paths) => settled.push(...paths),
          onWarning: (message, c) => warnings.push({ message, code: c }),
          parcelLoader: async () => refusingParcel(nativeMessage),
        }),
      );
      sandbox.track(watcher);
      await watcher.ready();
      expect(watcher.mode).toBe('polling');
      expect(watcher.backend).toBe('chokidar');
      expect(warnings.map((w) => w.code)).toEqual(['E_WATCH_LIMIT']);
      expect(warnings[0]!.message).toContain(code);
      expect(warnings[0]!.message).toContain(LIMIT_REMEDY[code]);
      await writeUntilReported(settled, 'after-fallback.txt', 'the polling watcher');
    },
  );

  it('watches with chokidar natively, with a warning, when the native module cannot be loaded', async () => {
    const warnings: { message: string; code: string }[] = [];
    const settled: string[] = [];
    const watcher = createWatcher(
      watcherOptions(sandbox.dir(), {
        onSettled: (paths) => settled.push(...paths),
        onWarning: (message, c) => warnings.push({ message, code: c }),
        parcelLoader: async () => {
          throw new Error('No prebuild or local build of @parcel/watcher found');
        },
      }),
    );
    sandbox.track(watcher);
    await watcher.ready();
    expect(watcher.mode).toBe('native');
    expect(watcher.backend).toBe('chokidar');
    expect(warnings.map((w) => w.code)).toEqual(['E_WATCH_FALLBACK']);
    expect(warnings[0]!.message).toContain('No prebuild');
    await writeFile(path.join(sandbox.dir(), 'seen.txt'), 'x');
    await waitFor('the file, seen by chokidar', () => settled.includes('seen.txt'));
  });

  it('falls back to polling when the limit is hit after the start (a callback error)', async () => {
    let fail: ((err: Error) => void) | undefined;
    const parcel: ParcelModule = {
      subscribe: async (_dir, fn) => {
        fail = (err) => fn(err, []);
        return { unsubscribe: async () => undefined };
      },
      writeSnapshot: async (_dir, snapshot) => snapshot,
      getEventsSince: async () => [],
    };
    const warnings: string[] = [];
    const watcher = createWatcher(
      watcherOptions(sandbox.dir(), { onWarning: (_m, c) => warnings.push(c), parcelLoader: async () => parcel }),
    );
    sandbox.track(watcher);
    await watcher.ready();
    expect(watcher.backend).toBe('parcel');
    fail!(new Error("inotify_add_watch on '/x/new' failed: No space left on device"));
    await waitFor('fallback', () => warnings.length > 0);
    expect(warnings).toEqual(['E_WATCH_LIMIT']);
    expect(watcher.mode).toBe('polling');
  });
});

describe('watch limit message', () => {
  it('on macOS names launchd NumberOfFiles and how to raise it', () => {
    const message = watchLimitMessage('EMFILE', '/Users/me/Docs', 2000, 'darwin');
    expect(message).toContain('NumberOfFiles');
    expect(message).toContain('ulimit -n 65536');
    expect(message).toContain('launchctl limit maxfiles');
    expect(message).not.toContain('inotify');
  });

  it('on Linux names the inotify setting of each refusal and how to keep it after a reboot', () => {
    expect(watchLimitMessage('ENOSPC', '/d', 2000, 'linux')).toMatch(
      /fs\.inotify\.max_user_watches=524288 in \/etc\/sysctl\.d\//,
    );
    const emfile = watchLimitMessage('EMFILE', '/d', 2000, 'linux');
    expect(emfile).toContain('fs.inotify.max_user_instances=512');
    expect(emfile).toContain('LimitNOFILE');
  });
});

// Last in this file: the native watcher's thread dies for the whole process here.
describe.runIf(process.platform === 'linux' && typeof process.seteuid === 'function')(
  'a native watcher that dies while running',
  () => {
    // A setuid call signals every thread; @parcel/watcher's thread, in poll(), dies of the EINTR
    // ("Unable to poll: Interrupted system call") and removes its backend itself. Unsubscribing
    // after that deadlocked the main thread in the backend's destructor: the daemon froze for good
    // in its fallback to chokidar (found by the unreadable-folder tests, which change the euid).
    it('falls back to chokidar without freezing, keeps reporting changes, and closes', async () => {
      const warnings: { message: string; code: string }[] = [];
      const settled: string[] = [];
      const watcher = createWatcher(
        watcherOptions(sandbox.dir(), {
          onSettled: (paths) => settled.push(...paths),
          onWarning: (message, c) => warnings.push({ message, code: c }),
        }),
      );
      sandbox.track(watcher);
      await watcher.ready();
      expect(watcher.backend).toBe('parcel');
      process.seteuid!(process.geteuid!());
      await waitFor('the fallback warning', () => warnings.length > 0);
      expect(warnings.map((w) => w.code)).toEqual(['E_WATCH_FALLBACK']);
      expect(warnings[0]!.message).toMatch(/Interrupted system call/);
      expect(watcher.backend).toBe('chokidar');
      await writeUntilReported(settled, 'after-death.txt', 'chokidar');
      await watcher.close();
    });
  },
);
