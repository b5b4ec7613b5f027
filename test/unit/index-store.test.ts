import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IndexError, type IndexErrorCode } from '../../src/errors.js';
import { APP_MARKER, APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from '../../src/store/migrations.js';
import { pathKeyOf } from '../../src/store/row-transitions.js';
import { IndexStore } from '../../src/store/store.js';
import type { RemoteCopy } from '../../src/store/types.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);

function remote(path: string, fileId: string, sha256: string, extra: Partial<RemoteCopy> = {}): RemoteCopy {
  return {
    path,
    fileId,
    remoteName: `${path}~${sha256.slice(0, 10)}`,
    size: 3,
    sha256,
    createdAt: 1000,
    expiresAt: null,
    ...extra,
  };
}

function expectIndexError(fn: () => unknown, code: IndexErrorCode, message: RegExp, file: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(IndexError);
  const e = caught as IndexError;
  expect(e.code).toBe(code);
  expect(e.message).toMatch(message);
  if (file) {
    expect(e.hint).toContain(file);
    expect(e.hint).toContain('claude-filesync reconcile --adopt');
  }
}

let clock = 0;
const now = (): number => ++clock;

describe('IndexStore rows', () => {
  let store: IndexStore;
  beforeEach(() => {
    clock = 0;
    store = IndexStore.open(':memory:', { now });
  });
  afterEach(() => store.close());

  it('keys rows by the sha256 of the path', () => {
    const row = store.observe({ path: 'dir/a.txt', size: 3, mtimeMs: 1.5, ino: 7, sha256: A });
    expect(row.pathKey).toBe(pathKeyOf('dir/a.txt'));
    expect(pathKeyOf('dir/a.txt')).toMatch(/^[0-9a-f]{64}$/);
    expect(store.get('dir/a.txt')).toEqual(row);
    expect(row.state).toBe('pending');
    expect(row.mtimeMs).toBe(1.5);
  });

  it('observe marks a row synced only when the remote copy holds the same content', () => {
    store.observe({ path: 'a', size: 3, mtimeMs: 1, ino: 1, sha256: A });
    const intent = store.recordIntent({ path: 'a', remoteName: 'a~aaaaaaaaaa', size: 3, sha256: A, startedAt: 5 });
    store.commitUpload(intent.id, remote('a', 'file_1', A));
    expect(store.get('a')?.state).toBe('synced');
    expect(store.observe({ path: 'a', size: 4, mtimeMs: 2, ino: 1, sha256: B }).state).toBe('pending');
    const back = store.observe({ path: 'a', size: 3, mtimeMs: 3, ino: 1, sha256: A });
    expect(back.state).toBe('synced');
    expect(back.fileId).toBe('file_1');
  });

  it('observe keeps attempts and error for unchanged content and resets them when it changes', () => {
    store.observe({ path: 'a', size: 3, mtimeMs: 1, ino: 1, sha256: A });
    store.markFailed('a', 'EACCES');
    store.markFailed('a', 'EACCES again');
    let row = store.observe({ path: 'a', size: 3, mtimeMs: 1, ino: 1, sha256: A });
    expect(row).toMatchObject({ state: 'pending', attempts: 2, lastError: 'EACCES again' });
    row = store.observe({ path: 'a', size: 3, mtimeMs: 2, ino: 1, sha256: B });
    expect(row).toMatchObject({ state: 'pending', attempts: 0, lastError: null });
  });

  it('keeps hashedAt while the content is the same and drops it when a hash comes without one', () => {
    store.observe({ path: 'a', size: 3, mtimeMs: 1, ino: 1, sha256: A, hashedAt: 10 });
    expect(store.observe({ path: 'a', size: 3, mtimeMs: 1, ino: 1, sha256: A }).hashedAt).toBe(10);
    expect(store.observe({ path: 'a', size: 3, mtimeMs: 2, ino: 1, sha256: B }).hashedAt).toBeNull();
    expect(store.markSkipped({ path: 'a', size: 3, mtimeMs: 2, ino: 1 }, 'ignored').hashedAt).toBeNull();
  });

  it('localLookup follows writes and removals made through the store', () => {
    const lookup = store.localLookup();
    expect(lookup('a')).toBeUndefined();
    store.observe({ path: 'a', size: 3, mtimeMs: 1, ino: 1, sha256: A, hashedAt: 5 });
    expect(lookup('a')).toMatchObject({ size: 3, mtimeMs: 1, ino: 1, sha256: A, hashedAt: 5, ctimeMs: null });
    store.removePath('a');
    expect(lookup('a')).toBeUndefined();
  });

  it('planRows holds each row once, compactly, in path order, shared with the scan lookup and never changed in place', () => {
    store.observe({ path: 'b', size: 3, mtimeMs: 1, ino: 1, sha256: A });
    store.observe({ path: 'a', size: 4, mtimeMs: 2, ino: 2, sha256: B, hashedAt: 7 });
    store.markFailed('b', 'boom');
    const lookup = store.localLookup();
    const before = store.planRows();
    expect(before.map((r) => r.path)).toEqual(store.all().map((r) => r.path));
    expect(before[0]).toBe(lookup('a'));
    for (const [i, full] of store.all().entries()) {
      const {
        path,
        size,
        mtimeMs,
        ino,
        sha256,
        state,
        fileId,
        remoteName,
        remoteSha256,
        remoteExpiresAt,
        skipReason,
        hashedAt,
        ctimeMs,
      } = full;
      expect(before[i]).toEqual({
        path,
        size,
        mtimeMs,
        ino,
        sha256,
        state,
        fileId,
        remoteName,
        remoteSha256,
        remoteExpiresAt,
        skipReason,
        hashedAt,
        ctimeMs,
      });
    }
    store.markPending('b');
    store.removePath('a');
    expect(store.planRows()).toEqual([expect.objectContaining({ path: 'b', state: 'pending' })]);
    expect(before.map((r) => [r.path, r.state])).toEqual([
      ['a', 'pending'],
      ['b', 'failed'],
    ]);
  });

  it('planRows stays in path order when a path is added after the rows were read', () => {
    store.observe({ path: 'b', size: 1, mtimeMs: 1, ino: 1, sha256: A });
    store.observe({ path: 'd', size: 1, mtimeMs: 1, ino: 2, sha256: A });
    expect(store.planRows().map((r) => r.path)).toEqual(['b', 'd']);
    store.observe({ path: 'a', size: 1, mtimeMs: 1, ino: 3, sha256: B });
    store.observe({ path: 'c', size: 1, mtimeMs: 1, ino: 4, sha256: B });
    store.observe({ path: 'b', size: 2, mtimeMs: 2, ino: 1, sha256: B });
    expect(store.planRows().map((r) => [r.path, r.size])).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 1],
      ['d', 1],
    ]);
  });

  it('planRowLookup finds exactly the rows planRows gives, and is null once a path was added after they were read', () => {
    store.observe({ path: 'b', size: 1, mtimeMs: 1, ino: 1, sha256: A });
    const rows = store.planRows();
    const rowOf = store.planRowLookup();
    expect(rowOf?.('b')).toBe(rows[0]);
    expect(rowOf?.('a')).toBeUndefined();
    store.observe({ path: 'a', size: 1, mtimeMs: 1, ino: 2, sha256: B });
    expect(store.planRowLookup()).toBeNull();
  });

  it('observe does not rewrite a row that did not change', () => {
    store.observe({ path: 'a', size: 3, mtimeMs: 1, ino: 1, sha256: A });
    const first = store.get('a')?.updatedAt;
    store.observeMany([{ path: 'a', size: 3, mtimeMs: 1, ino: 1, sha256: A }]);
    expect(store.get('a')?.updatedAt).toBe(first);
  });

  it('markSkipped keeps the old remote copy and observe clears the reason', () => {
    store.observe({ path: 'big', size: 3, mtimeMs: 1, ino: 1, sha256: A });
    store.adopt('big', remote('big', 'file_big', A));
    const skipped = store.markSkipped({ path: 'big', size: 10_000, mtimeMs: 2, ino: 1 }, 'too large');
    expect(skipped).toMatchObject({ state: 'skipped', skipReason: 'too large', fileId: 'file_big', sha256: null });
    expect(store.observe({ path: 'big', size: 3, mtimeMs: 3, ino: 1, sha256: A })).toMatchObject({
      state: 'synced',
      skipReason: null,
    });
  });

  it('markFailed counts attempts and creates a row for an unknown path', () => {
    store.markFailed('new', 'EIO', { size: 9, mtimeMs: 4, ino: 2 });
    store.markFailed('new', 'EIO');
    expect(store.get('new')).toMatchObject({ state: 'failed', attempts: 2, lastError: 'EIO', size: 9, sha256: null });
    store.markPending('new');
    expect(store.get('new')?.state).toBe('pending');
  });

  it('counts rows by state and iterates in path order', () => {
    store.observeMany([
      { path: 'b', size: 1, mtimeMs: 1, ino: 1, sha256: A },
      { path: 'a', size: 1, mtimeMs: 1, ino: 2, sha256: B },
    ]);
    store.markSkipped({ path: 'c', size: 1, mtimeMs: 1, ino: 3 }, 'ignored');
    store.markFailed('d', 'x');
    expect(store.count()).toBe(4);
    expect(store.countByState()).toEqual({ pending: 2, synced: 0, failed: 1, skipped: 1 });
    expect([...store.iterate()].map((r) => r.path)).toEqual(['a', 'b', 'c', 'd']);
    expect(store.all().map((r) => r.path)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('pathsUnder gives the paths under a folder only (not a sibling sharing its prefix), as written since', () => {
    for (const p of ['a/b/1', 'a/b/c/2', 'a/bc/3', 'a/b', 'x/4'])
      store.observe({ path: p, size: 1, mtimeMs: 1, ino: 1, sha256: A });
    expect(store.pathsUnder('a/b').sort()).toEqual(['a/b/1', 'a/b/c/2']);
    store.observe({ path: 'a/b/5', size: 1, mtimeMs: 1, ino: 2, sha256: A });
    store.removePath('a/b/1');
    expect(store.pathsUnder('a/b').sort()).toEqual(['a/b/5', 'a/b/c/2']);
    expect(store.pathsUnder('nope')).toEqual([]);
  });

  it('intentsFor gives the intents of one path only, oldest first', () => {
    const a1 = store.recordIntent({ path: 'a', remoteName: 'n1', size: 3, sha256: A, startedAt: 1 });
    store.recordIntent({ path: 'b', remoteName: 'n2', size: 3, sha256: A, startedAt: 2 });
    const a2 = store.recordIntent({ path: 'a', remoteName: 'n3', size: 3, sha256: B, startedAt: 3 });
    expect(store.intentsFor('a').map((i) => i.id)).toEqual([a1.id, a2.id]);
    expect(store.intentsFor('c')).toEqual([]);
  });

  it('commitUpload supersedes the old copy, queues it and drops the intent', () => {
    store.observe({ path: 'a', size: 3, mtimeMs: 1, ino: 1, sha256: A });
    const i1 = store.recordIntent({ path: 'a', remoteName: 'n1', size: 3, sha256: A, startedAt: 1 });
    expect(store.commitUpload(i1.id, remote('a', 'file_1', A))).toBeNull();
    store.observe({ path: 'a', size: 3, mtimeMs: 2, ino: 1, sha256: B });
    const i2 = store.recordIntent({ path: 'a', remoteName: 'n2', size: 3, sha256: B, startedAt: 2 });
    expect(store.intents().map((i) => i.id)).toEqual([i2.id]);
    const superseded = store.commitUpload(i2.id, remote('a', 'file_2', B));
    expect(superseded).toMatchObject({ fileId: 'file_1', reason: 'superseded', path: 'a', attempts: 0 });
    expect(store.get('a')).toMatchObject({ fileId: 'file_2', remoteSha256: B, state: 'synced' });
    expect(store.byFileId('file_2')?.path).toBe('a');
    expect(store.intents()).toEqual([]);
    expect(store.pendingDeletes().map((d) => d.fileId)).toEqual(['file_1']);
    expect(store.ownedFileIds()).toEqual(new Set(['file_1', 'file_2']));
  });

  it('commitUpload leaves the row pending when the file changed during the upload', () => {
    store.observe({ path: 'a', size: 3, mtimeMs: 1, ino: 1, sha256: B });
    const i = store.recordIntent({ path: 'a', remoteName: 'n', size: 3, sha256: A, startedAt: 1 });
    store.commitUpload(i.id, remote('a', 'file_1', A));
    expect(store.get('a')).toMatchObject({ fileId: 'file_1', remoteSha256: A, state: 'pending' });
  });

  it('commitUpload of a path removed meanwhile queues the new copy as removed', () => {
    store.observe({ path: 'gone', size: 3, mtimeMs: 1, ino: 1, sha256: A });
    const i = store.recordIntent({ path: 'gone', remoteName: 'n', size: 3, sha256: A, startedAt: 1 });
    expect(store.removePath('gone')).toBeNull();
    const d = store.commitUpload(i.id, remote('gone', 'file_9', A));
    expect(d).toMatchObject({ fileId: 'file_9', reason: 'removed', path: 'gone' });
    expect(store.get('gone')).toBeUndefined();
    expect(store.intents()).toEqual([]);
  });

  it('discardUpload drops the intent and queues the copy', () => {
    const i = store.recordIntent({ path: 'a', remoteName: 'n', size: 3, sha256: A, startedAt: 1 });
    const d = store.discardUpload(i.id, 'file_x', 'changed-during-upload');
    expect(d).toMatchObject({ fileId: 'file_x', remoteName: 'n', path: 'a', reason: 'changed-during-upload' });
    expect(store.intents()).toEqual([]);
  });

  it('adopt takes a copy off the delete queue and supersedes the previous one', () => {
    store.observe({ path: 'a', size: 3, mtimeMs: 1, ino: 1, sha256: A });
    store.adopt('a', remote('a', 'file_old', C));
    store.queueDelete({ fileId: 'file_new', remoteName: 'n', path: 'a', reason: 'orphan' });
    const d = store.adopt('a', remote('a', 'file_new', A));
    expect(d).toMatchObject({ fileId: 'file_old', reason: 'superseded' });
    expect(store.pendingDeletes().map((x) => x.fileId)).toEqual(['file_old']);
    expect(store.get('a')).toMatchObject({ fileId: 'file_new', state: 'synced' });
  });

  it('removePath queues the copy of the removed row', () => {
    store.observe({ path: 'a', size: 3, mtimeMs: 1, ino: 1, sha256: A });
    store.adopt('a', remote('a', 'file_1', A));
    expect(store.removePath('a')).toMatchObject({ fileId: 'file_1', reason: 'removed' });
    expect(store.count()).toBe(0);
    expect(store.removePath('a')).toBeNull();
  });

  it('clearRemote forgets the copy and optionally queues it', () => {
    store.observe({ path: 'a', size: 3, mtimeMs: 1, ino: 1, sha256: A });
    store.adopt('a', remote('a', 'file_1', A, { expiresAt: 50 }));
    expect(store.clearRemote('a')).toBeNull();
    expect(store.get('a')).toMatchObject({ fileId: null, remoteSha256: null, remoteExpiresAt: null, state: 'pending' });
    expect(store.pendingDeletes()).toEqual([]);
    store.adopt('a', remote('a', 'file_2', A));
    expect(store.clearRemote('a', 'expired')).toMatchObject({ fileId: 'file_2', reason: 'expired' });
  });

  it('queueDelete is idempotent; deleteFailed counts; retireDelete removes', () => {
    const first = store.queueDelete({ fileId: 'f', remoteName: null, path: null, reason: 'orphan' });
    const again = store.queueDelete({ fileId: 'f', remoteName: 'x', path: 'p', reason: 'removed' });
    expect(again).toEqual(first);
    store.deleteFailed('f', '500');
    expect(store.pendingDeletes()).toEqual([{ ...first, attempts: 1, lastError: '500' }]);
    store.retireDelete('f');
    expect(store.pendingDeletes()).toEqual([]);
  });

  it('stores meta values and closes idempotently', () => {
    store.setMeta('lastReconcile', '123');
    store.setMeta('lastReconcile', '456');
    expect(store.getMeta('lastReconcile')).toBe('456');
    expect(store.getMeta('schema_version')).toBe(String(SCHEMA_VERSION));
    store.close();
    store.close();
    expect(store.closed).toBe(true);
  });
});

describe('IndexStore files on disk', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cfs-index-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates and migrates a new file and an empty file, marking it as ours', () => {
    for (const name of ['new.sqlite', 'empty.sqlite']) {
      const file = join(dir, name);
      if (name === 'empty.sqlite') writeFileSync(file, '');
      const s = IndexStore.open(file);
      s.observe({ path: 'x', size: 1, mtimeMs: 1, ino: 1, sha256: A });
      s.close();
      const raw = new Database(file, { readonly: true });
      expect(raw.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(raw.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()).toBe(
        String(SCHEMA_VERSION),
      );
      raw.close();
      const again = IndexStore.open(file);
      expect(again.get('x')?.sha256).toBe(A);
      again.close();
    }
  });

  it('migrates a schema 1 index in place, keeping its rows', () => {
    const file = join(dir, 'v1.sqlite');
    const raw = new Database(file);
    raw.exec(MIGRATIONS[0]?.sql ?? '');
    raw.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', '1'), ('app', ?)").run(APP_MARKER);
    raw.pragma(`application_id = ${APPLICATION_ID}`);
    raw
      .prepare(
        "INSERT INTO files (path_key, path, size, mtime_ms, ino, sha256, state, file_id, updated_at) VALUES (?, 'old.txt', 3, 1, 1, ?, 'synced', 'file_old', 1)",
      )
      .run(pathKeyOf('old.txt'), A);
    raw.close();
    const s = IndexStore.open(file);
    expect(s.getMeta('schema_version')).toBe(String(SCHEMA_VERSION));
    expect(s.get('old.txt')).toMatchObject({ sha256: A, fileId: 'file_old', state: 'synced', hashedAt: null });
    s.observe({ path: 'old.txt', size: 3, mtimeMs: 2, ino: 1, sha256: B, hashedAt: 99 });
    expect(s.get('old.txt')?.hashedAt).toBe(99);
    expect(s.localLookup()('old.txt')).toMatchObject({
      size: 3,
      mtimeMs: 2,
      ino: 1,
      sha256: B,
      hashedAt: 99,
      ctimeMs: null,
    });
    s.close();
  });

  it('refuses a foreign sqlite file with a hint to move it away and adopt', () => {
    const file = join(dir, 'index.sqlite');
    const other = new Database(file);
    other.exec('CREATE TABLE files (name TEXT)');
    other.close();
    expectIndexError(() => IndexStore.open(file), 'E_INDEX_FOREIGN', /not a claude-filesync index/, file);
  });

  it('refuses a file that is not sqlite at all', () => {
    const file = join(dir, 'index.sqlite');
    writeFileSync(file, 'this is not a database, just some text that is long enough to look like a header'.repeat(20));
    expectIndexError(() => IndexStore.open(file), 'E_INDEX_CORRUPT', /corrupt|not a database|unreadable/i, file);
  });

  it('refuses an index whose pages are damaged', () => {
    const file = join(dir, 'index.sqlite');
    const s = IndexStore.open(file);
    s.observeMany(
      Array.from({ length: 2000 }, (_, i) => ({ path: `dir/file-${i}.txt`, size: i, mtimeMs: i, ino: i, sha256: A })),
    );
    s.close();
    const bytes = readFileSync(file);
    // Keep the header page (so it still opens as our sqlite file) and scribble over the b-tree pages.
    for (let i = 4096 * 2; i < bytes.length; i += 97) bytes[i] = (bytes[i] ?? 0) ^ 0x5a;
    writeFileSync(file, bytes);
    expectIndexError(() => IndexStore.open(file), 'E_INDEX_CORRUPT', /corrupt|malformed/i, file);
  });

  it('refuses an index of a newer schema', () => {
    const file = join(dir, 'index.sqlite');
    IndexStore.open(file).close();
    const raw = new Database(file);
    raw.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(SCHEMA_VERSION + 1));
    raw.close();
    expectIndexError(() => IndexStore.open(file), 'E_INDEX_NEWER', /newer/, file);
  });

  it('refuses readonly opening of a missing index', () => {
    expect(() => IndexStore.open(join(dir, 'missing.sqlite'), { readonly: true })).toThrow(IndexError);
  });

  it('reads beside a writer and sees its commits; refuses writes', () => {
    const file = join(dir, 'index.sqlite');
    const writer = IndexStore.open(file);
    writer.observe({ path: 'one', size: 1, mtimeMs: 1, ino: 1, sha256: A });
    const reader = IndexStore.open(file, { readonly: true });
    expect(reader.count()).toBe(1);
    writer.observeMany([
      { path: 'two', size: 1, mtimeMs: 1, ino: 2, sha256: B },
      { path: 'three', size: 1, mtimeMs: 1, ino: 3, sha256: C },
    ]);
    expect(reader.count()).toBe(3);
    expect(reader.get('two')?.sha256).toBe(B);
    expect(() => reader.observe({ path: 'x', size: 1, mtimeMs: 1, ino: 1, sha256: A })).toThrow(/readonly/i);
    reader.close();
    writer.close();
  });

  it('commitUpload is atomic: a failure part-way leaves row, intent and queue as they were', () => {
    const file = join(dir, 'index.sqlite');
    const store = IndexStore.open(file);
    store.observe({ path: 'a', size: 3, mtimeMs: 1, ino: 1, sha256: A });
    store.adopt('a', remote('a', 'file_1', C));
    const intent = store.recordIntent({ path: 'a', remoteName: 'n', size: 3, sha256: A, startedAt: 1 });
    // A second connection makes the last step (queueing the superseded copy) fail.
    const saboteur = new Database(file);
    saboteur.exec(
      "CREATE TRIGGER no_deletes BEFORE INSERT ON remote_deletes BEGIN SELECT RAISE(ABORT, 'disk on fire'); END",
    );
    expect(() => store.commitUpload(intent.id, remote('a', 'file_2', A))).toThrow(/disk on fire/);
    expect(store.get('a')).toMatchObject({ fileId: 'file_1', remoteSha256: C, state: 'pending' });
    expect(store.intents().map((i) => i.id)).toEqual([intent.id]);
    expect(store.pendingDeletes()).toEqual([]);
    saboteur.exec('DROP TRIGGER no_deletes');
    saboteur.close();
    expect(store.commitUpload(intent.id, remote('a', 'file_2', A))).toMatchObject({ fileId: 'file_1' });
    store.close();
  });

  it('keeps committed intents across a reopen (durable before the upload starts)', () => {
    const file = join(dir, 'index.sqlite');
    const s1 = IndexStore.open(file);
    s1.recordIntent({ path: 'a', remoteName: 'n', size: 3, sha256: A, startedAt: 42 });
    s1.close();
    const s2 = IndexStore.open(file);
    expect(s2.intents()).toMatchObject([{ path: 'a', startedAt: 42, pathKey: pathKeyOf('a') }]);
    s2.close();
  });
});
