import { describe, expect, it } from 'vitest';
import { chmod, mkdir, rename, rm, writeFile, appendFile } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createWatcher, type Watcher, type WatcherOptions } from '../../src/watch/watcher.js';
import { sleep } from '../helpers/time.js';
import { waitFor, watcherOptions, watcherSandbox } from '../helpers/watcher.js';

interface Harness {
  root: string;
  watcher: Watcher;
  batches: string[][];
  settled: () => string[];
  count: (p: string) => number;
  dirsRemoved: string[];
  warnings: { message: string; code: string }[];
  errors: Error[];
  restored: number;
  /** The fence files delivered so far (see `quiet`); they never reach `batches`. */
  fences: Set<string>;
}

const sandbox = watcherSandbox('filesync-watch-');

/** Every backend the watcher can run on: the suite runs against each. */
const BACKENDS = ['native-parcel', 'native-chokidar', 'polling'] as const;
type Backend = (typeof BACKENDS)[number];

function backendOptions(backend: Backend): Partial<WatcherOptions> {
  if (backend === 'polling') return { usePolling: true };
  return { usePolling: false, nativeBackend: backend === 'native-parcel' ? 'parcel' : 'chokidar' };
}

async function start(backend: Backend, extra: Partial<WatcherOptions> = {}): Promise<Harness> {
  const root = path.join(sandbox.dir(), 'root');
  await mkdir(root, { recursive: true });
  const h: Partial<Harness> & {
    batches: string[][];
    dirsRemoved: string[];
    warnings: Harness['warnings'];
    errors: Error[];
    restored: number;
    fences: Set<string>;
  } = {
    root,
    batches: [],
    dirsRemoved: [],
    warnings: [],
    errors: [],
    restored: 0,
    fences: new Set(),
  };
  const deliver: WatcherOptions['onSettled'] = extra.onSettled ?? ((paths) => h.batches.push(paths));
  const watcher = createWatcher(
    watcherOptions(root, {
      ignored: (rel) => rel === '.git' || rel.startsWith('.git/'),
      ...backendOptions(backend),
      settleMs: 400,
      onDirRemoved: (dir) => h.dirsRemoved.push(dir),
      onWarning: (message, code) => h.warnings.push({ message, code }),
      onRootRestored: () => (h.restored += 1),
      onError: (err) => h.errors.push(err),
      ...extra,
      onSettled: (paths, rehash) => {
        for (const p of paths) if (isFence(p)) h.fences.add(p);
        const rest = paths.filter((p) => !isFence(p));
        if (rest.length > 0) deliver(rest, rehash);
      },
    }),
  );
  sandbox.track(watcher);
  await watcher.ready();
  const harness = h as Harness;
  harness.watcher = watcher;
  harness.settled = () => h.batches.flat();
  harness.count = (p) => h.batches.flat().filter((x) => x === p).length;
  return harness;
}

const isFence = (rel: string) => rel.startsWith('.fence-');
let fenceCount = 0;

/**
 * Waits until every event the test's own changes caused has been delivered: a fence file written
 * after them settles after them (events arrive in order, and a path touched earlier settles no
 * later than one touched after it), so a late or repeated event for a test's path, which a quiet
 * wait would have caught, is in `batches` by the time the fence is. No fixed wait.
 */
async function quiet(h: Harness): Promise<void> {
  await h.watcher.onIdle();
  const fence = `.fence-${++fenceCount}`;
  await writeFile(path.join(h.root, fence), '');
  await waitFor(`the fence ${fence}`, () => h.fences.has(fence));
  await h.watcher.onIdle();
  expect(h.watcher.pendingCount).toBe(0);
}

