/**
 * The watcher path (src/engine/watcher-path.ts) alone, in virtual time: an in-memory index, a real
 * small temporary folder, fake job pushes, and the timers on a virtual clock. Settled batches go
 * in as the watcher would hand them; what comes out is the jobs pushed and the deletes held. No
 * test waits in real time: the gathering windows (1 s, 5 s, 250 ms polls) pass by `advance`.
 */
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FilesApi, UploadResult } from '../../src/api/types.js';
import type { Config } from '../../src/config/types.js';
import { WatcherPath } from '../../src/engine/watcher-path.js';
import { RealRoot } from '../../src/jobs/executor.js';
import { JobRunner } from '../../src/jobs/job-outcomes.js';
import { ApiProblems } from '../../src/jobs/api-problems.js';
import { KeyedQueue } from '../../src/jobs/queue.js';
import { RetryTimers } from '../../src/jobs/retry-timers.js';
import { RequestGate } from '../../src/rate/request-gate.js';
import { checkPath } from '../../src/scan/check-path.js';
import { createIgnoreMatcher } from '../../src/scan/ignore.js';
import { IndexStore } from '../../src/store/store.js';
import type { RemoteDelete } from '../../src/store/types.js';
import { testConfig } from '../helpers/engine-harness.js';
import { VirtualClock } from '../helpers/virtual-clock.js';

const logger = pino({ level: 'silent' });
const matcher = createIgnoreMatcher({ ignore: [], include: [] });

interface World {
  dir: string;
  config: Config;
  index: IndexStore;
  clock: VirtualClock;
  timers: RetryTimers;
  watcherPath: WatcherPath;
  uploads: string[];
  deletes: RemoteDelete[];
  held: { count: number; message: string }[];
  /** Paths the watcher path handed back to be looked at again (a walked folder's files). */
  recheck: string[][];
  /** Work in progress the watcher path asked to have tracked (the engine's onIdle counts it). */
  work: Promise<unknown>[];
  /** The jobs pushed, in order. */
  order: ('upload' | 'delete')[];
}

let dirs: string[] = [];
beforeEach(() => {
  dirs = [];
});
afterEach(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'watcher-path-'));
  dirs.push(dir);
  return dir;
}

/** Marks a path's row synced with a copy, as a finished upload would. */
function storeCopy(index: IndexStore, rel: string, now: number): void {
  const row = index.get(rel);
  if (!row) throw new Error(`no row for ${rel}`);
  index.adopt(rel, {
    fileId: `file_${rel.replaceAll('/', '_')}`,
    remoteName: rel,
    size: row.size,
    sha256: row.sha256 ?? '',
    createdAt: now,
    expiresAt: null,
    mimeType: 'text/plain',
  });
}

/** Writes `files` into the folder and indexes them as synced, with a copy each. */
async function syncedFiles(w: World, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(w.dir, rel)), { recursive: true });
    await writeFile(path.join(w.dir, rel), content);
    const checked = await checkPath(w.dir, rel, { matcher, followSymlinks: false, maxFileBytes: 1e9 });
    if (checked.kind !== 'file') throw new Error(`cannot index ${rel}`);
    w.index.observe(checked.obs);
    storeCopy(w.index, rel, w.clock.now());
  }
}

/** What the watcher path asks before it plans gathered removals: nothing else is still settling. */
let quiet = true;
beforeEach(() => {
  quiet = true;
});

async function world(sync: Partial<Config['sync']> = {}): Promise<World> {
  const dir = await tempDir();
  const config = testConfig(dir, path.join(dir, '.state'), 'http://127.0.0.1:9', { config: { sync } });
  const index = IndexStore.open(':memory:');
  const clock = new VirtualClock();
  const timers = new RetryTimers(() => undefined, clock);
  const w = {
    dir,
    config,
    index,
    clock,
    timers,
    uploads: [],
    deletes: [],
    held: [],
    recheck: [],
    work: [],
    order: [],
  } as Omit<World, 'watcherPath'> as World;
  w.watcherPath = new WatcherPath({
    config,
    index,
    logger,
    matcher,
    now: clock.now,
    // An upload that succeeds at once: the row is synced with a copy.
    pushUpload: async (p) => {
      w.uploads.push(p);
      w.order.push('upload');
      storeCopy(index, p, clock.now());
      return null;
    },
    pushDelete: async (d) => {
      w.deletes.push(d);
      w.order.push('delete');
      return null;
    },
    recordError: () => undefined,
    onHeld: (h) => void w.held.push(h),
    later: (key, ms, run) => timers.later(key, ms, run),
    track: (work) => void w.work.push(work),
    recheck: (paths) => void w.recheck.push(paths),
    quiet: () => quiet,
    unreadable: { add: () => undefined, covers: () => false },
  });
  return w;
}

