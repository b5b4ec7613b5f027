/**
 * Issue 10: the initial sync of a new folder uploads its first files while the walk is still
 * running, and the pipeline keeps every rule of the full pass: nothing uploaded twice, a lost
 * index adopts, a move deletes its old copy once the new one is up.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkInvariants, createHarness, type Harness } from '../helpers/engine-harness.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

type Line = { event?: string; path?: string };

async function tree(dir: string, folders: number, perFolder: number, bytes: number): Promise<void> {
  for (let d = 0; d < folders; d++) {
    await mkdir(path.join(dir, `d${d}`), { recursive: true });
    for (let f = 0; f < perFolder; f++)
      await writeFile(path.join(dir, `d${d}`, `f${f}.bin`), Buffer.alloc(bytes, `${d}-${f}`));
  }
}

describe('upload while scanning', () => {
  it('the first upload of a new folder starts before the walk ends, and every file goes up once', async () => {
    h = await createHarness({ watch: false });
    // Enough content that hashing it takes well longer than the listing and one upload.
    await tree(h.dir, 6, 60, 32 * 1024);
    await h.engine.start();
    await h.engine.onIdle();
    const events = (h.logs as Line[]).map((l) => l.event);
    const firstUpload = events.indexOf('upload');
    const scanDone = events.indexOf('scan-done');
    expect(firstUpload).toBeGreaterThanOrEqual(0);
    expect(scanDone).toBeGreaterThanOrEqual(0);
    expect(firstUpload).toBeLessThan(scanDone);
    expect(h.emulator.stats().byRoute.upload).toBe(360);
    expect(h.emulator.files()).toHaveLength(360);
    expect(await checkInvariants(h)).toEqual([]);
  });

  it('a lost index adopts every copy while scanning and uploads only the new file', async () => {
    h = await createHarness({ watch: false });
    await tree(h.dir, 4, 50, 1024);
    await h.engine.start();
    await h.engine.onIdle();
    await h.stopEngine();
    await rm(path.join(h.stateDir, 'index.sqlite'), { force: true });
    await rm(path.join(h.stateDir, 'index.sqlite-wal'), { force: true });
    await rm(path.join(h.stateDir, 'index.sqlite-shm'), { force: true });
    await writeFile(path.join(h.dir, 'd0', 'new.txt'), 'new');
    h.emulator.resetStats();
    await h.restart();
    await h.engine.onIdle();
    expect(h.emulator.stats().byRoute.upload).toBe(1);
    expect(h.emulator.stats().byRoute.delete ?? 0).toBe(0);
    expect((h.logs as Line[]).filter((l) => l.event === 'adopt')).toHaveLength(200);
    expect(h.emulator.files()).toHaveLength(201);
    expect(await checkInvariants(h)).toEqual([]);
  });

  it('a folder renamed while the daemon was down uploads the new paths and deletes the old copies', async () => {
    h = await createHarness({ watch: false });
    await tree(h.dir, 3, 40, 512);
    await h.engine.start();
    await h.engine.onIdle();
    await h.stopEngine();
    await rename(path.join(h.dir, 'd1'), path.join(h.dir, 'moved'));
    h.emulator.resetStats();
    await h.restart();
    await h.engine.onIdle();
    // 40 of 120 managed files gone is above the 50 % share only as moves: none is held.
    expect(h.emulator.stats().byRoute.upload).toBe(40);
    expect(h.emulator.stats().byRoute.delete).toBe(40);
    expect(h.emulator.files()).toHaveLength(120);
    expect(h.engine.stateOf('moved/f0.bin')).toBe('synced');
    expect(h.engine.stateOf('d1/f0.bin')).toBeNull();
    expect(await checkInvariants(h)).toEqual([]);
  });
});
