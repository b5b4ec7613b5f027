/**
 * Issue 14 symptom 5: a renamed folder is a move, not a mass delete; and a held delete stays held
 * until --allow-mass-delete, shown as held (not synced) by ls, status and id. Real folder, real
 * watcher, real index, the emulator.
 */
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkInvariants, createHarness, waitUntil, type Harness } from '../helpers/engine-harness.js';
import { put } from '../helpers/fs.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

type LogLine = { event?: string; path?: string; fileId?: string };

describe('directory renames', () => {
  it('mv of a folder with 200 files holds nothing: the new copies go up, then the old ones are deleted', async () => {
    h = await createHarness({ watch: true, settleMs: 150 });
    for (let i = 0; i < 200; i += 1) await put(h, `big/f${i}.txt`, `small file ${i}`);
    await h.engine.start();
    await h.engine.onIdle();
    expect(h.emulator.files()).toHaveLength(200);
    const oldIds = new Set(h.emulator.files().map((f) => f.id));

    await rename(path.join(h.dir, 'big'), path.join(h.dir, 'big2'));
    await waitUntil(
      () => h!.emulator.files().length === 200 && h!.emulator.files().every((f) => !oldIds.has(f.id)),
      30_000,
      'the move done remotely',
    );
    await h.engine.onIdle();

    expect(h.engine.status().heldDeletes).toBeNull();
    expect(h.engine.status().counts.held ?? 0).toBe(0);
    expect(
      h.engine
        .files()
        .map((e) => e.path)
        .filter((p) => p.startsWith('big/')),
    ).toEqual([]);
    expect(h.engine.fileIdOf('big2/f7.txt')).toMatch(/^file_/);
    expect(h.engine.fileIdOf('big/f7.txt')).toBeNull();
    // Each old copy was deleted only after its new path was up.
    const logs = h.logs as LogLine[];
    const uploadedAt = new Map<string, number>();
    logs.forEach((l, i) => {
      if (l.event === 'upload' && l.path) uploadedAt.set(l.path, i);
    });
    const deletes = logs
      .map((l, i) => [l, i] as const)
      .filter(([l]) => l.event === 'delete' && l.path?.startsWith('big/'));
    expect(deletes).toHaveLength(200);
    for (const [l, i] of deletes) {
      const up = uploadedAt.get(`big2/${(l.path as string).slice('big/'.length)}`);
      expect(up).toBeDefined();
      expect(up as number).toBeLessThan(i);
    }
    expect(await checkInvariants(h)).toEqual([]);
  }, 60_000);

  // Found by the randomized runs (seed 300 with --crashes --hosts 2 --moves all --strict-live,
  // minimal: mkdirTree of 10 files, wait, renameDir, 223 ms, rmTree). Not fixed yet: the move's
  // old-path deletes are counted as removals with the new paths', so the 10 files the user
  // removed are judged as 20 of 20 and held as a mass delete until reconcile --allow-mass-delete.
  it('a folder renamed and then removed before the move finished is deleted remotely, not held as a mass delete', async () => {
    h = await createHarness({ watch: true, settleMs: 150 });
    for (let i = 0; i < 10; i += 1) await put(h, `x/f${i}.txt`, `small file ${i}`);
    await h.engine.start();
    await h.engine.onIdle();
    expect(h.emulator.files()).toHaveLength(10);

    await rename(path.join(h.dir, 'x'), path.join(h.dir, 'notes'));
    await waitUntil(() => h!.emulator.files().length > 10, 30_000, 'the first new copies up');
    await rm(path.join(h.dir, 'notes'), { recursive: true });
    await waitUntil(
      () => h!.engine.files().every((e) => !e.path.startsWith('notes/') || e.state !== 'pending'),
      30_000,
      'the removal seen',
    );
    // The removal gathering decides (deletes, or holds them): no fixed wait for its window.
    await waitUntil(
      () => h!.emulator.files().length === 0 || h!.engine.status().heldDeletes !== null,
      30_000,
      'the removal decided',
    );
    await h.engine.onIdle();

    expect(h.engine.status().heldDeletes).toBeNull();
    expect(h.emulator.files()).toEqual([]);
    expect(await checkInvariants(h)).toEqual([]);
  }, 60_000);

  it('a reconcile that sees a renamed folder moves it without holding anything', async () => {
    h = await createHarness({ watch: false });
    for (let i = 0; i < 40; i += 1) await put(h, `big/f${i}.txt`, `content ${i}`);
    await h.engine.start();
    await h.engine.onIdle();
    await rename(path.join(h.dir, 'big'), path.join(h.dir, 'big2'));
    const report = await h.engine.reconcile();
    expect(report.heldDeletes).toBeNull();
    expect(report.uploaded).toHaveLength(40);
    expect(report.deleted).toHaveLength(40);
    expect(await checkInvariants(h)).toEqual([]);
  });
});

