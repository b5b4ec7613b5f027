import { describe, expect, test } from 'vitest';
import { FileTable, type Entry } from '../../src/emulator/store/file-table.js';
import {
  ListQueryError,
  decodePageCursor,
  encodePageCursor,
  parseListQuery,
  runListQuery,
  type ListMode,
} from '../../src/emulator/server/list-query.js';
import type { StoredFile } from '../../src/emulator/emulator-types.js';

function entry(n: number): Entry {
  const file: StoredFile = {
    id: `file_${String(n).padStart(24, '0')}`,
    type: 'file',
    filename: `f${n}.txt`,
    mime_type: 'text/plain',
    size_bytes: n,
    created_at: new Date(n).toISOString(),
    downloadable: false,
    expires_at: null,
    sha256: '',
  };
  return { file, micros: n, expiresMicros: null };
}

/** A table of files 1..n (n is the newest). */
function table(n: number): FileTable {
  const t = new FileTable();
  for (let i = 1; i <= n; i++) t.insert(entry(i));
  return t;
}

const id = (n: number): string => `file_${String(n).padStart(24, '0')}`;

function list(t: FileTable, query: string, mode: ListMode): any {
  return runListQuery(t, parseListQuery(new URLSearchParams(query), mode), mode, (e) => ({ ...e.file }));
}

const ids = (body: any): number[] => body.data.map((f: { size_bytes: number }) => f.size_bytes);

describe('beta list', () => {
  const t = table(10);

  test('first page is the newest, with has_more and first/last ids', () => {
    const body = list(t, 'limit=3', 'beta');
    expect(ids(body)).toEqual([10, 9, 8]);
    expect(body).toMatchObject({ has_more: true, first_id: id(10), last_id: id(8) });
    expect(body).not.toHaveProperty('next_page');
  });

  test('after_id walks to older files and has_more ends false', () => {
    expect(ids(list(t, `limit=3&after_id=${id(8)}`, 'beta'))).toEqual([7, 6, 5]);
    const last = list(t, `limit=3&after_id=${id(2)}`, 'beta');
    expect(ids(last)).toEqual([1]);
    expect(last.has_more).toBe(false);
  });

  test('before_id returns the newer files next to the cursor, newest first', () => {
    const body = list(t, `limit=3&before_id=${id(3)}`, 'beta');
    expect(ids(body)).toEqual([6, 5, 4]);
    expect(body).toMatchObject({ has_more: true, first_id: id(6), last_id: id(4) });
    const top = list(t, `limit=3&before_id=${id(8)}`, 'beta');
    expect(ids(top)).toEqual([10, 9]);
    expect(top.has_more).toBe(false);
  });

  test('an empty table lists nothing with null ids', () => {
    expect(list(new FileTable(), '', 'beta')).toEqual({ data: [], has_more: false, first_id: null, last_id: null });
  });

  test('a cursor naming a deleted file still pages from its position', () => {
    const t2 = table(5);
    t2.remove(id(3));
    expect(ids(list(t2, `after_id=${id(3)}`, 'beta'))).toEqual([2, 1]);
  });

  test('an unknown cursor id and both cursors together are refused', () => {
    expect(() => list(t, 'after_id=file_nope', 'beta')).toThrow(ListQueryError);
    expect(() => list(t, `after_id=${id(1)}&before_id=${id(2)}`, 'beta')).toThrow(/together/);
  });

  test('default limit is 20', () => {
    expect(list(table(30), '', 'beta').data).toHaveLength(20);
  });
});

describe('GA list', () => {
  const t = table(7);

  test('pages with an opaque page_ cursor until next_page is null', () => {
    const seen: number[] = [];
    let page: string | null = null;
    let rounds = 0;
    do {
      const body = list(t, `limit=3${page ? `&page=${page}` : ''}`, 'ga');
      expect(Object.keys(body).sort()).toEqual(['data', 'next_page']);
      seen.push(...ids(body));
      page = body.next_page;
      if (page) expect(page).toMatch(/^page_/);
      rounds++;
    } while (page);
    expect(seen).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect(rounds).toBe(3);
  });

  test('an exact last page has next_page null', () => {
    expect(list(table(3), 'limit=3', 'ga').next_page).toBeNull();
  });

  test('ids[] returns one page newest first, skipping unknown and deleted ids', () => {
    const t2 = table(5);
    t2.remove(id(4));
    const body = list(t2, `ids[]=${id(2)}&ids[]=${id(5)}&ids[]=file_unknown&ids[]=${id(4)}&ids[]=${id(2)}`, 'ga');
    expect(ids(body)).toEqual([5, 2]);
    expect(body.next_page).toBeNull();
  });

  test.each([
    ['before_id=file_x', /not supported/],
    ['after_id=file_x', /not supported/],
    ['ids[]=a&page=page_x', /cannot be combined/],
    ['ids[]=a&limit=5', /cannot be combined/],
    [Array.from({ length: 101 }, (_, i) => `ids[]=f${i}`).join('&'), /at most 100/],
    ['limit=0', /limit/],
    ['limit=1001', /limit/],
    ['limit=abc', /limit/],
    ['page=bogus', /cursor/],
  ])('refuses %s', (query, why) => {
    expect(() => list(t, query, 'ga')).toThrow(why);
  });

  test('100 ids after de-duplication are fine', () => {
    const query = Array.from({ length: 150 }, (_, i) => `ids[]=f${i % 100}`).join('&');
    expect(list(t, query, 'ga').data).toEqual([]);
  });

  test('cursor encoding round-trips', () => {
    expect(decodePageCursor(encodePageCursor(1234567890123456))).toBe(1234567890123456);
  });
});

describe('managed-agents compatibility list', () => {
  const t = table(6);
  test('accepts after_id and returns the beta fields next to next_page', () => {
    const body = list(t, `limit=2&after_id=${id(5)}`, 'compat');
    expect(ids(body)).toEqual([4, 3]);
    expect(body).toMatchObject({ has_more: true, first_id: id(4), last_id: id(3) });
    expect(body.next_page).toMatch(/^page_/);
  });
  test('refuses after_id with page or ids[]', () => {
    expect(() => list(t, `after_id=${id(5)}&page=page_x`, 'compat')).toThrow(/cannot be combined/);
  });
});
