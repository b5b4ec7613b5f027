/**
 * Issue 14, symptoms 1 and 7: an edit that keeps size, mtime and inode (`cp -p`, `touch -r`)
 * is synced by the watcher, at a restart, by a reconcile and by `--rehash`; and one made while the
 * file's upload waits does not start an upload loop. Real files, the real watcher, the emulator.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkInvariants, createHarness, waitUntil, type Harness } from '../helpers/engine-harness.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

/** Whole seconds, long ago: restoring it is exact, and no hash of it is racy. */
const OLD_MTIME = 1_700_000_000;
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

function putOld(x: Harness, rel: string, content: string, mtime = OLD_MTIME): void {
  const abs = path.join(x.dir, rel);
  writeFileSync(abs, content);
  utimesSync(abs, mtime, mtime);
}

/** Rewrites `rel` in place with content of the same size and puts its mtime back, as `cp -p` does. */
function sameStatEdit(x: Harness, rel: string, content: string): void {
  const abs = path.join(x.dir, rel);
  const before = statSync(abs);
  expect(Buffer.byteLength(content)).toBe(before.size);
  writeFileSync(abs, content);
  utimesSync(abs, before.mtimeMs / 1000, before.mtimeMs / 1000);
  const after = statSync(abs);
  expect([after.ino, after.size, after.mtimeMs]).toEqual([before.ino, before.size, before.mtimeMs]);
}

/** The remote content the index hands out for `rel`. */
function remoteSha(x: Harness, rel: string): string | null {
  const id = x.index.get(rel)?.fileId;
  return x.emulator.files().find((f) => f.id === id)?.sha256 ?? null;
}

const uploadsOf = (x: Harness, rel: string) =>
  x.logs.filter((l) => {
    const e = l as { event?: string; path?: string };
    return e.path === rel && (e.event === 'upload' || e.event === 'replace' || e.event === 'changed-during-upload');
  }).length;

describe('a same-stat edit (cp -p, touch -r)', () => {
  it('is synced by the watcher', async () => {
    h = await createHarness({ watch: true, settleMs: 150 });
    putOld(h, 'a.txt', 'version-1');
    await h.engine.start();
    await h.engine.onIdle();
    expect(remoteSha(h, 'a.txt')).toBe(sha('version-1'));

    sameStatEdit(h, 'a.txt', 'version-2');
    await waitUntil(
      () => remoteSha(h!, 'a.txt') === sha('version-2') && h!.index.get('a.txt')?.state === 'synced',
      10_000,
      'the edit to be synced',
    );
    await h.engine.onIdle();
    expect(await checkInvariants(h)).toEqual([]);
  });

  it('is synced at the next start', async () => {
    h = await createHarness({ watch: false });
    putOld(h, 'a.txt', 'version-1');
    await h.engine.start();
    await h.engine.onIdle();
    await h.stopEngine();

    sameStatEdit(h, 'a.txt', 'version-2');
    await h.restart();
    await h.engine.onIdle();
    expect(remoteSha(h, 'a.txt')).toBe(sha('version-2'));
    expect(await checkInvariants(h)).toEqual([]);
  });

  it('is synced by a reconcile', async () => {
    h = await createHarness({ watch: false });
    putOld(h, 'a.txt', 'version-1');
    putOld(h, 'b.txt', 'untouched');
    await h.engine.start();
    await h.engine.onIdle();

    sameStatEdit(h, 'a.txt', 'version-2');
    const report = await h.engine.reconcile();
    await h.engine.onIdle();
    expect(report.uploaded).toEqual(['a.txt']);
    expect(remoteSha(h, 'a.txt')).toBe(sha('version-2'));
    expect(await checkInvariants(h)).toEqual([]);
  });

  it('costs a read, not an upload, for a row indexed before ctime was recorded', async () => {
    h = await createHarness({ watch: false });
    putOld(h, 'a.txt', 'version-1');
    await h.engine.start();
    await h.engine.onIdle();
    // What a row migrated from schema 2 looks like: no ctime.
    const row = h.index.get('a.txt')!;
    h.index.observe({ path: 'a.txt', size: row.size, mtimeMs: row.mtimeMs, ino: row.ino, sha256: row.sha256 });
    expect(h.index.get('a.txt')?.ctimeMs).toBeNull();
    h.emulator.resetStats();

    await h.restart();
    await h.engine.onIdle();
    expect(h.emulator.stats().byRoute.upload).toBe(0);
    expect(h.index.get('a.txt')).toMatchObject({
      state: 'synced',
      ctimeMs: statSync(path.join(h.dir, 'a.txt')).ctimeMs,
    });
  });

  it('that no stat shows (a filesystem without a trustworthy ctime) is found by reconcile with rehash', async () => {
    h = await createHarness({ watch: false });
    putOld(h, 'a.txt', 'version-1');
    await h.engine.start();
    await h.engine.onIdle();
    sameStatEdit(h, 'a.txt', 'version-2');
    // The index believes the new stat (ctime included) holds the old content.
    const st = statSync(path.join(h.dir, 'a.txt'));
    const row = h.index.get('a.txt')!;
    h.index.observe({
      path: 'a.txt',
      size: st.size,
      mtimeMs: st.mtimeMs,
      ino: st.ino,
      ctimeMs: st.ctimeMs,
      sha256: row.sha256,
    });

    expect((await h.engine.reconcile()).uploaded).toEqual([]);
    expect(remoteSha(h, 'a.txt')).toBe(sha('version-1'));
    const report = await h.engine.reconcile({ rehash: true });
    await h.engine.onIdle();
    expect(report.uploaded).toEqual(['a.txt']);
    expect(remoteSha(h, 'a.txt')).toBe(sha('version-2'));
  });
});

describe('a same-stat edit while the upload waits in the queue', () => {
  it('is uploaded a few times at most, never in a loop', async () => {
    // One upload at a time, each answered slowly: the edit lands while a.txt waits behind blocker.
    h = await createHarness({ watch: true, settleMs: 150, config: { queue: { concurrency: 1 } } });
    putOld(h, 'a.txt', 'version-1');
    await h.engine.start();
    await h.engine.onIdle();

    h.emulator.setFaults({ latencyMs: 1_500 });
    writeFileSync(path.join(h.dir, 'blocker.txt'), 'blocks the queue');
    await waitUntil(() => h!.index.get('blocker.txt')?.state === 'pending', 5_000, 'blocker to be queued');
    putOld(h, 'a.txt', 'version-2', OLD_MTIME + 10);
    await waitUntil(() => h!.index.get('a.txt')?.sha256 === sha('version-2'), 5_000, 'version-2 to be queued');
    sameStatEdit(h, 'a.txt', 'version-3');
    h.emulator.setFaults({ latencyMs: 0 });

    // Long enough for dozens of rounds of the loop (one per settle time) had it been there.
    await new Promise((r) => setTimeout(r, 4_000));
    expect(uploadsOf(h, 'a.txt') - 1).toBeLessThanOrEqual(3);
    await h.engine.onIdle();
    expect(readFileSync(path.join(h.dir, 'a.txt'), 'utf8')).toBe('version-3');
    expect(remoteSha(h, 'a.txt')).toBe(sha('version-3'));
    expect(await checkInvariants(h)).toEqual([]);
  }, 30_000);
});
