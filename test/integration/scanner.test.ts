import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IndexStore } from '../../src/store/store.js';
import { checkPath } from '../../src/scan/check-path.js';
import { hashFile, type HashFunction } from '../../src/scan/hash.js';
import { ownReason } from '../../src/scan/own-files.js';
import { createIgnoreMatcher } from '../../src/scan/ignore.js';
import { scanTree, type ScanOptions } from '../../src/scan/scanner.js';

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

let root: string;
let outside: string;

function put(rel: string, content: string | Buffer): void {
  const abs = join(root, rel);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, content);
}

/** A hash function that records every path it reads. */
function spyHash(inner: HashFunction = hashFile): HashFunction & { calls: string[] } {
  const calls: string[] = [];
  const fn = (async (p, o) => {
    calls.push(p);
    return inner(p, o);
  }) as HashFunction & { calls: string[] };
  fn.calls = calls;
  return fn;
}

function options(extra: Partial<ScanOptions> = {}): ScanOptions {
  return {
    matcher: createIgnoreMatcher({
      ignore: ['*.log'],
      include: [],
      own: {
        relPaths: [{ rel: '.state', dir: true, reason: ownReason('the state directory') }],
        identityReason: () => null,
      },
    }),
    followSymlinks: false,
    maxFileBytes: 1024 * 1024,
    lookup: () => undefined,
    ...extra,
  };
}

