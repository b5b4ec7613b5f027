import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IndexStore } from '../../src/store/store.js';
import { snapshotFromScan } from '../../src/reconcile/listing.js';
import { createIgnoreMatcher } from '../../src/scan/ignore.js';
import { scanTree, type ScanOptions } from '../../src/scan/scanner.js';

let root: string;
let store: IndexStore;

function options(extra: Partial<ScanOptions> = {}): ScanOptions {
  return {
    matcher: createIgnoreMatcher({ ignore: [], include: [] }),
    followSymlinks: false,
    maxFileBytes: 1024 * 1024,
    lookup: store.localLookup(),
    now: () => 1_800_000_000_000,
    ...extra,
  };
}

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'cfs-unchanged-rows-'));
  store = IndexStore.open(':memory:');
  mkdirSync(join(root, 'd'));
  // Old mtimes: a hash taken right after a write is not trusted (racily clean), so is not reused.
  for (const name of ['a.txt', 'd/b.txt', 'd/c.txt', 'e.txt']) {
    writeFileSync(join(root, name), `content of ${name}`);
    utimesSync(join(root, name), 1_700_000_000, 1_700_000_000);
  }
  // Index every file as the scan sees it, then change one and add one.
  store.observeMany((await scanTree(root, options())).files);
  writeFileSync(join(root, 'd/c.txt'), 'changed content');
  writeFileSync(join(root, 'new.txt'), 'new');
});

afterEach(() => {
  store.close();
  rmSync(root, { recursive: true, force: true });
});

describe('scanTree with unchangedAsRows', () => {
  it('keeps unchanged files as their rows, keyed by the row path string, and the rest as observations', async () => {
    const scan = await scanTree(root, options({ unchangedAsRows: true }));
    expect(scan.files.map((f) => f.path)).toEqual(['d/c.txt', 'new.txt']);
    expect([...scan.unchanged.keys()].sort()).toEqual(['a.txt', 'd/b.txt', 'e.txt']);
    const lookup = store.localLookup();
    for (const [path, row] of scan.unchanged) expect(row).toBe(lookup(path));
    expect(scan.stats.unchanged).toBe(3);
  });

  it('gives the planner the same local files as a scan of observations', async () => {
    const plain = snapshotFromScan(await scanTree(root, options()));
    const compact = snapshotFromScan(await scanTree(root, options({ unchangedAsRows: true })));
    expect(compact.files.size).toBe(plain.files.size);
    for (const [path, obs] of plain.files) {
      expect(compact.files.has(path)).toBe(true);
      expect(compact.files.get(path)).toEqual(obs);
    }
    expect(new Map(compact.files)).toEqual(plain.files);
    expect(new Map([...compact.files.values()].map((o) => [o.path, o]))).toEqual(plain.files);
    expect(compact.files.get('missing.txt')).toBeUndefined();
    expect(compact.files.has('missing.txt')).toBe(false);
  });
});
