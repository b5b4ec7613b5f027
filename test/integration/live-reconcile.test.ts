/**
 * Live from the first second (issue 10): the start-up reconcile runs behind the watcher path.
 * The pass's listing is taken when it begins and answered late (a proxy holds it), the worst case
 * for a listing read before the changes made during it: changes, deletes and renames made
 * meanwhile reach the remote while the pass is still listing, and the pass then neither undoes
 * nor repeats them. Checked without a repairing reconcile after.
 */
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatStatus } from '../../src/cli/format.js';
import { ownerTagOf } from '../../src/plan/naming.js';
import { requestControl } from '../../src/control/client.js';
import { startControlServer } from '../../src/control/server.js';
import { Emulator } from '../../src/emulator/index.js';
import { checkInvariants, createHarness, TEST_KEY, waitUntil, type Harness } from '../helpers/engine-harness.js';
import { behind, sendUpstream, startRecordingProxy, type RecordingProxy } from '../helpers/recording-proxy.js';
import { put } from '../helpers/fs.js';

let h: Harness | null = null;
let emulator: Emulator | null = null;
let proxy: RecordingProxy | null = null;
let other: Harness | null = null;
afterEach(async () => {
  await h?.close();
  await other?.close();
  other = null;
  await proxy?.close();
  await emulator?.close();
  h = null;
  proxy = null;
  emulator = null;
});

/**
 * The reconcile listing's pages (limit=1000) are read from the emulator at once and answered when
 * released; `laterPagesOnly`: the first page is answered at once.
 */
function holdListings(p: RecordingProxy, laterPagesOnly = false): { release(): void; held(): number } {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let held = 0;
  p.handler = async (req, res, forward) => {
    if (req.method !== 'GET' || !req.url.startsWith('/v1/files?') || !req.url.includes('limit=1000')) return false;
    if (laterPagesOnly && !req.url.includes('page=')) return false;
    const answer = await forward();
    held += 1;
    await gate;
    sendUpstream(res, answer);
    return true;
  };
  return { release, held: () => held };
}

/**
 * Starts `x` (restarted without starting) with its start-up reconcile's listing held (see
 * holdListings). `listed()` waits until the pass holds the listing and has scanned the folder;
 * `finish()` releases the listing and waits for the pass and the queue.
 */
function startWithListingHeld(x: Harness): { listed(): Promise<void>; finish(): Promise<void> } {
  const listing = holdListings(proxy!);
  const started = x.engine.start();
  return {
    listed: () =>
      waitUntil(
        () => listing.held() > 0 && x.engine.status().reconcile?.scan.done === true,
        20_000,
        'listing held and scan done',
      ),
    async finish() {
      listing.release();
      await started;
      await x.engine.onIdle();
    },
  };
}

async function setUp(files: number): Promise<Harness> {
  emulator = await Emulator.start({ apiKey: TEST_KEY });
  proxy = await startRecordingProxy(emulator.url);
  const x = await createHarness({ watch: true, settleMs: 150, emulator: behind(emulator, proxy.url) });
  for (let i = 0; i < files; i += 1) await put(x, `d${i % 3}/f${i}.txt`, `content ${i}`);
  await x.engine.start();
  await x.engine.onIdle();
  expect(await checkInvariants(x)).toEqual([]);
  return x;
}