function hasMkfifo(): boolean {
  try {
    execFileSync('mkfifo', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cfs-scan-'));
  outside = mkdtempSync(join(tmpdir(), 'cfs-outside-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe('scanTree', () => {
  it('finds nested files with relative paths and hashes, and reports what it skipped', async () => {
    put('a.txt', 'alpha');
    put('empty', '');
    put('docs/2026/q3.pdf', 'pdf bytes');
    put('docs/.DS_Store', 'junk');
    put('logs/x.log', 'log');
    put('.git/config', 'git');
    put('.git/objects/aa/bb', 'object');
    put('.state/index.sqlite', 'state');
    const r = await scanTree(root, options());
    expect(r.rootMissing).toBe(false);
    expect(r.files).toEqual([
      {
        path: 'a.txt',
        size: 5,
        mtimeMs: statSync(join(root, 'a.txt')).mtimeMs,
        ino: statSync(join(root, 'a.txt')).ino,
        ctimeMs: statSync(join(root, 'a.txt')).ctimeMs,
        sha256: sha('alpha'),
        hashedAt: expect.any(Number),
      },
      expect.objectContaining({ path: 'docs/2026/q3.pdf', size: 9, sha256: sha('pdf bytes') }),
      expect.objectContaining({ path: 'empty', size: 0, sha256: sha('') }),
    ]);
    expect(r.skipped.map((s) => [s.path, s.reason, s.kind])).toEqual([
      ['.git', 'ignored by default pattern ".git/"', 'directory'],
      ['.state', 'ignored: it is the state directory of claude-filesync', 'directory'],
      ['docs/.DS_Store', 'ignored by default pattern ".DS_Store"', 'file'],
      ['logs/x.log', 'ignored by pattern "*.log"', 'file'],
    ]);
    expect(r.errors).toEqual([]);
    expect(r.unreadableDirs).toEqual([]);
    expect(r.stats).toMatchObject({ hashed: 3, unchanged: 0, bytesRead: 14 });
  });

  it('does not read unchanged files again: same size, mtime and inode reuse the indexed hash', async () => {
    put('same.txt', 'original');
    put('dir/other.txt', 'other');
    const abs = join(root, 'same.txt');
    // Whole seconds, so that setting the same mtime again later is exact; long ago, so that the
    // hashes are not racy (see the next test).
    utimesSync(abs, 1_700_000_000, 1_700_000_000);
    utimesSync(join(root, 'dir/other.txt'), 1_700_000_000, 1_700_000_000);
    const store = IndexStore.open(':memory:');
    const first = await scanTree(root, options({ lookup: store.localLookup() }));
    store.observeMany(first.files);

    // Untouched since (size, mtime, inode and ctime as indexed): not read.
    const hash = spyHash();
    const second = await scanTree(root, options({ lookup: store.localLookup(), hash }));
    expect(hash.calls).toEqual([]);
    expect(second.stats).toMatchObject({ unchanged: 2, hashed: 0, bytesRead: 0 });
    expect(second.files.find((f) => f.path === 'same.txt')?.sha256).toBe(sha('original'));
    writeFileSync(abs, 'ORIGINAL');

    // A new mtime makes it read again, and the new content shows.
    utimesSync(abs, 1_700_000_000, 1_700_000_005);
    const third = await scanTree(root, options({ lookup: (p) => store.get(p), hash }));
    expect(hash.calls).toEqual([abs]);
    expect(third.files.find((f) => f.path === 'same.txt')?.sha256).toBe(sha('ORIGINAL'));
    store.close();
  });

  it('reads again a same-stat rewrite (cp -p, touch -r): same size, mtime and inode, but a new ctime', async () => {
    put('same.txt', 'original');
    const abs = join(root, 'same.txt');
    utimesSync(abs, 1_700_000_000, 1_700_000_000);
    const store = IndexStore.open(':memory:');
    store.observeMany((await scanTree(root, options({ lookup: store.localLookup() }))).files);

    // Rewrite the content in place (same size, same inode) and put the old mtime back.
    const before = statSync(abs);
    writeFileSync(abs, 'ORIGINAL');
    utimesSync(abs, 1_700_000_000, 1_700_000_000);
    const after = statSync(abs);
    expect([after.ino, after.size, after.mtimeMs]).toEqual([before.ino, before.size, before.mtimeMs]);

    const hash = spyHash();
    const second = await scanTree(root, options({ lookup: store.localLookup(), hash }));
    expect(hash.calls).toEqual([abs]);
    expect(second.files.find((f) => f.path === 'same.txt')).toMatchObject({
      sha256: sha('ORIGINAL'),
      ctimeMs: after.ctimeMs,
    });
    store.close();
  });

  it('hashes every file once more with rehash, even untouched ones', async () => {
    put('a.txt', 'alpha');
    utimesSync(join(root, 'a.txt'), 1_700_000_000, 1_700_000_000);
    const store = IndexStore.open(':memory:');
    store.observeMany((await scanTree(root, options({ lookup: store.localLookup() }))).files);
    const hash = spyHash();
    await scanTree(root, options({ lookup: store.localLookup(), hash }));
    expect(hash.calls).toEqual([]);
    const forced = await scanTree(root, options({ lookup: store.localLookup(), hash, rehash: true }));
    expect(hash.calls).toEqual([join(root, 'a.txt')]);
    expect(forced.stats).toMatchObject({ hashed: 1, unchanged: 0 });
    store.close();
  });

  it('reads once more a file hashed within one mtime tick of its mtime (a write in that tick could hide)', async () => {
    put('fresh.txt', 'v1');
    utimesSync(join(root, 'fresh.txt'), 1_700_000_000.25, 1_700_000_000.25);
    const mtimeMs = statSync(join(root, 'fresh.txt')).mtimeMs;
    const store = IndexStore.open(':memory:');
    store.observeMany((await scanTree(root, options({ now: () => mtimeMs + 20 }))).files);
    expect(store.get('fresh.txt')?.hashedAt).toBe(mtimeMs + 20);

    const hash = spyHash();
    const again = await scanTree(root, options({ lookup: store.localLookup(), hash, now: () => mtimeMs + 5_000 }));
    expect(hash.calls).toEqual([join(root, 'fresh.txt')]);
    store.observeMany(again.files);
    expect(store.get('fresh.txt')?.hashedAt).toBe(mtimeMs + 5_000);

    await scanTree(root, options({ lookup: store.localLookup(), hash }));
    expect(hash.calls).toHaveLength(1);

    // Whole-second mtimes (FAT, HFS+) get a 2 s window.
    utimesSync(join(root, 'fresh.txt'), 1_700_000_100, 1_700_000_100);
    store.observeMany((await scanTree(root, options({ now: () => 1_700_000_101_000 }))).files);
    await scanTree(root, options({ lookup: store.localLookup(), hash }));
    expect(hash.calls).toHaveLength(2);
    store.close();
  });

  it('reads a file again when its inode changed (replaced by rename) even with equal size and mtime', async () => {
    put('f.txt', 'aaaa');
    const store = IndexStore.open(':memory:');
    store.observeMany((await scanTree(root, options())).files);
    const abs = join(root, 'f.txt');
    utimesSync(abs, 1_700_000_000, 1_700_000_000);
    store.observeMany((await scanTree(root, options())).files);
    const old = statSync(abs);
    put('f.tmp2', 'bbbb');
    execFileSync('mv', [join(root, 'f.tmp2'), abs]);
    utimesSync(abs, 1_700_000_000, 1_700_000_000);
    expect(statSync(abs).mtimeMs).toBe(old.mtimeMs);
    expect(statSync(abs).ino).not.toBe(old.ino);
    const r = await scanTree(root, options({ lookup: store.localLookup() }));
    expect(r.files[0]?.sha256).toBe(sha('bbbb'));
    store.close();
  });

  it('skips symlinks by default and never reads their targets', async () => {
    writeFileSync(join(outside, 'secret.txt'), 'secret');
    put('real.txt', 'real');
    symlinkSync(join(outside, 'secret.txt'), join(root, 'to-outside.txt'));
    symlinkSync(outside, join(root, 'outside-dir'));
    symlinkSync('real.txt', join(root, 'to-real.txt'));
    const hash = spyHash();
    const r = await scanTree(root, options({ hash }));
    expect(r.files.map((f) => f.path)).toEqual(['real.txt']);
    expect(r.skipped.map((s) => [s.path, s.reason, s.kind])).toEqual([
      ['outside-dir', 'a symbolic link (not followed)', 'symlink'],
      ['to-outside.txt', 'a symbolic link (not followed)', 'symlink'],
      ['to-real.txt', 'a symbolic link (not followed)', 'symlink'],
    ]);
    expect(hash.calls.every((p) => !p.startsWith(outside))).toBe(true);
  });

  it('with followSymlinks follows links inside the folder only', async () => {
    writeFileSync(join(outside, 'secret.txt'), 'secret');
    put('real.txt', 'real');
    put('sub/inner.txt', 'inner');
    symlinkSync(join(outside, 'secret.txt'), join(root, 'to-outside.txt'));
    symlinkSync(outside, join(root, 'outside-dir'));
    symlinkSync('real.txt', join(root, 'to-real.txt'));
    symlinkSync('sub', join(root, 'sub-link'));
    symlinkSync('nowhere', join(root, 'dangling'));
    const hash = spyHash();
    const r = await scanTree(root, options({ hash, followSymlinks: true }));
    expect(r.files.map((f) => [f.path, f.sha256])).toEqual([
      ['real.txt', sha('real')],
      ['sub-link/inner.txt', sha('inner')],
      ['sub/inner.txt', sha('inner')],
      ['to-real.txt', sha('real')],
    ]);
    expect(r.skipped.map((s) => [s.path, s.reason])).toEqual([
      ['dangling', 'a broken symbolic link'],
      ['outside-dir', 'a symbolic link to outside the folder (not followed)'],
      ['to-outside.txt', 'a symbolic link to outside the folder (not followed)'],
    ]);
    expect(hash.calls.filter((p) => p.startsWith(outside))).toEqual([]);
  });

  it('with followSymlinks detects loops and ends', async () => {
    put('a/file.txt', 'a');
    put('b/file.txt', 'b');
    symlinkSync('..', join(root, 'a', 'up')); // to the root: contains itself
    symlinkSync('../b', join(root, 'a', 'to-b'));
    symlinkSync('../a', join(root, 'b', 'to-a')); // a -> b -> a
    symlinkSync('self', join(root, 'self')); // ELOOP
    const r = await scanTree(root, options({ followSymlinks: true }));
    expect(r.skipped.map((s) => [s.path, s.reason])).toEqual([
      ['a/to-b/to-a', 'a symbolic link loop (it points to a folder that contains it)'],
      ['a/up', 'a symbolic link loop (it points to a folder that contains it)'],
      ['b/to-a/to-b', 'a symbolic link loop (it points to a folder that contains it)'],
      ['b/to-a/up', 'a symbolic link loop (it points to a folder that contains it)'],
      ['self', 'a symbolic link loop'],
    ]);
    expect(r.files.map((f) => f.path)).toEqual(['a/file.txt', 'a/to-b/file.txt', 'b/file.txt', 'b/to-a/file.txt']);
  });

  it.runIf(hasMkfifo())('skips a fifo without opening it', async () => {
    put('ok.txt', 'ok');
    execFileSync('mkfifo', [join(root, 'pipe')]);
    const r = await scanTree(root, options());
    expect(r.files.map((f) => f.path)).toEqual(['ok.txt']);
    expect(r.skipped).toMatchObject([{ path: 'pipe', reason: 'a named pipe (fifo)', kind: 'special' }]);
  });

  it('skips a file over the size limit without reading it, naming size and limit', async () => {
    put('small.bin', Buffer.alloc(10));
    put('big.bin', Buffer.alloc(11));
    const hash = spyHash();
    const r = await scanTree(root, options({ hash, maxFileBytes: 10 }));
    expect(r.files.map((f) => f.path)).toEqual(['small.bin']);
    expect(r.skipped).toEqual([
      expect.objectContaining({
        path: 'big.bin',
        size: 11,
        kind: 'file',
        reason: expect.stringMatching(/too large: .*11 bytes.*limit.*10 bytes/),
      }),
    ]);
    expect(hash.calls).toEqual([join(root, 'small.bin')]);
  });

  it('reports an unreadable file as an error and goes on with the others', async () => {
    put('good.txt', 'good');
    put('locked.txt', 'locked');
    // Tests run as root, where chmod 000 does not stop reads: the open is refused by injection.
    const hash: HashFunction = async (p, o) => {
      if (p.endsWith('locked.txt'))
        throw Object.assign(new Error(`EACCES: permission denied, open '${p}'`), { code: 'EACCES' });
      return hashFile(p, o);
    };
    const r = await scanTree(root, options({ hash }));
    expect(r.files.map((f) => f.path)).toEqual(['good.txt']);
    expect(r.errors).toEqual([{ path: 'locked.txt', error: expect.stringMatching(/^EACCES: permission denied/) }]);
  });

  it.runIf(process.getuid?.() !== 0)('reports a folder it cannot list (not as root)', async () => {
    put('open/a.txt', 'a');
    put('closed/b.txt', 'b');
    execFileSync('chmod', ['000', join(root, 'closed')]);
    try {
      const r = await scanTree(root, options());
      expect(r.unreadableDirs).toEqual(['closed']);
      expect(r.files.map((f) => f.path)).toEqual(['open/a.txt']);
    } finally {
      execFileSync('chmod', ['755', join(root, 'closed')]);
    }
  });

  it('drops a file that vanishes before it is read', async () => {
    put('stays.txt', 's');
    put('goes.txt', 'g');
    const hash: HashFunction = async (p, o) => {
      if (p.endsWith('goes.txt')) unlinkSync(p);
      return hashFile(p, o);
    };
    const r = await scanTree(root, options({ hash }));
    expect(r.files.map((f) => f.path)).toEqual(['stays.txt']);
    expect(r.errors).toEqual([]);
  });

  it('reads again a file that changed while it was read, and records the final content', async () => {
    put('growing.txt', 'part one');
    let calls = 0;
    const hash: HashFunction = async (p, o) => {
      const result = await hashFile(p, o);
      if (++calls === 1) {
        appendFileSync(p, ' and part two');
        utimesSync(p, new Date(), new Date(Date.now() + 10_000));
      }
      return result;
    };
    const r = await scanTree(root, options({ hash }));
    expect(calls).toBe(2);
    const st = statSync(join(root, 'growing.txt'));
    expect(r.files).toEqual([
      {
        path: 'growing.txt',
        size: st.size,
        mtimeMs: st.mtimeMs,
        ino: st.ino,
        ctimeMs: st.ctimeMs,
        sha256: sha('part one and part two'),
        hashedAt: expect.any(Number),
      },
    ]);
  });

  it('says the root is missing instead of reporting no files', async () => {
    expect(await scanTree(join(root, 'nope'), options())).toMatchObject({ rootMissing: true, files: [] });
    put('file', 'x');
    expect((await scanTree(join(root, 'file'), options())).rootMissing).toBe(true);
  });

  it('walks a very deep tree without recursion limits', async () => {
    const depth = 300;
    const rel = Array.from({ length: depth }, () => 'd').join('/');
    put(`${rel}/deep.txt`, 'deep');
    const r = await scanTree(root, options({ statMode: 'parallel' }));
    expect(r.files.map((f) => f.path)).toEqual([`${rel}/deep.txt`]);
  });

  for (const statMode of ['sync', 'parallel'] as const) {
    it(`gives the same result stat'ing ${statMode === 'sync' ? 'in time slices' : 'in parallel batches'}`, async () => {
      for (let d = 0; d < 20; d++) for (let f = 0; f < 30; f++) put(`d${d}/f${f}.txt`, `${d}-${f}`);
      symlinkSync('d1', join(root, 'link'));
      const r = await scanTree(root, options({ statMode, followSymlinks: true }));
      expect(r.files).toHaveLength(630);
      expect(r.files[0]).toMatchObject({ path: 'd0/f0.txt', sha256: sha('0-0') });
      expect(r.files.filter((f) => f.path.startsWith('link/'))).toHaveLength(30);
      expect(r.stats).toMatchObject({ filesSeen: 630, hashed: 630 });
    });
  }

  it('reports progress as it goes, ending with the final counts', async () => {
    for (let f = 0; f < 5; f++) put(`d/f${f}`, 'x');
    const seen: number[] = [];
    const r = await scanTree(root, options({ onProgress: (s) => seen.push(s.hashed) }));
    expect(seen.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...seen)).toBe(5);
    expect(r.stats).toEqual({ filesSeen: 5, hashed: 5, bytesRead: 5, unchanged: 0 });
  });

  it('stops when aborted', async () => {
    for (let f = 0; f < 50; f++) put(`f${f}`, 'x');
    const ac = new AbortController();
    ac.abort();
    await expect(scanTree(root, options({ signal: ac.signal }))).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('checkPath', () => {
  const opts = (extra: Partial<ScanOptions> = {}) => {
    const { lookup: _ignored, ...rest } = options(extra);
    return rest;
  };

  it('observes a file and reuses the row hash when nothing changed', async () => {
    put('dir/a.txt', 'hello');
    utimesSync(join(root, 'dir/a.txt'), 1_700_000_000, 1_700_000_000);
    const first = await checkPath(root, 'dir/a.txt', opts());
    expect(first).toMatchObject({ kind: 'file', obs: { path: 'dir/a.txt', size: 5, sha256: sha('hello') } });
    if (first.kind !== 'file') throw new Error('unreachable');
    const store = IndexStore.open(':memory:');
    const row = store.observe(first.obs);
    const hash = spyHash();
    expect(await checkPath(root, 'dir/a.txt', opts({ hash }), row)).toEqual({
      kind: 'file',
      obs: { ...first.obs, hashedAt: undefined },
    });
    expect(hash.calls).toEqual([]);
    store.close();
  });

  it('says missing for a removed file, and error (never missing) when the root is gone', async () => {
    expect(await checkPath(root, 'gone.txt', opts())).toEqual({ kind: 'missing' });
    expect(await checkPath(root, 'no/such/dir.txt', opts())).toEqual({ kind: 'missing' });
    const r = await checkPath(join(root, 'unmounted'), 'a.txt', opts());
    expect(r).toMatchObject({ kind: 'error', error: expect.stringMatching(/missing/) });
  });

  it('applies ignore rules, including to paths inside ignored folders', async () => {
    put('x.log', 'l');
    put('.git/HEAD', 'ref');
    put('.state/index.sqlite', 's');
    expect(await checkPath(root, 'x.log', opts())).toMatchObject({
      kind: 'skipped',
      reason: 'ignored by pattern "*.log"',
    });
    expect(await checkPath(root, '.git/HEAD', opts())).toMatchObject({ kind: 'skipped', reason: /\.git/ });
    expect(await checkPath(root, '.state/index.sqlite', opts())).toMatchObject({
      kind: 'skipped',
      reason: /state directory/,
    });
  });

  it('skips symlinks, paths inside symlinked folders, folders, fifos and large files', async () => {
    writeFileSync(join(outside, 'secret.txt'), 'secret');
    symlinkSync(join(outside, 'secret.txt'), join(root, 'link.txt'));
    symlinkSync(outside, join(root, 'out'));
    put('folder/x', 'x');
    put('big', Buffer.alloc(2000));
    const hash = spyHash();
    expect(await checkPath(root, 'link.txt', opts({ hash }))).toMatchObject({
      kind: 'skipped',
      reason: 'a symbolic link (not followed)',
    });
    expect(await checkPath(root, 'out/secret.txt', opts({ hash }))).toMatchObject({
      kind: 'skipped',
      reason: /inside a symbolic link/,
    });
    expect(await checkPath(root, 'out/secret.txt', opts({ hash, followSymlinks: true }))).toMatchObject({
      kind: 'skipped',
      reason: /outside the folder/,
    });
    expect(await checkPath(root, 'link.txt', opts({ hash, followSymlinks: true }))).toMatchObject({
      kind: 'skipped',
      reason: /outside the folder/,
    });
    expect(await checkPath(root, 'folder', opts())).toMatchObject({
      kind: 'skipped',
      reason: 'a directory, not a file',
    });
    expect(await checkPath(root, 'big', opts({ maxFileBytes: 1000 }))).toMatchObject({
      kind: 'skipped',
      size: 2000,
      reason: /too large/,
    });
    if (hasMkfifo()) {
      execFileSync('mkfifo', [join(root, 'pipe')]);
      expect(await checkPath(root, 'pipe', opts())).toMatchObject({ kind: 'skipped', reason: 'a named pipe (fifo)' });
    }
    expect(hash.calls).toEqual([]);
  });

  it('follows a link inside the folder when asked', async () => {
    put('sub/real.txt', 'real');
    symlinkSync('sub', join(root, 'alias'));
    expect(await checkPath(root, 'alias/real.txt', opts({ followSymlinks: true }))).toMatchObject({
      kind: 'file',
      obs: { path: 'alias/real.txt', sha256: sha('real') },
    });
  });

  it('refuses paths that are not plain relative paths', async () => {
    for (const p of ['', '/etc/passwd', '../x', 'a/../../x', 'a//b', './a']) {
      expect(await checkPath(root, p, opts())).toMatchObject({ kind: 'error' });
    }
  });

  it('reports an unreadable file as an error', async () => {
    put('locked', 'l');
    const hash: HashFunction = async () => {
      throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    };
    expect(await checkPath(root, 'locked', opts({ hash }))).toEqual({
      kind: 'error',
      error: 'EACCES: permission denied',
    });
  });
});