describe('held deletes', () => {
  it('stay held when a later reconcile dilutes the share, show as held, and go with --allow-mass-delete', async () => {
    h = await createHarness({ watch: false, config: { sync: { maxDeleteFloor: 5, maxDeletePercent: 50 } } });
    for (let i = 0; i < 20; i += 1) await put(h, `f${i}.txt`, `x${i}`);
    await h.engine.start();
    await h.engine.onIdle();
    for (let i = 0; i < 20; i += 1) await rm(path.join(h.dir, `f${i}.txt`));
    expect((await h.engine.reconcile()).heldDeletes?.count).toBe(20);

    // 30 new files: 20 of 50 would now be under the share; the held deletes must not follow.
    for (let i = 0; i < 30; i += 1) await put(h, `new/n${i}.txt`, `new ${i}`);
    const later = await h.engine.reconcile();
    expect(later.deleted).toEqual([]);
    expect(later.heldDeletes?.count).toBe(20);
    expect(h.emulator.files()).toHaveLength(50);

    // A restart keeps them held too.
    await h.restart();
    await h.engine.onIdle();
    expect(h.emulator.files()).toHaveLength(50);
    const status = h.engine.status();
    expect(status.heldDeletes?.count).toBe(20);
    expect(status.counts).toMatchObject({ synced: 30, held: 20 });
    expect(
      h.engine
        .files()
        .filter((e) => e.state === 'held')
        .map((e) => e.path)
        .sort(),
    ).toEqual(Array.from({ length: 20 }, (_, i) => `f${i}.txt`).sort());
    expect(h.engine.fileIdOf('f3.txt')).toBeNull();
    expect(h.engine.stateOf('f3.txt')).toBe('held');

    const forced = await h.engine.reconcile({ allowMassDelete: true });
    expect(forced.deleted).toHaveLength(20);
    expect(h.engine.status().heldDeletes).toBeNull();
    expect(h.engine.status().counts.held ?? 0).toBe(0);
    expect(await checkInvariants(h)).toEqual([]);
  });

  it('held deletes whose content comes back under new paths while watching are released as moves', async () => {
    h = await createHarness({
      watch: true,
      settleMs: 100,
      config: { sync: { maxDeleteFloor: 5, maxDeletePercent: 50 } },
    });
    for (let i = 0; i < 20; i += 1) await put(h, `old/f${i}.txt`, `content ${i}`);
    await h.engine.start();
    await h.engine.onIdle();
    await rm(path.join(h.dir, 'old'), { recursive: true });
    await waitUntil(() => (h!.engine.status().heldDeletes?.count ?? 0) === 20, 20_000, 'deletes held');
    await h.engine.onIdle();
    // Well after the gathering window: the same contents are written under new paths.
    for (let i = 0; i < 20; i += 1) await put(h, `restored/f${i}.txt`, `content ${i}`);
    await waitUntil(() => h!.engine.status().heldDeletes === null, 30_000, 'held deletes released as moves');
    await h.engine.onIdle();
    expect(h.engine.status().counts.held ?? 0).toBe(0);
    expect(await checkInvariants(h)).toEqual([]);
  }, 60_000);

  it('a held file that comes back is released and synced again, without a new upload', async () => {
    h = await createHarness({ watch: false, config: { sync: { maxDeleteFloor: 2, maxDeletePercent: 50 } } });
    for (let i = 0; i < 6; i += 1) await put(h, `f${i}.txt`, `x${i}`);
    await h.engine.start();
    await h.engine.onIdle();
    for (let i = 0; i < 6; i += 1) await rm(path.join(h.dir, `f${i}.txt`));
    expect((await h.engine.reconcile()).heldDeletes?.count).toBe(6);
    for (let i = 0; i < 6; i += 1) await put(h, `f${i}.txt`, `x${i}`);
    h.emulator.resetStats();
    const report = await h.engine.reconcile();
    expect(report.heldDeletes).toBeNull();
    expect(h.emulator.stats().byRoute.upload).toBe(0);
    expect(h.engine.files().every((e) => e.state === 'synced')).toBe(true);
    expect(await checkInvariants(h)).toEqual([]);
  });
});
