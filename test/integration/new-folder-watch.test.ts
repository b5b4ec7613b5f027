/**
 * Seed 1006 of the randomized suite (`--strict-live`, about 2 runs in 3): a file written into a
 * folder made inside a new folder, and moved out of it about 1.5 s later, kept its row and its
 * remote copy until the next reconcile. chokidar lists a new folder before it watches it; a
 * folder made inside it in between is in neither, so it is never watched and the move's removal
 * is never reported (the engine's walk of the new folder had uploaded the file).
 *
 * The race is a matter of microseconds, so it is made certain here: the real watcher over the
 * real chokidar, which is kept blind to `new/sub` (as if its listing had raced the mkdir) until
 * the folder above is listed again through `add`, the call a fresh listing of it takes.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkInvariants, createHarness, waitUntil, type Harness } from '../helpers/engine-harness.js';

/**
 * The absolute folder chokidar does not see, until the folder above it is added again (or, with
 * `liftOnAdd` false, until the test lifts it).
 */
const blind = vi.hoisted(() => ({ dir: null as string | null, liftOnAdd: true }));

vi.mock('chokidar', async (importOriginal) => {
  const real = await importOriginal<typeof import('chokidar')>();
  const watch: typeof real.watch = (paths, options = {}) => {
    const own = options.ignored;
    const fsw = real.watch(paths, {
      ...options,
      ignored: (p: string, stats?: import('node:fs').Stats) =>
        (blind.dir !== null && (p === blind.dir || p.startsWith(blind.dir + path.sep))) ||
        (typeof own === 'function' && own(p, stats)),
    });
    const add = fsw.add.bind(fsw);
    fsw.add = (p: string | string[]) => {
      for (const one of typeof p === 'string' ? [p] : p)
        if (blind.liftOnAdd && blind.dir?.startsWith(one + path.sep)) blind.dir = null;
      return add(p);
    };
    return fsw;
  };
  return { ...real, watch, default: { ...real.default, watch } };
});

let h: Harness | null = null;
afterEach(async () => {
  blind.dir = null;
  blind.liftOnAdd = true;
  await h?.close();
  h = null;
});

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('a file moved out of a folder made inside a new folder', () => {
  it('is removed remotely by the watcher path even when chokidar missed that folder', async () => {
    h = await createHarness({ watch: true, settleMs: 100 });
    await h.engine.start();
    await h.engine.onIdle();

    blind.dir = path.join(h.dir, 'new', 'sub');
    await mkdir(path.join(h.dir, 'new', 'sub'), { recursive: true });
    await writeFile(path.join(h.dir, 'new', 'a.txt'), 'beside the missed folder');
    await writeFile(path.join(h.dir, 'new', 'sub', 'x.txt'), 'in the missed folder');
    // chokidar reports nothing in new/sub: the engine's walk of `new` uploads x.txt.
    await waitUntil(
      () => h!.index.get('new/sub/x.txt')?.state === 'synced',
      10_000,
      'new/sub/x.txt synced by the walk',
    );
    await h.engine.onIdle();
    const oldId = h.index.get('new/sub/x.txt')?.fileId;

    await rename(path.join(h.dir, 'new', 'sub', 'x.txt'), path.join(h.dir, 'moved.txt'));
    // Without a reconcile: the old path's row and copy go, the new path is up.
    await waitUntil(() => h!.index.get('new/sub/x.txt') === undefined, 10_000, 'the row of the moved-out file to go');
    await waitUntil(() => !h!.emulator.files().some((f) => f.id === oldId), 5_000, 'the old remote copy to be deleted');
    await h.engine.onIdle();
    expect(h.emulator.files().find((f) => f.id === h!.index.get('moved.txt')?.fileId)?.sha256).toBe(
      sha('in the missed folder'),
    );
    expect(await checkInvariants(h)).toEqual([]);
  }, 40_000);

  it('is removed remotely when chokidar finds that folder only after the move (the walk checks the rows under a new folder)', async () => {
    h = await createHarness({ watch: true, settleMs: 100 });
    await h.engine.start();
    await h.engine.onIdle();

    blind.dir = path.join(h.dir, 'new', 'sub');
    blind.liftOnAdd = false;
    await mkdir(path.join(h.dir, 'new', 'sub'), { recursive: true });
    await writeFile(path.join(h.dir, 'new', 'sub', 'x.txt'), 'in the missed folder');
    await waitUntil(
      () => h!.index.get('new/sub/x.txt')?.state === 'synced',
      10_000,
      'new/sub/x.txt synced by the walk',
    );
    await h.engine.onIdle();
    const oldId = h.index.get('new/sub/x.txt')?.fileId;

    await rename(path.join(h.dir, 'new', 'sub', 'x.txt'), path.join(h.dir, 'moved.txt'));
    await waitUntil(() => h!.index.get('moved.txt')?.state === 'synced', 10_000, 'moved.txt synced');
    // As in the seed: a later event in `new` makes chokidar list it again and report new/sub as a
    // new folder, empty by now.
    blind.dir = null;
    await writeFile(path.join(h.dir, 'new', 'poke.txt'), 'an event in the folder above');
    await waitUntil(() => h!.index.get('new/sub/x.txt') === undefined, 10_000, 'the row of the moved-out file to go');
    await waitUntil(() => !h!.emulator.files().some((f) => f.id === oldId), 5_000, 'the old remote copy to be deleted');
    await h.engine.onIdle();
    expect(await checkInvariants(h)).toEqual([]);
  }, 40_000);
});