describe('live while the start-up reconcile lists', () => {
  it('changes, deletes, renames and new files made during a slow listing are remote before it ends, and the pass neither undoes nor repeats them', async () => {
    h = await setUp(20);
    await h.restartWithoutStart();
    const pass = startWithListingHeld(h);
    await h.engine.onLive();
    // The pass has read the remote (answer held) and scanned the folder: both older than what follows.
    await pass.listed();
    expect(h.engine.status().reconcile?.phase).toBe('listing');

    await put(h, 'd0/f0.txt', 'changed during the listing');
    await rm(path.join(h.dir, 'd1/f1.txt'));
    await rename(path.join(h.dir, 'd2/f2.txt'), path.join(h.dir, 'd2/renamed.txt'));
    await put(h, 'new.txt', 'made during the listing');
    // Live: all of it reaches the remote while the listing is still held.
    await waitUntil(
      async () => (await checkInvariants(h!)).length === 0,
      20_000,
      'the changes synced during the listing',
    );
    expect(h.engine.status().reconcile?.phase).toBe('listing');
    const during = h.emulator.stats().byRoute;

    await pass.finish();
    // The pass judged its older listing and scan only where they still hold: no request of its
    // own beyond the listing, no copy lost, none left over.
    const after = h.emulator.stats().byRoute;
    expect([after.upload, after.delete]).toEqual([during.upload, during.delete]);
    expect(await checkInvariants(h)).toEqual([]);
    const report = h.logs.filter((l) => (l as { event?: string }).event === 'reconcile' && 'orphans' in l).at(-1) as
      | { orphans: number; adopted: number; uploaded: number }
      | undefined;
    expect(report).toMatchObject({ orphans: 0, adopted: 0, uploaded: 0 });
  });

  it('a lost index: a file changed and one removed during the first listing are neither adopted back nor orphaned', async () => {
    h = await setUp(12);
    // The state directory is lost: the next start adopts our copies from the listing.
    await h.restartWithoutStart();
    h.index.close();
    await rm(path.join(h.stateDir, 'index.sqlite'), { force: true });
    await rm(path.join(h.stateDir, 'index.sqlite-wal'), { force: true });
    await rm(path.join(h.stateDir, 'index.sqlite-shm'), { force: true });
    await h.restartWithoutStart();
    const pass = startWithListingHeld(h);
    await h.engine.onLive();
    await pass.listed();

    await put(h, 'd0/f3.txt', 'edited while the index was being rebuilt');
    await rm(path.join(h.dir, 'd1/f4.txt'));
    await waitUntil(() => h!.engine.fileIdOf('d0/f3.txt') !== null, 20_000, 'the edit uploaded during the listing');
    await pass.finish();
    expect(await checkInvariants(h)).toEqual([]);
  });

  it("status shows the running pass's phase and progress through the control socket", async () => {
    h = await setUp(20);
    // Another tool's files make the listing two pages long; the second page is held.
    for (let i = 0; i < 1_200; i += 1)
      await emulator!.addFile({ filename: `other-${i}.txt`, bytes: Buffer.from(`x${i}`) });
    await h.restartWithoutStart();
    const engine = h.engine;
    const control = await startControlServer({
      stateDir: h.stateDir,
      handler: {
        status: () => engine.status(),
        reconcile: (o) => engine.reconcile(o),
        files: () => engine.files(),
        fileIdOf: (p) => engine.fileIdOf(p),
      },
    });
    try {
      const listing = holdListings(proxy!, true);
      const started = engine.start();
      await waitUntil(
        () => listing.held() > 0 && engine.status().reconcile?.scan.done === true,
        20_000,
        'second page held and scan done',
      );
      const status = await requestControl(h.stateDir, { type: 'status' });
      expect(status.reconcile).toMatchObject({
        phase: 'listing',
        listing: { pages: 1, files: 1000, done: false },
        scan: { files: 20, done: true },
        apply: null,
      });
      expect(formatStatus(status)).toContain(
        'reconcile: listing (changes sync meanwhile): listing 1 page (1,000 remote files), 20 local files scanned',
      );
      listing.release();
      await started;
      const after = await requestControl(h.stateDir, { type: 'status' });
      expect(after.reconcile).toBeNull();
      expect(formatStatus(after)).not.toMatch(/^reconcile: /m);
    } finally {
      await control.close();
    }
  });

  it('a file changed while the daemon was down goes up as soon as the scan finds it, before the listing ends', async () => {
    h = await setUp(10);
    await h.stopEngine();
    await put(h, 'd0/f0.txt', 'changed while down');
    await put(h, 'offline-new.txt', 'made while down');
    await rm(path.join(h.dir, 'd1/f1.txt'));
    await h.restartWithoutStart();
    const pass = startWithListingHeld(h);
    await waitUntil(
      () =>
        h!.engine.stateOf('offline-new.txt') === 'synced' &&
        h!.index.get('d0/f0.txt')?.state === 'synced' &&
        h!.index.get('d0/f0.txt')?.sha256 === h!.index.get('d0/f0.txt')?.remoteSha256,
      20_000,
      'the offline changes uploaded',
    );
    expect(h.engine.status().reconcile?.phase).toBe('listing');
    // The removal waits for the plan (and its deletion-safety share).
    expect(h.index.get('d1/f1.txt')).toBeDefined();
    await pass.finish();
    expect(await checkInvariants(h)).toEqual([]);
  });

  it('two hosts on one account: one restarts under a held listing while both change the same paths, and each ends with exactly its own copies', async () => {
    h = await setUp(12);
    // Host B: another folder (another owner tag) on the same account, reached directly.
    other = await createHarness({ watch: true, settleMs: 150, emulator: emulator! });
    for (let i = 0; i < 12; i += 1) await put(other, `d${i % 3}/f${i}.txt`, `content ${i}`);
    await other.engine.start();
    await other.engine.onIdle();
    const own = (x: Harness) => {
      const tag = x.config.sync.ownerTag;
      const files = () => emulator!.files().filter((f) => ownerTagOf(f.filename) === tag);
      return { dir: x.dir, index: x.index, config: x.config, emulator: { files } as unknown as Emulator };
    };
    expect(await checkInvariants(own(h))).toEqual([]);
    expect(await checkInvariants(own(other))).toEqual([]);

    await h.restartWithoutStart();
    const pass = startWithListingHeld(h);
    await pass.listed();
    // Both hosts change the same relative paths meanwhile.
    for (const x of [h, other]) {
      await put(x, 'd0/f0.txt', `edited on ${x.dir}`);
      await rm(path.join(x.dir, 'd1/f1.txt'));
      await rename(path.join(x.dir, 'd2/f2.txt'), path.join(x.dir, 'd2/moved.txt'));
    }
    await waitUntil(
      async () => (await checkInvariants(own(h!))).length === 0 && (await checkInvariants(own(other!))).length === 0,
      20_000,
      'both hosts synced during the listing',
    );
    expect(h.engine.status().reconcile?.phase).toBe('listing');
    await pass.finish();
    await other.engine.onIdle();
    expect(await checkInvariants(own(h))).toEqual([]);
    expect(await checkInvariants(own(other))).toEqual([]);
    expect(emulator!.files()).toHaveLength(2 * 11);
  });
});
