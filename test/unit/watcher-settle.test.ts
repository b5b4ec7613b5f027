/**
 * The watcher's settle timer in virtual time (src/watch/watcher.ts over a fake chokidar): a path
 * is handed on once it has been quiet for settleMs, however long it keeps changing before.
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type * as chokidar from 'chokidar';
import { describe, expect, it } from 'vitest';
import { type ChokidarFactory, createWatcher } from '../../src/watch/watcher.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { watcherOptions, watcherSandbox } from '../helpers/watcher.js';

const sandbox = watcherSandbox('watcher-settle-');

/** The watcher looks at its root (a real stat) before it hands paths on: let that IO finish. */
const letIoFinish = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

function fakeWatcher(): { fake: EventEmitter; factory: ChokidarFactory } {
  const fake = Object.assign(new EventEmitter(), { close: async () => undefined });
  return { fake, factory: (() => fake as unknown as chokidar.FSWatcher) as ChokidarFactory };
}

describe('the settle timer, in virtual time', () => {
  it('hands on a file that keeps changing once, after it has been quiet for settleMs, to be read again', async () => {
    const clock = new VirtualClock();
    const { fake, factory } = fakeWatcher();
    const settled: { paths: string[]; rehash: string[] }[] = [];
    const watcher = sandbox.track(
      createWatcher(
        watcherOptions(sandbox.dir(), {
          nativeBackend: 'chokidar',
          chokidarFactory: factory,
          scheduler: clock,
          settleMs: 200,
          onSettled: (paths, rehash) => void settled.push({ paths, rehash: [...rehash] }),
        }),
      ),
    );
    fake.emit('ready');
    await watcher.ready();
    const file = path.join(sandbox.dir(), 'busy.log');
    // Written every 100 ms for 5 s: never quiet for 200 ms.
    for (let t = 0; t < 5_000; t += 100) {
      fake.emit('change', file);
      await clock.advance(100);
      await letIoFinish();
    }
    expect(settled).toEqual([]);
    expect(watcher.pendingCount).toBe(1);
    await clock.advance(200);
    await watcher.onIdle();
    expect(settled).toEqual([{ paths: ['busy.log'], rehash: ['busy.log'] }]);
  });
});
