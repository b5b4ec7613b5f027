/**
 * Ownership that survives the index (issue 14): the owner tag in every name we upload lets a
 * lost index be rebuilt without uploading again, keeps two hosts on one workspace from touching
 * each other's copies, and lets us clean up our own orphans only. On the emulator, end to end
 * through the engine as the daemon composes it.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { offlineStatus } from '../../src/cli/offline.js';
import { Emulator } from '../../src/emulator/index.js';
import { remoteNameFor } from '../../src/plan/naming.js';
import { checkInvariants, createHarness, TEST_KEY, type Harness } from '../helpers/engine-harness.js';
import { createHash } from 'node:crypto';
import { put } from '../helpers/fs.js';

const open: Harness[] = [];
let shared: Emulator | null = null;
afterEach(async () => {
  for (const x of open.splice(0)) await x.close();
  await shared?.close();
  shared = null;
});

async function harness(o: Parameters<typeof createHarness>[0] = {}): Promise<Harness> {
  const x = await createHarness(o);
  open.push(x);
  return x;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** The state directory's index is gone (deleted, a new machine from a backup of the folder only). */
async function loseIndex(x: Harness): Promise<void> {
  await x.stopEngine();
  for (const suffix of ['', '-wal', '-shm']) await rm(path.join(x.stateDir, `index.sqlite${suffix}`), { force: true });
  await x.restartWithoutStart();
}

