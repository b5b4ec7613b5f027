/**
 * Each reason an index cannot be opened or written has its own code, produced here for real: a
 * missing file, garbage bytes, a foreign sqlite database, a newer or older schema, a read-only or
 * inaccessible state directory, a full disk. Callers (the offline CLI, exit codes) match these
 * codes, never the message. Mounting needs root; those cases are skipped for a normal user.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IndexError, type IndexErrorCode } from '../../src/errors.js';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import { storageError } from '../../src/store/storage-error.js';
import { IndexStore } from '../../src/store/store.js';

const isRoot = process.getuid?.() === 0;
const A = 'a'.repeat(64);

function canMount(): boolean {
  if (!isRoot) return false;
  try {
    execFileSync('mount', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function caught(fn: () => unknown): IndexError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IndexError);
    return err as IndexError;
  }
  throw new Error('expected an IndexError, nothing was thrown');
}

function expectCause(fn: () => unknown, code: IndexErrorCode, file: string): IndexError {
  const err = caught(fn);
  expect(err.code).toBe(code);
  expect(err.message).toContain(file);
  expect(err.hint).toBeTruthy();
  return err;
}

let dir: string;
const cleanups: (() => void)[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cfs-index-open-'));
});
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
  rmSync(dir, { recursive: true, force: true });
});

describe('the cause of an index that cannot be opened', () => {
  it('a missing index opened read-only is E_INDEX_MISSING', () => {
    const file = join(dir, 'index.sqlite');
    const err = expectCause(() => IndexStore.open(file, { readonly: true }), 'E_INDEX_MISSING', file);
    expect(err.hint).not.toMatch(/reconcile --adopt/);
  });

  it('an empty index (created, never filled) opened read-only is E_INDEX_MISSING too', () => {
    const file = join(dir, 'index.sqlite');
    new Database(file).close();
    expectCause(() => IndexStore.open(file, { readonly: true }), 'E_INDEX_MISSING', file);
  });

  it('a file of garbage bytes is E_INDEX_CORRUPT, with the adopt hint', () => {
    const file = join(dir, 'index.sqlite');
    writeFileSync(file, Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919) % 251)));
    const err = expectCause(() => IndexStore.open(file), 'E_INDEX_CORRUPT', file);
    expect(err.hint).toContain('claude-filesync reconcile --adopt');
  });

  it("another program's sqlite database is E_INDEX_FOREIGN, with the adopt hint", () => {
    const file = join(dir, 'index.sqlite');
    const db = new Database(file);
    db.exec('CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)');
    db.close();
    const err = expectCause(() => IndexStore.open(file), 'E_INDEX_FOREIGN', file);
    expect(err.hint).toContain('claude-filesync reconcile --adopt');
  });

  it('an index of a newer schema version is E_INDEX_NEWER, with a hint to upgrade', () => {
    const file = join(dir, 'index.sqlite');
    IndexStore.open(file).close();
    const db = new Database(file);
    db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(SCHEMA_VERSION + 1));
    db.close();
    const err = expectCause(() => IndexStore.open(file), 'E_INDEX_NEWER', file);
    expect(err.hint).toMatch(/Upgrade claude-filesync/);
  });

  it('an index of an older schema opened read-only is E_INDEX_OLDER (only the daemon upgrades it)', () => {
    const file = join(dir, 'index.sqlite');
    IndexStore.open(file).close();
    const db = new Database(file);
    db.prepare("UPDATE meta SET value = '1' WHERE key = 'schema_version'").run();
    db.close();
    const err = expectCause(() => IndexStore.open(file, { readonly: true }), 'E_INDEX_OLDER', file);
    expect(err.hint).toMatch(/claude-filesync run/);
  });

  it.skipIf(isRoot)('a read-only index file is E_INDEX_READ_ONLY (a normal user: chmod 444)', () => {
    const file = join(dir, 'index.sqlite');
    IndexStore.open(file).close();
    chmodSync(file, 0o444);
    const err = expectCause(
      () => IndexStore.open(file).observe({ path: 'a', size: 1, mtimeMs: 1, ino: 1, sha256: A }),
      'E_INDEX_READ_ONLY',
      file,
    );
    expect(err.hint).not.toMatch(/reconcile --adopt/);
  });

  // Root passes every permission check, and access(2), which tells why sqlite could not open the
  // file, answers for the real uid: a root process that drops only its effective uid is still
  // "allowed". So this one runs for a normal user only.
  it.skipIf(isRoot)('a state directory this user may not write is E_INDEX_NO_ACCESS', () => {
    const state = join(dir, 'state');
    mkdirSync(state, { mode: 0o500 });
    cleanups.push(() => chmodSync(state, 0o700));
    const file = join(state, 'index.sqlite');
    const err = expectCause(() => IndexStore.open(file), 'E_INDEX_NO_ACCESS', file);
    expect(err.hint).not.toMatch(/reconcile --adopt/);
  });

  describe.skipIf(!canMount())('on a tiny tmpfs (root only: needs mount)', () => {
    function tmpfs(size: string): string {
      const mnt = join(dir, 'mnt');
      mkdirSync(mnt);
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', mnt]);
      cleanups.push(() => execFileSync('umount', ['-l', mnt]));
      return mnt;
    }

    it('a read-only state directory is E_INDEX_READ_ONLY, without the adopt hint', () => {
      const mnt = tmpfs('4m');
      const file = join(mnt, 'index.sqlite');
      IndexStore.open(file).close();
      execFileSync('mount', ['-o', 'remount,ro', mnt]);
      cleanups.push(() => execFileSync('mount', ['-o', 'remount,rw', mnt]));
      const err = expectCause(() => IndexStore.open(file), 'E_INDEX_READ_ONLY', file);
      expect(err.hint).not.toMatch(/reconcile --adopt/);
    });

    it('a full disk is E_INDEX_DISK_FULL when a write fails, and the store works again once space is freed', () => {
      const mnt = tmpfs('2m');
      const file = join(mnt, 'index.sqlite');
      const store = IndexStore.open(file);
      cleanups.push(() => store.close());
      const filler = join(mnt, 'filler');
      const fd = openSync(filler, 'w');
      try {
        for (;;) writeSync(fd, Buffer.alloc(4096, 1));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      } finally {
        closeSync(fd);
      }
      const rows = Array.from({ length: 5000 }, (_, i) => ({
        path: `dir/file-${i}.txt`,
        size: i,
        mtimeMs: i,
        ino: i,
        sha256: A,
      }));
      const err = expectCause(() => store.observeMany(rows), 'E_INDEX_DISK_FULL', mnt);
      expect(err.hint).toMatch(/Free some space/);
      rmSync(filler);
      store.observeMany(rows);
      expect(store.count()).toBe(rows.length);
    });
  });

  it('a failing disk (SQLITE_IOERR_*) is E_INDEX_IO; an error that is not the storage is left alone', () => {
    const file = join(dir, 'index.sqlite');
    const io = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' });
    expect(storageError(file, io)?.code).toBe('E_INDEX_IO');
    const constraint = Object.assign(new Error('UNIQUE constraint failed'), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
    expect(storageError(file, constraint)).toBeNull();
    // The message alone never decides: a message that reads like a full disk, without the code, is not one.
    expect(storageError(file, new Error('database or disk is full'))).toBeNull();
  });
});
