import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FilesApi } from '../../src/api/types.js';
import type { FileMetadata } from '../../src/files-api/wire.js';
import { IndexStore } from '../../src/store/store.js';
import { LISTING_PAGE, listRemote, type ListingSink } from '../../src/reconcile/listing.js';

const file = (i: number, createdAt = 1000 + i) => ({
  id: `file_${String(i).padStart(4, '0')}`,
  filename: `f${i}.txt`,
  size: i,
  createdAt,
  expiresAt: i % 2 ? null : 5000 + i,
  mimeType: i % 3 ? 'text/plain' : null,
});

describe('the listing table', () => {
  let store: IndexStore | null = null;
  afterEach(() => store?.close());

  it('answers by id, counts distinct ids, and lists every file once', () => {
    store = IndexStore.open(':memory:');
    const t = store.listingTable();
    t.add([file(3, 30), file(1, 10)]);
    t.add([file(2, 20), { ...file(3, 30), filename: 'renamed.txt' }]);
    expect(t.size).toBe(3);
    expect(t.has('file_0002')).toBe(true);
    expect(t.has('file_0009')).toBe(false);
    expect(t.get('file_0003')).toEqual({ ...file(3, 30), filename: 'renamed.txt' });
    expect(t.get('file_0001')).toEqual(file(1, 10));
    expect(t.get('file_0009')).toBeUndefined();
    expect([...t.values()].map((f) => f.id).sort()).toEqual(['file_0001', 'file_0002', 'file_0003']);
  });

  it('answers by name (several copies may share one), also after a new pass starts', () => {
    store = IndexStore.open(':memory:');
    const t = store.listingTable();
    t.add([file(1), file(2), { ...file(3), filename: 'f1.txt' }]);
    expect(
      t
        .named('f1.txt')
        .map((f) => f.id)
        .sort(),
    ).toEqual(['file_0001', 'file_0003']);
    expect(t.named('nope.txt')).toEqual([]);
    const next = store.listingTable();
    next.add([file(5)]);
    expect(next.named('f1.txt')).toEqual([]);
    expect(next.named('f5.txt')).toEqual([file(5)]);
  });

  it('a new table starts empty, and clear empties it', () => {
    store = IndexStore.open(':memory:');
    store.listingTable().add([file(1), file(2)]);
    const t = store.listingTable();
    expect(t.size).toBe(0);
    t.add([file(1)]);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.has('file_0001')).toBe(false);
  });

  it('lives outside the index file: a read-only connection holds one too', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cfs-listing-'));
    try {
      IndexStore.open(path.join(dir, 'index.sqlite')).close();
      store = IndexStore.open(path.join(dir, 'index.sqlite'), { readonly: true });
      const t = store.listingTable();
      t.add([file(1)]);
      expect(t.get('file_0001')).toEqual(file(1));
    } finally {
      store?.close();
      store = null;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('listRemote', () => {
  const meta = (i: number): FileMetadata =>
    ({
      type: 'file',
      id: `file_${i}`,
      filename: `f${i}.txt`,
      size_bytes: i,
      mime_type: 'text/plain',
      created_at: new Date(1000 + i).toISOString(),
      downloadable: false,
    }) as FileMetadata;

  it('hands the listing to its sink a page at a time, never holding more than one page', async () => {
    const total = LISTING_PAGE * 2 + 500;
    const pages: number[] = [];
    let handed = 0;
    const sink: ListingSink = {
      add(files) {
        pages.push(files.length);
        handed += files.length;
      },
    };
    const client = {
      async *list(options: { limit?: number }) {
        expect(options.limit).toBe(LISTING_PAGE);
        for (let i = 0; i < total; i++) {
          // Before the first file of each page is read, every earlier page is in the sink.
          if (i % LISTING_PAGE === 0) expect(handed).toBe(i);
          yield meta(i);
        }
      },
    } as unknown as FilesApi;
    expect(await listRemote(client, sink)).toBe(sink);
    expect(pages).toEqual([LISTING_PAGE, LISTING_PAGE, 500]);
  });

  it("keeps only the planner's fields of each file", async () => {
    const store = IndexStore.open(':memory:');
    try {
      const client = {
        async *list() {
          yield { ...meta(7), expires_at: new Date(9000).toISOString(), extra: 'x'.repeat(1000) };
        },
      } as unknown as FilesApi;
      const t = await listRemote(client, store.listingTable());
      expect(t.get('file_7')).toEqual({
        id: 'file_7',
        filename: 'f7.txt',
        size: 7,
        createdAt: 1007,
        expiresAt: 9000,
        mimeType: 'text/plain',
      });
    } finally {
      store.close();
    }
  });
});