describe('ownership that survives the index', () => {
  for (const watch of [false, true]) {
    it(`after the index is lost, a ${watch ? 'daemon start' : 'one-shot sync'} adopts our copies, uploads only what changed, deletes our stale copies and nothing else`, async () => {
      const h = await harness({ watch, settleMs: 100 });
      for (let i = 0; i < 8; i += 1) await put(h, `docs/f${i}.txt`, `content ${i}`);
      await put(h, 'changes.txt', 'v1');
      await put(h, 'removed.txt', 'bye');
      await h.engine.start();
      await h.engine.onIdle();
      const other = await h.emulator.addFile({ filename: 'holiday.jpg', bytes: Buffer.from('another tool') });
      const legacy = await h.emulator.addFile({
        filename: remoteNameFor('docs/f0.txt', sha('content 0'), null),
        bytes: Buffer.from('content 0'),
      });

      await loseIndex(h);
      await put(h, 'changes.txt', 'v2');
      await rm(path.join(h.dir, 'removed.txt'));
      h.emulator.resetStats();
      await h.engine.start();
      await h.engine.onIdle();

      expect(h.emulator.stats().byRoute.upload).toBe(1); // changes.txt only
      expect(h.emulator.stats().byRoute.delete).toBe(2); // the old changes.txt and removed.txt
      const ids = h.emulator.files().map((f) => f.id);
      expect(ids).toContain(other.id);
      expect(ids).toContain(legacy.id);
      const view = { files: () => h.emulator.files().filter((f) => f.id !== other.id && f.id !== legacy.id) };
      expect(await checkInvariants({ ...h, emulator: view as unknown as Emulator, index: h.index })).toEqual([]);
      // A second start finds the index established: nothing more to do.
      h.emulator.resetStats();
      await h.restart();
      await h.engine.onIdle();
      expect(h.emulator.stats().byRoute.upload).toBe(0);
      expect(h.emulator.stats().byRoute.delete).toBe(0);
    });
  }

  it('after the index is lost, our stale copies are deleted when they are a small share of our copies, though most of them were adopted while the walk ran', async () => {
    const h = await harness({ watch: false, settleMs: 100 });
    for (let i = 0; i < 40; i += 1) await put(h, `docs/f${i}.txt`, `content ${i}`);
    await h.engine.start();
    await h.engine.onIdle();

    await loseIndex(h);
    // 12 removed while the index was gone: more than maxDeleteFloor (10), 30 % of our 40 copies.
    for (let i = 0; i < 12; i += 1) await rm(path.join(h.dir, `docs/f${i}.txt`));
    h.emulator.resetStats();
    await h.engine.start();
    await h.engine.onIdle();

    expect(h.emulator.stats().byRoute.upload).toBe(0);
    expect(h.emulator.stats().byRoute.delete).toBe(12);
    expect(h.emulator.files()).toHaveLength(28);
    expect(await checkInvariants(h)).toEqual([]);
  });

  it('two hosts with identical files on one workspace never adopt or delete each other copies, also after a lost index and reconcile --adopt', async () => {
    shared = await Emulator.start({ apiKey: TEST_KEY });
    const a = await harness({ watch: false, emulator: shared });
    const b = await harness({ watch: false, emulator: shared });
    expect(a.config.sync.ownerTag).not.toBe(b.config.sync.ownerTag);
    for (const x of [a, b]) {
      await put(x, 'shared.txt', 'same bytes');
      await put(x, 'notes/n.md', 'same notes');
      await x.engine.start();
      await x.engine.onIdle();
    }
    const aId = a.engine.fileIdOf('shared.txt') as string;
    expect(shared.files()).toHaveLength(4);

    for (const x of [b, a]) {
      await loseIndex(x);
      const report = await x.engine.reconcile({ adopt: true });
      expect(report.adopted).toHaveLength(2);
      for (const adopted of report.adopted)
        expect(shared.files().find((f) => f.id === adopted.fileId)?.filename).toContain(`~o${x.config.sync.ownerTag}~`);
      expect(report.foreign).toHaveLength(2);
      expect(report.deleted).toEqual([]);
      expect(report.uploaded).toEqual([]);
    }
    expect(shared.files()).toHaveLength(4);

    // B's next edit replaces B's copy only: A still hands out a live id.
    await put(b, 'shared.txt', 'b changed it');
    await b.engine.reconcile();
    await b.engine.onIdle();
    expect(shared.files().map((f) => f.id)).toContain(aId);
    expect(a.engine.fileIdOf('shared.txt')).toBe(aId);
    const viewOf = (x: Harness) => ({
      files: () => shared!.files().filter((f) => f.filename.includes(`~o${x.config.sync.ownerTag}~`)),
    });
    for (const x of [a, b])
      expect(await checkInvariants({ ...x, emulator: viewOf(x) as unknown as Emulator, index: x.index })).toEqual([]);
  });

  it('reconcile --delete-orphans lists with --dry-run, then deletes, only our tagged orphans', async () => {
    const h = await harness({ watch: false });
    await put(h, 'a.txt', 'alpha');
    await h.engine.start();
    await h.engine.onIdle();
    const orphan = await h.emulator.addFile({
      filename: remoteNameFor('ghost.txt', sha('boo'), h.config.sync.ownerTag),
      bytes: Buffer.from('boo'),
    });
    const foreign = await h.emulator.addFile({
      filename: remoteNameFor('ghost.txt', sha('boo'), '0f0f0f0f'),
      bytes: Buffer.from('boo'),
    });
    const untagged = await h.emulator.addFile({
      filename: remoteNameFor('ghost.txt', sha('boo'), null),
      bytes: Buffer.from('boo'),
    });
    const tool = await h.emulator.addFile({ filename: 'report.pdf', bytes: Buffer.from('x') });

    const plain = await h.engine.reconcile();
    expect(plain.orphans.map((o) => o.fileId)).toEqual([orphan.id]);
    expect(plain.foreign.map((o) => o.fileId)).toEqual([foreign.id]);
    expect(plain.unmanaged.map((o) => o.fileId).sort()).toEqual([untagged.id, tool.id].sort());
    expect(plain.deleted).toEqual([]);
    expect(h.engine.status().lastReconcile?.orphans).toBe(1);

    const dry = await h.engine.reconcile({ deleteOrphans: true, dryRun: true });
    expect(dry.deleted.map((d) => d.fileId)).toEqual([orphan.id]);
    expect(h.emulator.files()).toHaveLength(5);

    const done = await h.engine.reconcile({ deleteOrphans: true });
    await h.engine.onIdle();
    expect(done.deleted.map((d) => d.fileId)).toEqual([orphan.id]);
    expect(
      h.emulator
        .files()
        .map((f) => f.id)
        .sort(),
    ).toEqual([h.engine.fileIdOf('a.txt'), foreign.id, untagged.id, tool.id].sort());

    // --delete-unmanaged deletes the untagged files, never the other owner's copy.
    await h.engine.reconcile({ deleteUnmanaged: true });
    await h.engine.onIdle();
    expect(
      h.emulator
        .files()
        .map((f) => f.id)
        .sort(),
    ).toEqual([h.engine.fileIdOf('a.txt'), foreign.id].sort());
  });

  it('when the API answers for another workspace, every delete is held and status says why, until --accept-workspace', async () => {
    const h = await harness({ watch: false });
    await put(h, 'a.txt', 'alpha');
    await put(h, 'b.txt', 'beta');
    await h.engine.start();
    await h.engine.onIdle();
    const bId = h.engine.fileIdOf('b.txt') as string;
    await h.emulator.setWorkspaceId('wrkspc_other');
    await rm(path.join(h.dir, 'b.txt'));

    const held = await h.engine.reconcile();
    await h.engine.onIdle();
    expect(held.heldDeletes?.message).toMatch(/workspace wrkspc_other.*--accept-workspace/);
    expect(held.deleted).toEqual([]);
    expect(h.emulator.files().map((f) => f.id)).toContain(bId);
    expect(h.engine.status().heldDeletes?.message).toMatch(/--accept-workspace/);
    // Said without a daemon too, from the index.
    expect(offlineStatus(h.config, h.index).heldDeletes?.message).toMatch(/wrkspc_other/);

    const accepted = await h.engine.reconcile({ acceptWorkspace: true });
    await h.engine.onIdle();
    expect(accepted.heldDeletes).toBeNull();
    expect(h.emulator.files().map((f) => f.id)).not.toContain(bId);
    expect(h.engine.status().heldDeletes).toBeNull();
    expect(await checkInvariants(h)).toEqual([]);
  });
});
