import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { IgnoreMatcher } from '../../src/scan/ignore.js';
import { checkListable, walkTree, type SkippedEntry } from '../../src/scan/walk.js';

const temps: string[] = [];
afterEach(() => {
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

function tempRoot(): string {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'walk-from-')));
  temps.push(dir);
  return dir;
}

const ignoringSkip: IgnoreMatcher = {
  check: (rel) => (rel.endsWith('/skip') ? 'ignored' : null),
  ownIdentity: () => null,
};

describe('a walk of one folder (walkTree from)', () => {
  it('reports paths relative to the root, only under the folder, with the scan rules for ignores and links', async () => {
    const root = tempRoot();
    mkdirSync(path.join(root, 'new/sub/skip'), { recursive: true });
    mkdirSync(path.join(root, 'other'));
    writeFileSync(path.join(root, 'top.txt'), 'x');
    writeFileSync(path.join(root, 'other/o.txt'), 'x');
    writeFileSync(path.join(root, 'new/a.txt'), 'x');
    writeFileSync(path.join(root, 'new/sub/b.txt'), 'x');
    writeFileSync(path.join(root, 'new/sub/skip/c.txt'), 'x');
    symlinkSync('/etc', path.join(root, 'new/out'));
    const files: string[] = [];
    const skipped: SkippedEntry[] = [];
    await walkTree(
      root,
      { matcher: ignoringSkip, followSymlinks: true, from: 'new' },
      {
        file: (rel) => files.push(rel),
        skipped: (e) => skipped.push(e),
        unreadableDir: () => {},
        error: () => {},
      },
    );
    expect(files.sort()).toEqual(['new/a.txt', 'new/sub/b.txt']);
    expect(skipped.map((e) => [e.path, e.kind]).sort()).toEqual([
      ['new/out', 'symlink'],
      ['new/sub/skip', 'directory'],
    ]);
  });
});

describe('can this folder be listed (checkListable)', () => {
  it('a folder can; a missing path or a file is gone', async () => {
    const root = tempRoot();
    writeFileSync(path.join(root, 'f'), 'x');
    expect(await checkListable(root)).toEqual({ listable: true });
    expect(await checkListable(path.join(root, 'missing'))).toMatchObject({ listable: false, gone: true });
    expect(await checkListable(path.join(root, 'f', 'below'))).toMatchObject({ listable: false, gone: true });
  });
});