describe.each(BACKENDS)('watcher (%s)', (backend) => {
  const mode = backend === 'polling' ? 'polling' : 'native';
  it('reports a created, changed and deleted file once each, relative to the root', async () => {
    const h = await start(backend);
    expect(h.watcher.mode).toBe(mode);
    expect(h.watcher.backend).toBe(backend === 'native-parcel' ? 'parcel' : 'chokidar');
    expect(h.watcher.warning).toBeNull();
    await writeFile(path.join(h.root, 'a.txt'), 'one');
    await waitFor('create', () => h.count('a.txt') === 1);
    await quiet(h);
    await writeFile(path.join(h.root, 'a.txt'), 'two, longer');
    await waitFor('change', () => h.count('a.txt') === 2);
    await quiet(h);
    await rm(path.join(h.root, 'a.txt'));
    await waitFor('delete', () => h.count('a.txt') === 3);
    await quiet(h);
    expect(h.count('a.txt')).toBe(3);
    expect(h.settled().every((p) => p === 'a.txt')).toBe(true);
  });

  it('marks a settled path for a re-read when it had a change event, not when it was only created or deleted', async () => {
    const rehashed: string[][] = [];
    const h = await start(backend, {
      onSettled: (paths, rehash) => {
        h.batches.push(paths);
        rehashed.push([...rehash].sort());
      },
    });
    const createdAt = Date.now();
    await writeFile(path.join(h.root, 'a.txt'), 'one');
    await waitFor('create', () => h.count('a.txt') === 1);
    await quiet(h);
    // An update within a second of its create is part of making the file (parcel's debounce can
    // split the two, see RECENT_MS in parcel-backend.ts): the change comes later than that.
    await sleep(createdAt + 1_100 - Date.now());
    await writeFile(path.join(h.root, 'a.txt'), 'two, longer');
    await waitFor('change', () => h.count('a.txt') === 2);
    await quiet(h);
    await rm(path.join(h.root, 'a.txt'));
    await waitFor('delete', () => h.count('a.txt') === 3);
    await quiet(h);
    const marks = h.batches.map((batch, i) => batch.map((p) => rehashed[i]?.includes(p) ?? false));
    expect(marks).toEqual([[false], [true], [false]]);
  });

  it('reports files in nested folders with /-separated paths, and renames within and across folders', async () => {
    const h = await start(backend);
    await mkdir(path.join(h.root, 'a/b/c'), { recursive: true });
    await mkdir(path.join(h.root, 'x/y'), { recursive: true });
    await writeFile(path.join(h.root, 'a/b/c/deep.txt'), 'deep');
    await writeFile(path.join(h.root, 'a/old.txt'), 'old');
    await waitFor('nested create', () => h.count('a/b/c/deep.txt') >= 1 && h.count('a/old.txt') >= 1);
    await quiet(h);
    h.batches.length = 0;
    await rename(path.join(h.root, 'a/old.txt'), path.join(h.root, 'a/new.txt'));
    await rename(path.join(h.root, 'a/b/c/deep.txt'), path.join(h.root, 'x/y/moved.txt'));
    await waitFor('renames', () =>
      ['a/old.txt', 'a/new.txt', 'a/b/c/deep.txt', 'x/y/moved.txt'].every((p) => h.count(p) >= 1),
    );
    await quiet(h);
    expect(new Set(h.settled())).toEqual(new Set(['a/old.txt', 'a/new.txt', 'a/b/c/deep.txt', 'x/y/moved.txt']));
  });

  it('sees every file of a folder moved in whole, and of a folder removed whole', async () => {
    const h = await start(backend);
    const outside = path.join(sandbox.dir(), 'outside');
    await mkdir(path.join(outside, 'sub/deeper'), { recursive: true });
    await writeFile(path.join(outside, 'one.txt'), '1');
    await writeFile(path.join(outside, 'sub/two.txt'), '2');
    await writeFile(path.join(outside, 'sub/deeper/three.txt'), '3');
    await rename(outside, path.join(h.root, 'moved'));
    const files = ['moved/one.txt', 'moved/sub/two.txt', 'moved/sub/deeper/three.txt'];
    await waitFor('moved-in files', () => files.every((p) => h.count(p) === 1));
    await quiet(h);
    h.batches.length = 0;
    await rm(path.join(h.root, 'moved'), { recursive: true });
    await waitFor('removed files', () => files.every((p) => h.count(p) === 1));
    await waitFor('dir removal', () => h.dirsRemoved.includes('moved'));
    await quiet(h);
    expect(new Set(h.settled())).toEqual(new Set(files));
    expect(h.warnings).toEqual([]);
  });

  it("an editor's save through a temp file and a rename gives one settled event for the target", async () => {
    const h = await start(backend, { settleMs: 1000 });
    const target = path.join(h.root, 'notes.md');
    await writeFile(target, 'v1');
    await waitFor('first version', () => h.count('notes.md') === 1);
    await quiet(h);
    h.batches.length = 0;
    const tmp = path.join(h.root, '.notes.md.swp-1234');
    await writeFile(tmp, 'v2 with more text');
    await rename(tmp, target);
    await waitFor('save', () => h.count('notes.md') >= 1);
    await quiet(h);
    expect(h.count('notes.md')).toBe(1);
    // The temp file may be reported too (it is gone when the engine stats it), once at most.
    expect(h.count('.notes.md.swp-1234')).toBeLessThanOrEqual(1);
    expect(h.settled().filter((p) => p !== 'notes.md' && p !== '.notes.md.swp-1234')).toEqual([]);
  });

  it('a file written in chunks for longer than settleMs settles once, after the last write', async () => {
    // Generous settle time: a stall of the loaded test machine must not pass for quiet.
    const h = await start(backend, { settleMs: 1500 });
    const file = path.join(h.root, 'big.bin');
    let finished = false;
    const settledWhileWriting: boolean[] = [];
    const origPush = h.batches.push.bind(h.batches);
    h.batches.push = (...items: string[][]) => {
      for (const batch of items) if (batch.includes('big.bin')) settledWhileWriting.push(!finished);
      return origPush(...items);
    };
    await writeFile(file, 'start\n');
    // 2.5 s of writing, well past settleMs, with gaps far below it.
    for (let i = 0; i < 25; i++) {
      await sleep(100);
      await appendFile(file, `chunk ${i} ${'x'.repeat(1000)}\n`);
    }
    finished = true;
    await waitFor('settle after the copy', () => h.count('big.bin') >= 1);
    await quiet(h);
    expect(settledWhileWriting).toEqual([false]);
    expect(h.count('big.bin')).toBe(1);
  });

  it('does not watch ignored folders at all', async () => {
    const h = await start(backend);
    await mkdir(path.join(h.root, '.git/objects'), { recursive: true });
    await writeFile(path.join(h.root, '.git/objects/abc'), 'blob');
    await writeFile(path.join(h.root, '.git/HEAD'), 'ref');
    await writeFile(path.join(h.root, 'visible.txt'), 'hi');
    await waitFor('visible', () => h.count('visible.txt') === 1);
    await quiet(h);
    expect(h.settled()).toEqual(['visible.txt']);
  });

  it('passes isDir so directory-only patterns keep a directory unwatched', async () => {
    const seen: { rel: string; isDir: boolean }[] = [];
    const h = await start(backend, {
      ignored: (rel, isDir) => {
        seen.push({ rel, isDir });
        return isDir && rel === 'build';
      },
    });
    await mkdir(path.join(h.root, 'build'));
    await writeFile(path.join(h.root, 'build/out.js'), 'x');
    await writeFile(path.join(h.root, 'build.txt'), 'a file named like the folder');
    await waitFor('build.txt', () => h.count('build.txt') === 1);
    await quiet(h);
    expect(h.settled()).toEqual(['build.txt']);
    expect(seen).toContainEqual({ rel: 'build', isDir: true });
  });

  it('holds every path and warns E_ROOT_MISSING when the root folder disappears, then resumes', async () => {
    const h = await start(backend);
    await writeFile(path.join(h.root, 'keep.txt'), 'k');
    await mkdir(path.join(h.root, 'd'));
    await writeFile(path.join(h.root, 'd/inner.txt'), 'i');
    await waitFor('files', () => h.count('keep.txt') === 1 && h.count('d/inner.txt') === 1);
    await quiet(h);
    h.batches.length = 0;
    await rm(h.root, { recursive: true });
    await waitFor('root warning', () => h.warnings.some((w) => w.code === 'E_ROOT_MISSING'));
    expect(h.watcher.warning).toMatch(/missing/);
    await sleep(1500);
    // Nothing delivered while the folder is gone: the engine would read it as every file deleted.
    expect(h.batches).toEqual([]);

    await mkdir(h.root);
    await waitFor('restored', () => h.restored === 1);
    expect(h.watcher.warning).toBeNull();
    await writeFile(path.join(h.root, 'after.txt'), 'back');
    await waitFor('file after restore', () => h.count('after.txt') === 1);
    expect(h.warnings.filter((w) => w.code === 'E_ROOT_MISSING')).toHaveLength(1);
  });

  it('notices a folder that was unreadable when the watch began, once readable and watched again', async (ctx) => {
    if (process.getuid?.() === 0) return ctx.skip(true, 'root reads every folder: nothing is unreadable');
    const root = path.join(sandbox.dir(), 'root');
    await mkdir(path.join(root, 'locked'), { recursive: true });
    await mkdir(path.join(root, 'open'));
    await writeFile(path.join(root, 'locked/old.txt'), 'old');
    await chmod(path.join(root, 'locked'), 0o000);
    try {
      const h = await start(backend);
      expect(h.watcher.mode).toBe(mode);
      // The other folders are watched all the same.
      await writeFile(path.join(root, 'open/a.txt'), 'a');
      await waitFor('a file beside the unreadable folder', () => h.count('open/a.txt') === 1);
      await chmod(path.join(root, 'locked'), 0o755);
      h.watcher.rewatch('locked');
      // Watching again is not awaited: write until a write lands after it.
      const deadline = Date.now() + 20_000;
      for (let i = 0; h.count('locked/new.txt') === 0; i++) {
        if (Date.now() > deadline) throw new Error('the folder was never watched again');
        await writeFile(path.join(root, 'locked/new.txt'), `new ${i}`);
        // Longer than settleMs, or the rewrites keep the path from settling.
        await sleep(1500);
      }
      expect(h.errors).toEqual([]);
      expect(h.warnings).toEqual([]);
      expect(h.watcher.backend).toBe(backend === 'native-parcel' ? 'parcel' : 'chokidar');
    } finally {
      await chmod(path.join(root, 'locked'), 0o755).catch(() => undefined);
    }
  });

  it('warns E_ROOT_MISSING when the folder is missing at start, and watches it once it appears', async () => {
    const root = path.join(sandbox.dir(), 'later');
    const warnings: string[] = [];
    const batches: string[][] = [];
    let restored = 0;
    const watcher = createWatcher(
      watcherOptions(root, {
        ...backendOptions(backend),
        settleMs: 300,
        onSettled: (paths) => batches.push(paths),
        onWarning: (_m, code) => warnings.push(code),
        onRootRestored: () => (restored += 1),
      }),
    );
    sandbox.track(watcher);
    await watcher.ready();
    await waitFor('root warning', () => warnings.includes('E_ROOT_MISSING'));
    await mkdir(root);
    await waitFor('restored', () => restored === 1);
    expect(watcher.backend).toBe(backend === 'native-parcel' ? 'parcel' : 'chokidar');
    await writeFile(path.join(root, 'first.txt'), '1');
    await waitFor('a file in the folder that appeared', () => batches.flat().includes('first.txt'));
    expect(warnings).toEqual(['E_ROOT_MISSING']);
  });

  it('close is idempotent and stops delivering', async () => {
    const h = await start(backend);
    await writeFile(path.join(h.root, 'late.txt'), 'x');
    await sleep(50);
    const closing = h.watcher.close();
    expect(h.watcher.close()).toBe(closing);
    await closing;
    await sleep(800);
    expect(h.settled()).not.toContain('late.txt');
    expect(h.watcher.pendingCount).toBe(0);
    await h.watcher.onIdle();
  });
});