/** Awaits the work in progress, including work that work started. */
async function drain(w: World): Promise<void> {
  for (let seen = -1; seen !== w.work.length; ) {
    seen = w.work.length;
    await Promise.allSettled(w.work);
  }
}

/** Moves virtual time on in steps, letting the watcher path's IO finish at each. */
async function pass(w: World, ms: number, step = 50): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    await w.clock.advance(Math.min(step, ms - t));
    await drain(w);
  }
}

const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}/f${i}.txt`);

describe('the watcher path, in virtual time', () => {
  it('judges an rm -rf whose removals arrive in several batches as a whole, and deletes nothing', async () => {
    const w = await world();
    const gone = names('doomed', 21);
    await syncedFiles(w, Object.fromEntries([...gone, ...names('kept', 3)].map((p) => [p, `content of ${p}`])));
    await rm(path.join(w.dir, 'doomed'), { recursive: true });
    // Seven at a time, each under the deletion floor (10) and a third of the folder alone.
    for (let i = 0; i < gone.length; i += 7) {
      await w.watcherPath.handle(gone.slice(i, i + 7));
      await pass(w, 300);
    }
    await pass(w, 6_000);
    expect(w.deletes).toEqual([]);
    expect(w.held.length).toBeGreaterThan(0);
    expect(w.held.at(-1)?.count).toBe(21);
    for (const p of gone) expect(w.index.get(p)?.fileId).toBeTruthy();
    expect(w.clock.pending()).toBe(0);
  });

  it('plans a renamed folder as a move: its files uploaded under the new names, then the old copies deleted, nothing held', async () => {
    // Once the new copies are up, the old ones are half of the managed files: a limit under half
    // holds them unless they are known to be moves.
    const w = await world({ maxDeletePercent: 30 });
    const before = names('old', 15);
    await syncedFiles(w, Object.fromEntries(before.map((p) => [p, `content of ${p}`])));
    const oldIds = before.map((p) => w.index.get(p)?.fileId);
    await rename(path.join(w.dir, 'old'), path.join(w.dir, 'new'));
    const after = names('new', 15);
    // The old names settle first; the new ones arrive a moment later, within the gathering.
    await w.watcherPath.handle(before);
    await pass(w, 400);
    await w.watcherPath.handle(after);
    await pass(w, 6_000);
    expect(w.held).toEqual([]);
    expect(w.uploads.sort()).toEqual([...after].sort());
    expect(w.deletes.map((d) => d.fileId).sort()).toEqual([...oldIds].sort());
    // The new copies are up before any old one goes: the content is never nowhere.
    expect(w.order.lastIndexOf('upload')).toBeLessThan(w.order.indexOf('delete'));
    for (const p of before) expect(w.index.get(p)).toBeUndefined();
    for (const p of after) expect(w.index.get(p)?.state).toBe('synced');
  });

  it('holds gathered removals while other changes still settle, for at most the removal window', async () => {
    const w = await world();
    await syncedFiles(w, { 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c', 'd.txt': 'd' });
    await rm(path.join(w.dir, 'a.txt'));
    quiet = false;
    await w.watcherPath.handle(['a.txt']);
    await pass(w, 2_000);
    expect(w.deletes).toEqual([]);
    // Still not quiet at the end of the window: planned anyway, not held back forever.
    await pass(w, 3_500);
    expect(w.deletes.map((d) => d.path)).toEqual(['a.txt']);

    await rm(path.join(w.dir, 'b.txt'));
    quiet = false;
    await w.watcherPath.handle(['b.txt']);
    await pass(w, 1_500);
    expect(w.deletes).toHaveLength(1);
    quiet = true;
    // Quiet now: the next poll plans it.
    await pass(w, 300);
    expect(w.deletes.map((d) => d.path)).toEqual(['a.txt', 'b.txt']);
  });

  it('plans removals that trickle in one by one within the removal window, and never takes them for a mass vanish', async () => {
    const w = await world();
    const all = names('d', 40);
    await syncedFiles(w, Object.fromEntries(all.map((p) => [p, `content of ${p}`])));
    const gone = all.slice(0, 21);
    let firstDeleteAt: number | null = null;
    const t0 = w.clock.now();
    // One file every 600 ms: each arrival re-arms the 1 s gathering, which used to push it on forever.
    for (const p of gone) {
      await rm(path.join(w.dir, p));
      await w.watcherPath.handle([p]);
      await pass(w, 600);
      if (w.deletes.length > 0 && firstDeleteAt === null) firstDeleteAt = w.clock.now() - t0;
    }
    await pass(w, 6_000);
    expect(firstDeleteAt).not.toBeNull();
    expect(firstDeleteAt as number).toBeLessThanOrEqual(6_000);
    expect(w.held).toEqual([]);
    expect(w.deletes).toHaveLength(21);
  });

  it('walks a new folder and hands back every file in it, nested folders included', async () => {
    const w = await world();
    await mkdir(path.join(w.dir, 'fresh/inner/deeper'), { recursive: true });
    for (const rel of ['fresh/a.txt', 'fresh/inner/b.txt', 'fresh/inner/deeper/c.txt'])
      await writeFile(path.join(w.dir, rel), rel);
    await w.watcherPath.walkNewDir('fresh');
    expect(w.recheck.flat().sort()).toEqual(['fresh/a.txt', 'fresh/inner/b.txt', 'fresh/inner/deeper/c.txt']);
  });

  it('after walking a new folder, checks the rows under it whose file the walk did not meet (and plans their removal)', async () => {
    const w = await world();
    await syncedFiles(w, { 'fresh/stale.txt': 'was here' });
    await rm(path.join(w.dir, 'fresh/stale.txt'));
    await w.watcherPath.walkNewDir('fresh');
    expect(w.recheck).toEqual([]);
    await pass(w, w.config.watch.settleMs);
    expect(w.recheck).toEqual([['fresh/stale.txt']]);
  });
});

describe('a file that keeps changing while it uploads', () => {
  it('backs off: it is uploaded far less often than it changes', async () => {
    const w = await world();
    const rel = 'busy.log';
    await writeFile(path.join(w.dir, rel), 'line 0\n');
    let attempts = 0;
    // Every upload sees the file change under it (the bytes sent are not what was read).
    const client = {
      shape: 'ga',
      baseURL: 'http://127.0.0.1:9',
      upload: async (): Promise<UploadResult> => {
        attempts += 1;
        await writeFile(path.join(w.dir, rel), `line ${attempts}\n`, { flag: 'a' });
        const id = `file_${attempts}`;
        return {
          file: { id, filename: 'x', size: 1, createdAt: 0, mimeType: 'text/plain', downloadable: false },
          sha256: 'not-what-was-read',
          bytesSent: 1,
          recovered: false,
        } as unknown as UploadResult;
      },
      delete: async (id: string) => ({ id, deleted: true }),
      close: async () => undefined,
    } as unknown as FilesApi;
    const gate = new RequestGate({ requestsPerMinute: 100_000 });
    const queue = new KeyedQueue({ concurrency: 2, gate });
    const problems = new ApiProblems({
      logger,
      now: w.clock.now,
      retry: () => undefined,
      pause: () => queue.pause(),
      waitsForKey: true,
      scheduler: w.clock,
    });
    const jobs = new JobRunner({
      exec: {
        root: w.dir,
        realRoot: new RealRoot(w.dir),
        index: w.index,
        client,
        logger,
        now: w.clock.now,
        expiresInSeconds: null,
        maxFileBytes: 1e9,
        ownerTag: '0badc0de',
        liveIntents: new Set(),
      },
      queue,
      timers: w.timers,
      problems,
      logger,
      now: w.clock.now,
      settleMs: w.config.watch.settleMs,
      deletesHeld: () => false,
      recordError: () => undefined,
      // Looked at again as the engine does: through the watcher path, which plans the upload.
      recheck: (paths, rehash) => void w.work.push(watcherPathOf(w, jobs).handle(paths, rehash)),
      onFatal: () => undefined,
    });
    await watcherPathOf(w, jobs).handle([rel]);
    const run = async (ms: number): Promise<void> => {
      for (let t = 0; t < ms; t += 100) {
        await w.clock.advance(100);
        await drain(w);
        await queue.onIdle();
        await drain(w);
      }
    };
    await run(60_000);
    // Without backing off it would be read and sent again every settle time (200 ms): ~300 times.
    expect(attempts).toBeGreaterThan(3);
    expect(attempts).toBeLessThan(20);
    await queue.close(0);
  });
});

const linked = new WeakMap<JobRunner, WatcherPath>();
/** A watcher path whose pushes go to `jobs` (one per runner). */
function watcherPathOf(w: World, jobs: JobRunner): WatcherPath {
  let wp = linked.get(jobs);
  if (!wp) {
    wp = new WatcherPath({
      config: w.config,
      index: w.index,
      logger,
      matcher,
      now: w.clock.now,
      pushUpload: (p) => jobs.upload(p),
      pushDelete: (d) => jobs.delete(d),
      recordError: () => undefined,
      onHeld: () => undefined,
      later: (key, ms, run) => w.timers.later(key, ms, run),
      track: (work) => void w.work.push(work),
      recheck: (paths) => void w.work.push(wp!.handle(paths)),
      quiet: () => true,
      unreadable: { add: () => undefined, covers: () => false },
    });
    linked.set(jobs, wp);
  }
  return wp;
}
