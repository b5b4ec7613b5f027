/**
 * Bad input on the local side (issue 5, "Bad input"): each case gets a clear message, the other
 * files keep syncing, and nothing is lost or duplicated. Engine in-process on a real temporary
 * folder, the real watcher, a real index file and the emulator. docs/bad-input.md is the table.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, rename, rm, truncate, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_REMOTE_NAME_BYTES, remoteNameFor } from '../../src/plan/naming.js';
import { Emulator } from '../../src/emulator/index.js';
import {
  checkInvariants,
  createHarness,
  TEST_KEY,
  waitUntil,
  type Harness,
  events,
} from '../helpers/engine-harness.js';
import { put } from '../helpers/fs.js';
import { harnessTeardown } from '../helpers/teardown.js';

let h: Harness | null = null;
const cleanups = harnessTeardown(() => {
  const x = h;
  h = null;
  return x;
});

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const uploads = (x: Harness) => x.emulator.stats().byRoute.upload;

/** Every byte the emulator holds, so a test can prove a secret never reached it. */
async function remoteContents(x: Harness): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const f of x.emulator.files()) out.push((await x.emulator.content(f.id)) ?? Buffer.alloc(0));
  return out;
}

async function tempOutside(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'cfs-outside-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

async function symlinkLoops(followSymlinks: boolean): Promise<void> {
  h = await createHarness({ watch: true, settleMs: 100, config: { watch: { followSymlinks } } });
  await put(h, 'real/file.txt', 'real');
  symlinkSync('self', path.join(h.dir, 'self'));
  symlinkSync('b', path.join(h.dir, 'a'));
  symlinkSync('a', path.join(h.dir, 'b'));
  symlinkSync('..', path.join(h.dir, 'real', 'up'));
  symlinkSync('.', path.join(h.dir, 'here'));
  await h.engine.start();
  await h.engine.onIdle();
  const skipped = new Map(h.engine.status().skipped.map((s) => [s.path, s.reason]));
  for (const p of ['self', 'a', 'b', 'real/up', 'here'])
    expect(skipped.get(p), `${p} (follow=${followSymlinks})`).toMatch(/symbolic link/);
  expect(h.emulator.files()).toHaveLength(1);
  expect(await checkInvariants(h)).toEqual([]);
}

describe('bad input: local files', () => {
  it('an open document: office and editor lock files and a .git file are never uploaded, nor deleted when they go', async () => {
    h = await createHarness({ watch: true, settleMs: 100 });
    await put(h, 'report.docx', 'the document');
    await h.engine.start();
    await h.engine.onIdle();
    // What opening documents leaves next to them, and a worktree's pointer file.
    const lockFiles = ['~$report.docx', '.~lock.report.docx#', 'notes.txt.kate-swp', '.goutputstream-ABC123', '.git'];
    for (const f of lockFiles) await put(h, f, 'lock');
    await put(h, 'later.txt', 'the sentinel');
    await waitUntil(
      () => h!.engine.files().some((f) => f.path === 'later.txt' && f.state === 'synced'),
      20_000,
      'later.txt synced',
    );
    for (const f of lockFiles) rmSync(path.join(h.dir, f));
    await h.engine.reconcile({});
    await h.engine.onIdle();
    expect(h.emulator.files()).toHaveLength(2);
    expect(uploads(h)).toBe(2);
    expect(h.emulator.stats().byRoute.delete).toBe(0);
    expect(
      h.engine
        .files()
        .map((f) => f.path)
        .sort(),
    ).toEqual(['later.txt', 'report.docx']);
    expect(await checkInvariants(h)).toEqual([]);
  });

  it('a file deleted while it uploads leaves no remote copy, and the others sync', async () => {
    h = await createHarness({ watch: true, settleMs: 100 });
    await h.engine.start();
    // Slow answers keep the upload in flight while the file goes away.
    h.emulator.setFaults({ latencyMs: 1500 });
    await put(h, 'keep.txt', 'keep me');
    await put(h, 'doomed.bin', Buffer.alloc(4 * 1024 * 1024, 7));
    await waitUntil(() => uploads(h!) >= 1, 20_000, 'an upload in flight');
    await rm(path.join(h.dir, 'doomed.bin'));
    await waitUntil(() => h!.engine.fileIdOf('keep.txt') !== null, 30_000, 'keep.txt synced');
    await h.engine.onIdle();
    h.emulator.setFaults({ latencyMs: 0 });
    expect(h.index.get('doomed.bin')).toBeUndefined();
    expect(h.emulator.files().map((f) => f.filename)).toEqual([
      remoteNameFor('keep.txt', sha256('keep me'), h.config.sync.ownerTag),
    ]);
    expect(await checkInvariants(h)).toEqual([]);
  });

  it('a file changing while it uploads is uploaded again once settled, with no stray remote copy', async () => {
    h = await createHarness({ watch: true, settleMs: 150 });
    await h.engine.start();
    const size = 48 * 1024 * 1024;
    h.emulator.setFaults({ latencyMs: 2000 });
    await put(h, 'other.txt', 'still syncs');
    await put(h, 'growing.bin', Buffer.alloc(size, 1));
    await waitUntil(() => uploads(h!) >= 2, 30_000, 'both uploads in flight');
    // The server has not read the body yet (latency): the tail the client has not sent changes.
    const tail = Buffer.alloc(1024, 2);
    const fd = await import('node:fs/promises').then((fs) => fs.open(path.join(h!.dir, 'growing.bin'), 'r+'));
    await fd.write(tail, 0, tail.length, size - tail.length);
    await fd.close();
    await waitUntil(async () => (await checkInvariants(h!)).length === 0, 60_000, 'converged');
    h.emulator.setFaults({ latencyMs: 0 });
    await h.engine.onIdle();
    expect(await checkInvariants(h)).toEqual([]);
    expect(events(h, 'changed-during-upload').map((e) => e.path)).toContain('growing.bin');
    const final = Buffer.alloc(size, 1);
    tail.copy(final, size - tail.length);
    expect(h.emulator.files().find((f) => f.filename.startsWith('growing'))?.sha256).toBe(sha256(final));
  });

  it('a file over the size limit is skipped with a reason (config limit and the API 413), the others sync', async () => {
    h = await createHarness({ watch: true, settleMs: 100, config: { sync: { maxFileBytes: 4096 } } });
    await put(h, 'small.txt', 'ok');
    await put(h, 'big.bin', Buffer.alloc(5000));
    await h.engine.start();
    await h.engine.onIdle();
    expect(h.index.get('big.bin')?.state).toBe('skipped');
    expect(h.engine.status().skipped).toContainEqual({
      path: 'big.bin',
      reason: expect.stringMatching(/too large.*5000 bytes.*4096 bytes/),
    });
    expect(h.engine.files().find((f) => f.path === 'big.bin')?.error).toMatch(/too large/);
    // A file that grows past the limit while watched: its remote copy goes, and the reason shows.
    await put(h, 'grows.txt', 'small at first');
    await waitUntil(() => h!.engine.fileIdOf('grows.txt') !== null, 20_000, 'grows.txt synced');
    await appendFile(path.join(h.dir, 'grows.txt'), Buffer.alloc(6000));
    await waitUntil(() => h!.index.get('grows.txt')?.state === 'skipped', 20_000, 'grows.txt skipped');
    await h.engine.onIdle();
    expect(h.emulator.files().map((f) => f.filename)).toEqual([
      remoteNameFor('small.txt', sha256('ok'), h.config.sync.ownerTag),
    ]);
    expect(events(h, 'skip').map((e) => e.path)).toEqual(expect.arrayContaining(['big.bin', 'grows.txt']));
  });

  it('a file the API refuses as too large (413) is skipped with the reason, the others sync', async () => {
    const emulator = await Emulator.start({ apiKey: TEST_KEY, maxFileBytes: 2048 });
    cleanups.push(() => emulator.close());
    h = await createHarness({ watch: false, emulator });
    await put(h, 'fits.txt', 'fits');
    await put(h, 'huge.bin', Buffer.alloc(3000));
    await h.engine.start();
    await h.engine.onIdle();
    expect(h.index.get('huge.bin')?.state).toBe('skipped');
    expect(h.index.get('huge.bin')?.skipReason).toMatch(/refused by the API as too large \(413\)/);
    expect(h.engine.status().skipped.map((s) => s.path)).toEqual(['huge.bin']);
    expect(emulator.stats().byStatus[413]).toBe(1);
    expect(h.engine.fileIdOf('fits.txt')).not.toBeNull();
  });

  // A file refused with 413 stays skipped until it changes: reconcile does not send it again.
  it('a file refused with 413 is not sent again by the next reconcile while it is unchanged', async () => {
    const emulator = await Emulator.start({ apiKey: TEST_KEY, maxFileBytes: 2048 });
    cleanups.push(() => emulator.close());
    h = await createHarness({ watch: false, emulator });
    await put(h, 'huge.bin', Buffer.alloc(3000));
    await h.engine.start();
    await h.engine.onIdle();
    await h.engine.reconcile();
    await h.engine.onIdle();
    expect(emulator.stats().byRoute.upload).toBe(1);
  });

  it('a zero-byte file is synced like any other, and truncating a file to empty replaces it', async () => {
    h = await createHarness({ watch: true, settleMs: 100 });
    await put(h, 'empty.txt', '');
    await put(h, 'shrinks.txt', 'content');
    await h.engine.start();
    await h.engine.onIdle();
    expect(
      h.emulator.files().find((f) => f.filename === remoteNameFor('empty.txt', sha256(''), h!.config.sync.ownerTag))
        ?.size_bytes,
    ).toBe(0);
    const before = h.engine.fileIdOf('shrinks.txt');
    await truncate(path.join(h.dir, 'shrinks.txt'), 0);
    await waitUntil(
      () => h!.engine.fileIdOf('shrinks.txt') !== before && h!.engine.fileIdOf('shrinks.txt') !== null,
      20_000,
      'replaced',
    );
    await h.engine.onIdle();
    expect(await checkInvariants(h)).toEqual([]);
  });

  it('a path whose remote name would exceed 255 bytes gets a shortened, unique, valid name', async () => {
    h = await createHarness({ watch: false });
    const long = 'd'.repeat(200);
    const paths = [
      `${long}/${'e'.repeat(200)}/a.txt`,
      `${long}/${'e'.repeat(200)}/b.txt`,
      `${'é'.repeat(120)}/${'日本'.repeat(40)}.md`,
    ];
    for (const p of paths) await put(h, p, `content of ${p.length}`);
    await put(h, 'short.txt', 'short');
    await h.engine.start();
    await h.engine.onIdle();
    const names = h.emulator.files().map((f) => f.filename);
    expect(names).toHaveLength(4);
    for (const n of names) expect(Buffer.byteLength(n)).toBeLessThanOrEqual(MAX_REMOTE_NAME_BYTES);
    expect(new Set(names).size).toBe(4);
    expect(names.filter((n) => n.endsWith('.txt'))).toHaveLength(3);
    expect(await checkInvariants(h)).toEqual([]);
  });

  it('names with characters the API forbids sync under sanitized, distinct names', async () => {
    h = await createHarness({ watch: true, settleMs: 100 });
    const names = [
      'a:b.txt',
      'a*b.txt',
      'a_b.txt',
      'q?.txt',
      '"quoted".txt',
      '<lt>.txt',
      'pipe|.txt',
      'back\\slash.txt',
      'tab\there.txt',
      'new\nline.txt',
      'bell\u0007.txt',
      'del\u007f.txt',
    ];
    for (const n of names.slice(0, 6)) await put(h, n, `content ${n}`);
    await h.engine.start();
    await h.engine.onIdle();
    // The rest arrive while watching.
    for (const n of names.slice(6)) await put(h, n, `content ${n}`);
    await waitUntil(() => names.every((n) => h!.engine.fileIdOf(n) !== null), 20_000, 'all synced');
    await h.engine.onIdle();
    const remote = h.emulator.files().map((f) => f.filename);
    expect(remote).toHaveLength(names.length);
    expect(new Set(remote).size).toBe(names.length);
    for (const n of remote) expect(n).not.toMatch(/[/\\<>:"|?*\u0000-\u001f\u007f]/);
    expect(await checkInvariants(h)).toEqual([]);
  });

  // A name that is not valid UTF-8 is reported as skipped, with a reason, never dropped silently.
  it('a name that is not valid UTF-8 is reported (never skipped silently) and the others sync', async () => {
    h = await createHarness({ watch: false });
    const bad = Buffer.concat([Buffer.from(`${h.dir}/`), Buffer.from([0x66, 0xff, 0x2e, 0x74, 0x78, 0x74])]);
    writeFileSync(bad, 'latin-1 name');
    cleanups.push(() => rmSync(bad, { force: true }));
    await put(h, 'fine.txt', 'fine');
    await h.engine.start();
    await h.engine.onIdle();
    expect(h.engine.fileIdOf('fine.txt')).not.toBeNull();
    // Node decodes the name with U+FFFD; the file must be named in status with a reason, not vanish.
    const shown = 'f\ufffd.txt';
    const status = h.engine.status();
    const reported =
      status.skipped.some((s) => s.path === shown && /UTF-8/i.test(s.reason)) ||
      status.lastErrors.some((e) => e.path === shown && /UTF-8/i.test(e.error));
    expect(reported).toBe(true);
    // Nothing went to the remote under a mangled name.
    expect(h.emulator.files().map((f) => f.filename)).toEqual([
      remoteNameFor('fine.txt', sha256('fine'), h.config.sync.ownerTag),
    ]);
  });

  it('a name that is not valid UTF-8 never gets synced as a different file with the U+FFFD name', async () => {
    h = await createHarness({ watch: false });
    // Two different files whose names both decode to "f\uFFFD.txt": neither may stand for the other.
    writeFileSync(Buffer.concat([Buffer.from(`${h.dir}/`), Buffer.from([0x66, 0xff, 0x2e, 0x74, 0x78, 0x74])]), 'one');
    writeFileSync(Buffer.concat([Buffer.from(`${h.dir}/`), Buffer.from([0x66, 0xfe, 0x2e, 0x74, 0x78, 0x74])]), 'two');
    await h.engine.start();
    await h.engine.onIdle();
    for (const f of h.emulator.files()) expect(['one', 'two'].map((c) => sha256(c))).not.toContain(f.sha256);
    expect(h.emulator.files()).toHaveLength(0);
  });

  it('symlink loops are skipped with a reason and the scan terminates (followSymlinks: false)', () =>
    symlinkLoops(false));

  // Regression: chokidar used to follow these loops without end (never ready, ELOOP thrown as
  // unhandled errors); fixed in 23e126c (chokidar never follows links; the scan follows them safely).
  it('symlink loops are skipped with a reason and the scan terminates (followSymlinks: true)', () =>
    symlinkLoops(true));

  it.each([false, true])(
    'a symlink pointing outside the folder is never read (followSymlinks: %s)',
    async (followSymlinks) => {
      const outside = await tempOutside();
      const secret = `TOP-SECRET-${Math.random().toString(36).slice(2)}`;
      writeFileSync(path.join(outside, 'secret.txt'), secret);
      mkdirSync(path.join(outside, 'sub'));
      writeFileSync(path.join(outside, 'sub', 'deep.txt'), secret);
      h = await createHarness({ watch: true, settleMs: 100, config: { watch: { followSymlinks } } });
      await put(h, 'mine.txt', 'mine');
      symlinkSync(path.join(outside, 'secret.txt'), path.join(h.dir, 'abs-link.txt'));
      symlinkSync(path.relative(h.dir, path.join(outside, 'secret.txt')), path.join(h.dir, 'rel-link.txt'));
      symlinkSync(outside, path.join(h.dir, 'dir-link'));
      symlinkSync('abs-link.txt', path.join(h.dir, 'chain.txt'));
      await h.engine.start();
      await h.engine.onIdle();
      // Links created while watching.
      symlinkSync(path.join(outside, 'secret.txt'), path.join(h.dir, 'late-link.txt'));
      symlinkSync(path.join(outside, 'sub'), path.join(h.dir, 'late-dir'));
      await put(h, 'marker.txt', 'marker');
      await waitUntil(() => h!.engine.fileIdOf('marker.txt') !== null, 20_000, 'marker synced');
      await h.engine.onIdle();
      await h.engine.reconcile();
      await h.engine.onIdle();
      for (const c of await remoteContents(h)) expect(c.toString('utf8')).not.toContain(secret);
      expect(h.emulator.files()).toHaveLength(2);
      const skipped = new Map(h.engine.status().skipped.map((s) => [s.path, s.reason]));
      for (const p of ['abs-link.txt', 'rel-link.txt', 'dir-link', 'chain.txt'])
        expect(skipped.get(p), `${p} (follow=${followSymlinks})`).toMatch(/symbolic link/);
      expect(await checkInvariants(h)).toEqual([]);
    },
  );

  it('a fifo and a unix socket in the folder are skipped with a reason, and the scan does not hang', async () => {
    h = await createHarness({ watch: true, settleMs: 100 });
    execFileSync('mkfifo', [path.join(h.dir, 'pipe')]);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(h!.dir, 'sock'), resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await put(h, 'normal.txt', 'normal');
    await h.engine.start();
    await h.engine.onIdle();
    // One more fifo while watching: the watcher path must not block on it either.
    execFileSync('mkfifo', [path.join(h.dir, 'late-pipe')]);
    await put(h, 'late.txt', 'late');
    await waitUntil(() => h!.engine.fileIdOf('late.txt') !== null, 20_000, 'late.txt synced');
    await h.engine.onIdle();
    const skipped = new Map(h.engine.status().skipped.map((s) => [s.path, s.reason]));
    expect(skipped.get('pipe')).toMatch(/fifo/);
    expect(skipped.get('sock')).toMatch(/socket/);
    expect(skipped.get('late-pipe')).toMatch(/fifo/);
    expect(await checkInvariants(h)).toEqual([]);
  });

  it('the watched folder deleted while running: nothing is deleted remotely, a clear message, and it resumes when back', async () => {
    h = await createHarness({ watch: true, settleMs: 100 });
    for (let i = 0; i < 3; i += 1) await put(h, `f${i}.txt`, `file ${i}`);
    await h.engine.start();
    await h.engine.onIdle();
    const before = h.emulator
      .files()
      .map((f) => f.id)
      .sort();
    await rm(h.dir, { recursive: true });
    await waitUntil(
      () => h!.engine.status().lastErrors.some((e) => /watched folder .* is missing/.test(e.error)),
      20_000,
      'the missing-folder message',
    );
    // A reconcile while it is gone deletes nothing and says why. (Not onIdle(): the watcher keeps
    // the vanished paths pending until the folder is back, so it is not idle meanwhile.)
    const report = await h.engine.reconcile({ allowMassDelete: true });
    expect(report.deleted).toEqual([]);
    expect(report.heldDeletes?.message).toMatch(/missing/);
    expect(h.emulator.stats().byRoute.delete).toBe(0);
    expect(
      h.emulator
        .files()
        .map((f) => f.id)
        .sort(),
    ).toEqual(before);
    // Back (remounted) with the same files and one more: the new one syncs, nothing else changes.
    for (let i = 0; i < 3; i += 1) await put(h, `f${i}.txt`, `file ${i}`);
    await put(h, 'new.txt', 'after the folder came back');
    await waitUntil(() => h!.engine.fileIdOf('new.txt') !== null, 30_000, 'new.txt synced after the folder came back');
    await h.engine.onIdle();
    expect(h.emulator.stats().byRoute.delete).toBe(0);
    expect(await checkInvariants(h)).toEqual([]);
  });

  // A watched folder replaced by another (its dev/ino changed) holds every delete, as a missing one does.
  it('the watched folder replaced by an empty one while running: nothing is wiped', async () => {
    h = await createHarness({ watch: true, settleMs: 100 });
    // Fewer files than sync.maxDeleteFloor, so the outcome does not depend on how the watcher
    // batches the vanished paths: only noticing that the folder itself changed can hold them.
    for (let i = 0; i < 8; i += 1) await put(h, `f${i}.txt`, `file ${i}`);
    await h.engine.start();
    await h.engine.onIdle();
    const old = `${h.dir}.old`;
    cleanups.push(() => rm(old, { recursive: true, force: true }));
    await rename(h.dir, old);
    await mkdir(h.dir);
    await put(h, 'fresh.txt', 'in the new folder');
    await h.engine.reconcile();
    await h.engine.onIdle();
    expect(h.engine.status().heldDeletes).not.toBeNull();
    expect(h.emulator.stats().byRoute.delete).toBe(0);
    expect(h.emulator.files()).toHaveLength(9);
    // Edits in the old folder (now elsewhere) are not mistaken for edits here.
    await writeFile(path.join(old, 'f0.txt'), 'edited in the moved-away folder');
    await rm(path.join(old, 'f1.txt'));
    // A file written here after them is synced after any event they caused (events come in order).
    await put(h, 'fence.txt', 'written after the edits elsewhere');
    await waitUntil(() => h!.engine.fileIdOf('fence.txt') !== null, 20_000, 'fence.txt synced');
    await h.engine.onIdle();
    expect(h.emulator.stats().byRoute.delete).toBe(0);
    expect(h.emulator.files()).toHaveLength(10);
  });

  // A watched folder replaced while running (same path, another folder) is noticed and the new one is watched.
  it('the watched folder replaced while running: the new folder is watched', async () => {
    h = await createHarness({ watch: true, settleMs: 100 });
    await put(h, 'a.txt', 'a');
    await h.engine.start();
    await h.engine.onIdle();
    const old = `${h.dir}.old`;
    cleanups.push(() => rm(old, { recursive: true, force: true }));
    await rename(h.dir, old);
    await mkdir(h.dir);
    await put(h, 'a.txt', 'a');
    await put(h, 'fresh.txt', 'in the new folder');
    await waitUntil(() => h!.engine.fileIdOf('fresh.txt') !== null, 10_000, 'fresh.txt synced from the new folder');
  });

  it('a corrupt or foreign index file gives an IndexError naming the file and the rebuild command; adopt rebuilds it without uploading', async () => {
    h = await createHarness({ watch: false });
    for (let i = 0; i < 5; i += 1) await put(h, `f${i}.txt`, `file ${i}`);
    await h.engine.start();
    await h.engine.onIdle();
    await h.stopEngine();
    const file = path.join(h.stateDir, 'index.sqlite');
    const { IndexStore } = await import('../../src/store/store.js');
    const { IndexError } = await import('../../src/errors.js');
    const Database = (await import('better-sqlite3')).default;
    const variants: [string, () => void, string][] = [
      ['garbage', () => writeFileSync(file, Buffer.from('this is not a database '.repeat(100))), 'E_INDEX_CORRUPT'],
      ['truncated', () => writeFileSync(file, Buffer.from('SQLite format 3\0').subarray(0, 16)), 'E_INDEX_CORRUPT'],
      [
        'foreign',
        () => {
          const db = new Database(file);
          db.exec('CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)');
          db.close();
        },
        'E_INDEX_FOREIGN',
      ],
    ];
    for (const [what, make, code] of variants) {
      for (const s of ['', '-wal', '-shm']) rmSync(file + s, { force: true });
      make();
      let err: unknown;
      try {
        IndexStore.open(file).close();
      } catch (e) {
        err = e;
      }
      expect(err, what).toBeInstanceOf(IndexError);
      expect((err as InstanceType<typeof IndexError>).code, what).toBe(code);
      expect((err as Error).message, what).toContain(file);
      expect((err as InstanceType<typeof IndexError>).hint, what).toContain('claude-filesync reconcile --adopt');
    }
    // The documented rebuild: move the bad file away, reconcile with adopt.
    for (const s of ['', '-wal', '-shm']) rmSync(file + s, { force: true });
    h.emulator.resetStats();
    await h.restartWithoutStart();
    const report = await h.engine.reconcile({ adopt: true });
    expect(report.adopted).toHaveLength(5);
    expect(h.emulator.stats().byRoute.upload).toBe(0);
    expect(await checkInvariants(h)).toEqual([]);
  });
});