describe('watcher snapshot (native-parcel)', () => {
  it('reports the files changed while nobody watched, from the snapshot of the last close, without any event', async () => {
    const root = path.join(sandbox.dir(), 'root');
    const snapshotPath = path.join(sandbox.dir(), 'watch.snapshot');
    await mkdir(path.join(root, 'sub'), { recursive: true });
    await writeFile(path.join(root, 'edited.txt'), 'v1');
    await writeFile(path.join(root, 'removed.txt'), 'r');
    await writeFile(path.join(root, 'sub/kept.txt'), 'k');
    const first = await start('native-parcel', { snapshotPath });
    await first.watcher.close();
    expect(existsSync(snapshotPath)).toBe(true);

    await sleep(20);
    await writeFile(path.join(root, 'edited.txt'), 'v2, edited while the daemon was down');
    await rm(path.join(root, 'removed.txt'));
    await writeFile(path.join(root, 'sub/added.txt'), 'a');

    const rehashed = new Set<string>();
    const second = await start('native-parcel', {
      snapshotPath,
      onSettled: (paths, rehash) => {
        second.batches.push(paths);
        for (const p of rehash) rehashed.add(p);
      },
    });
    await waitFor('changes since the snapshot', () =>
      ['edited.txt', 'removed.txt', 'sub/added.txt'].every((p) => second.count(p) === 1),
    );
    await quiet(second);
    expect(new Set(second.settled())).toEqual(new Set(['edited.txt', 'removed.txt', 'sub/added.txt']));
    expect(rehashed.has('edited.txt')).toBe(true);
    // Read once: a crash before the next close must not replay it.
    expect(existsSync(snapshotPath)).toBe(false);
  });
});

/** Children of this process that have exited and nobody reaped, from /proc (Linux only). */
function zombieShells(): number {
  let count = 0;
  for (const task of readdirSync('/proc/self/task')) {
    const children = readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim();
    for (const pid of children ? children.split(/\s+/) : []) {
      try {
        // "pid (comm) state ...": the command name may hold spaces, so read after the last ')'.
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
        if (state === 'Z' && comm === 'sh') count += 1;
      } catch {
        // reaped between the two reads
      }
    }
  }
  return count;
}

describe.runIf(process.platform === 'linux')('watcher processes (native-parcel)', () => {
  it('a parcel subscription leaves no zombie sh behind (the backend is named, so watchman is never probed)', async () => {
    const before = zombieShells();
    const h = await start('native-parcel');
    await mkdir(path.join(h.root, 'a/b'), { recursive: true });
    await writeFile(path.join(h.root, 'a/b/f.txt'), 'x');
    await waitFor('the nested file', () => h.count('a/b/f.txt') === 1);
    await h.watcher.close();
    expect(zombieShells()).toBe(before);
  });
});
