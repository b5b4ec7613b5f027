/**
 * The sync engine on a real temporary folder with the real watcher, a real index file and the
 * emulator: every rule of the engine issue, checked by its end state and by the requests it made.
 */
import { appendFile, mkdir, rename, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { remoteNameFor } from '../../src/plan/naming.js';
import { checkInvariants, createHarness, waitUntil, type Harness } from '../helpers/engine-harness.js';
import { put } from '../helpers/fs.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

async function settle(x: Harness): Promise<void> {
  await x.engine.onIdle();
}

describe('sync engine', () => {
  it('initial sync uploads every file once, nested folders and empty files included', async () => {
    h = await createHarness({ watch: false });
    await put(h, 'a.txt', 'alpha');
    await put(h, 'reports/2026/q3.pdf', 'pdf bytes');
    await put(h, 'empty.txt', '');
    await put(h, 'name with spaces ü.md', 'unicode');
    await put(h, '.DS_Store', 'junk');
    await h.engine.start();
    await settle(h);
    expect(await checkInvariants(h)).toEqual([]);
    expect(h.emulator.stats().byRoute.upload).toBe(4);
    expect(h.emulator.files().map((f) => f.filename)).toContain(
      remoteNameFor(
        'reports/2026/q3.pdf',
        h.index.get('reports/2026/q3.pdf')?.sha256 as string,
        h.config.sync.ownerTag,
      ),
    );
    expect(h.engine.fileIdOf('a.txt')).toMatch(/^file_/);
  });

  it('a restart over an unchanged tree makes no upload and reads no file', async () => {
    h = await createHarness({ watch: false });
    for (let i = 0; i < 20; i += 1) await put(h, `d${i % 3}/f${i}.txt`, `content ${i}`);
    await h.engine.start();
    await settle(h);
    h.emulator.resetStats();
    await h.restart();
    await settle(h);
    expect(h.emulator.stats().byRoute.upload).toBe(0);
    expect(h.emulator.stats().byRoute.delete).toBe(0);
    expect(h.logs.filter((l) => (l as { event?: string }).event === 'upload')).toHaveLength(20);
    expect(await checkInvariants(h)).toEqual([]);
  });

  it('watches: add, change, touch, rename, delete, whole folders, editor saves', async () => {
    h = await createHarness({ watch: true, settleMs: 150 });
    await h.engine.start();
    const uploads = () => h!.emulator.stats().byRoute.upload;
    const deletes = () => h!.emulator.stats().byRoute.delete;

    await put(h, 'doc.txt', 'v1');
    await waitUntil(() => h!.engine.fileIdOf('doc.txt') !== null, 20_000, 'doc.txt synced');
    await settle(h);
    expect(uploads()).toBe(1);

    // Changed content: one upload of the new version, one delete of the old.
    const oldId = h.engine.fileIdOf('doc.txt');
    await put(h, 'doc.txt', 'v2 is longer');
    await waitUntil(
      () => h!.engine.fileIdOf('doc.txt') !== oldId && h!.engine.fileIdOf('doc.txt') !== null,
      20_000,
      'doc.txt replaced',
    );
    await settle(h);
    expect([uploads(), deletes()]).toEqual([2, 1]);

    // Touch without change: nothing.
    const later = new Date(Date.now() + 5_000);
    await utimes(path.join(h.dir, 'doc.txt'), later, later);
    await new Promise((r) => setTimeout(r, 600));
    await settle(h);
    expect([uploads(), deletes()]).toEqual([2, 1]);

    // Rename: a new upload under the new name, then the old one deleted.
    await mkdir(path.join(h.dir, 'moved'));
    await rename(path.join(h.dir, 'doc.txt'), path.join(h.dir, 'moved', 'doc.txt'));
    await waitUntil(
      () => h!.index.get('doc.txt') === undefined && h!.engine.fileIdOf('moved/doc.txt') !== null,
      20_000,
      'rename synced',
    );
    await settle(h);
    expect([uploads(), deletes()]).toEqual([3, 2]);

    // A folder created whole, then removed whole.
    await mkdir(path.join(h.dir, 'tree', 'sub'), { recursive: true });
    await Promise.all([put(h, 'tree/a.txt', 'a'), put(h, 'tree/sub/b.txt', 'b'), put(h, 'tree/sub/c.txt', 'c')]);
    await waitUntil(
      () => ['tree/a.txt', 'tree/sub/b.txt', 'tree/sub/c.txt'].every((p) => h!.engine.fileIdOf(p) !== null),
      20_000,
      'tree synced',
    );
    await settle(h);
    expect(await checkInvariants(h)).toEqual([]);
    await rm(path.join(h.dir, 'tree'), { recursive: true });
    await waitUntil(() => h!.index.get('tree/sub/c.txt') === undefined, 20_000, 'tree removed');
    await settle(h);
    expect(await checkInvariants(h)).toEqual([]);

    // An editor's save: write a temp file, rename it over the target: one upload of the final content.
    await put(h, 'notes.md', 'draft');
    await waitUntil(() => h!.engine.fileIdOf('notes.md') !== null, 20_000, 'notes synced');
    await settle(h);
    const before = uploads();
    await writeFile(path.join(h.dir, '.notes.md.swp'), 'swap');
    await writeFile(path.join(h.dir, 'notes.md.tmp'), 'final text');
    await rename(path.join(h.dir, 'notes.md.tmp'), path.join(h.dir, 'notes.md'));
    await rm(path.join(h.dir, '.notes.md.swp'));
    await waitUntil(
      () =>
        h!.index.get('notes.md')?.remoteSha256 === h!.index.get('notes.md')?.sha256 &&
        h!.index.get('notes.md')?.sha256 !== null &&
        h!.emulator.stats().byRoute.upload > before,
      20_000,
      'save synced',
    );
    await settle(h);
    expect(uploads()).toBe(before + 1);
    expect(await checkInvariants(h)).toEqual([]);
  });

  it('a file written in pieces over longer than the settle time is uploaded once, with its final content', async () => {
    h = await createHarness({ watch: true, settleMs: 400 });
    await h.engine.start();
    const file = path.join(h.dir, 'big.bin');
    await writeFile(file, Buffer.alloc(64 * 1024, 1));
    for (let i = 0; i < 8; i += 1) {
      await new Promise((r) => setTimeout(r, 100));
      await appendFile(file, Buffer.alloc(64 * 1024, i + 2));
    }
    await waitUntil(() => h!.engine.fileIdOf('big.bin') !== null, 20_000, 'big.bin synced');
    await settle(h);
    expect(h.emulator.stats().byRoute.upload).toBe(1);
    expect(await checkInvariants(h)).toEqual([]);
  });

  it('skips a file over the size limit with a reason and syncs the rest', async () => {
    h = await createHarness({ watch: false, config: { sync: { maxFileBytes: 1000 } } });
    await put(h, 'small.txt', 'ok');
    await put(h, 'large.bin', Buffer.alloc(2000));
    await h.engine.start();
    await settle(h);
    expect(h.index.get('large.bin')?.state).toBe('skipped');
    expect(h.index.get('large.bin')?.skipReason).toMatch(/2000.*1000|larger/);
    expect(h.engine.status().skipped.map((s) => s.path)).toContain('large.bin');
    expect(h.engine.fileIdOf('small.txt')).not.toBeNull();
    expect(h.emulator.files()).toHaveLength(1);
  });

  it('an upload whose response was lost is adopted at the next start, never uploaded twice', async () => {
    h = await createHarness({ watch: false, config: { api: { maxRetries: 0 } } });
    await put(h, 'lost.txt', 'stored but unanswered');
    h.emulator.setFaults({ lostResponseRate: 1 });
    await h.engine.start();
    await settle(h);
    h.emulator.setFaults({ lostResponseRate: 0 });
    await h.restart();
    await settle(h);
    expect(h.emulator.files()).toHaveLength(1);
    expect(await checkInvariants(h)).toEqual([]);
  });

  it('a folder that emptied at once does not wipe the remote, until asked', async () => {
    h = await createHarness({ watch: false, config: { sync: { maxDeleteFloor: 5, maxDeletePercent: 50 } } });
    for (let i = 0; i < 20; i += 1) await put(h, `f${i}.txt`, `x${i}`);
    await h.engine.start();
    await settle(h);
    for (let i = 0; i < 20; i += 1) await rm(path.join(h.dir, `f${i}.txt`));
    const report = await h.engine.reconcile();
    expect(report.heldDeletes?.message).toMatch(/--allow-mass-delete/);
    expect(h.emulator.files()).toHaveLength(20);
    expect(h.engine.status().heldDeletes?.count).toBe(20);
    const forced = await h.engine.reconcile({ allowMassDelete: true });
    expect(forced.deleted).toHaveLength(20);
    expect(h.emulator.files()).toHaveLength(0);
  });

  it('an rm of most files while watching deletes nothing remotely: the removals are judged together', async () => {
    h = await createHarness({
      watch: true,
      settleMs: 100,
      config: { sync: { maxDeleteFloor: 10, maxDeletePercent: 50 } },
    });
    for (let i = 0; i < 24; i += 1) await put(h, `f${i}.txt`, `x${i}`);
    await h.engine.start();
    await settle(h);
    expect(h.emulator.files()).toHaveLength(24);
    // Removed one by one (separate events, possibly separate settled batches).
    for (let i = 0; i < 20; i += 1) await rm(path.join(h.dir, `f${i}.txt`));
    await waitUntil(() => h!.engine.status().heldDeletes !== null, 20_000, 'deletes held');
    await settle(h);
    expect(h.emulator.files()).toHaveLength(24);
    expect(h.engine.status().heldDeletes?.message).toMatch(/--allow-mass-delete/);
    const forced = await h.engine.reconcile({ allowMassDelete: true });
    expect(forced.deleted).toHaveLength(20);
    expect(await checkInvariants(h)).toEqual([]);
  });

  it('a few files deleted while watching are deleted remotely', async () => {
    h = await createHarness({ watch: true, settleMs: 100 });
    for (let i = 0; i < 6; i += 1) await put(h, `f${i}.txt`, `x${i}`);
    await h.engine.start();
    await settle(h);
    for (let i = 0; i < 3; i += 1) await rm(path.join(h.dir, `f${i}.txt`));
    await waitUntil(() => h!.emulator.files().length === 3, 20_000, 'three deleted');
    await settle(h);
    expect(h.engine.status().heldDeletes).toBeNull();
    expect(await checkInvariants(h)).toEqual([]);
  });

  it('a missing folder deletes nothing', async () => {
    h = await createHarness({ watch: false });
    await put(h, 'a.txt', 'a');
    await h.engine.start();
    await settle(h);
    await rm(h.dir, { recursive: true });
    const report = await h.engine.reconcile({ allowMassDelete: true });
    expect(report.deleted).toEqual([]);
    expect(report.heldDeletes?.message).toMatch(/missing/);
    expect(h.emulator.files()).toHaveLength(1);
  });

  it('leaves unmanaged remote files alone, adopts exact matches with adopt, deletes with deleteUnmanaged', async () => {
    h = await createHarness({ watch: false });
    await put(h, 'mine.txt', 'mine');
    const foreign = await h.emulator.addFile({ filename: 'someone-else.pdf', bytes: Buffer.from('theirs') });
    await h.engine.start();
    await settle(h);
    expect(h.emulator.files().map((f) => f.id)).toContain(foreign.id);
    const status = await h.engine.reconcile();
    expect(status.unmanaged.map((u) => u.fileId)).toEqual([foreign.id]);
    // A lost index: a fresh index over the same folder; reconcile --adopt rebuilds it without uploading.
    await h.stopEngine();
    for (const suffix of ['', '-wal', '-shm'])
      await rm(path.join(h.stateDir, `index.sqlite${suffix}`), { force: true });
    h.emulator.resetStats();
    await h.restartWithoutStart();
    const adopted = await h.engine.reconcile({ adopt: true });
    expect(adopted.adopted.map((a) => a.path)).toEqual(['mine.txt']);
    expect(adopted.unmanaged.map((u) => u.fileId)).toEqual([foreign.id]);
    expect(h.emulator.stats().byRoute.upload).toBe(0);
    // Deleting unmanaged files is explicit too, with a dry run that lists what would go.
    const dry = await h.engine.reconcile({ deleteUnmanaged: true, dryRun: true });
    expect(dry.deleted.map((d) => d.fileId)).toEqual([foreign.id]);
    expect(h.emulator.files().map((f) => f.id)).toContain(foreign.id);
    await h.engine.reconcile({ deleteUnmanaged: true });
    expect(h.emulator.files().map((f) => f.id)).not.toContain(foreign.id);
    expect(await checkInvariants(h)).toEqual([]);
  });

  it('syncs through 500s, 529s, 429s and connection resets to the same end state', async () => {
    h = await createHarness({
      watch: false,
      faults: { error500Rate: 0.15, error529Rate: 0.1, error429Rate: 0.1, retryAfterMs: 50, resetRate: 0.1, seed: 7 },
      config: { api: { maxRetries: 6 } },
    });
    for (let i = 0; i < 60; i += 1) await put(h, `dir${i % 5}/file${i}.txt`, `content ${i} `.repeat(i + 1));
    await h.engine.start();
    await settle(h);
    h.emulator.setFaults({ error500Rate: 0, error529Rate: 0, error429Rate: 0, resetRate: 0 });
    await h.engine.reconcile();
    await settle(h);
    expect(await checkInvariants(h)).toEqual([]);
    expect(h.engine.status().queue.rateLimitPauses).toBeGreaterThan(0);
  });
});
