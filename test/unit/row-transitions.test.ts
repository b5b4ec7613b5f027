import { remoteHolds } from '../../src/store/types.js';
import { describe, expect, it } from 'vitest';
import {
  attachedRow,
  clearedRow,
  failedRow,
  newRow,
  observedRow,
  pathKeyOf,
  skippedRow,
} from '../../src/store/row-transitions.js';
import type { FileRow, RemoteCopy } from '../../src/store/types.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const T0 = 1_000;
const T1 = 2_000;

function row(extra: Partial<FileRow> = {}): FileRow {
  return { ...newRow('dir/a.txt', { size: 3, mtimeMs: 10, ino: 7 }, A, 'pending', T0), ...extra };
}

function copy(sha256: string, fileId = 'file_new'): RemoteCopy {
  return { path: 'dir/a.txt', fileId, remoteName: 'dir/a.txt', size: 3, sha256, createdAt: 500, expiresAt: null };
}

const seen = (sha256: string | null, extra: { hashedAt?: number; size?: number } = {}) => ({
  path: 'dir/a.txt',
  size: extra.size ?? 3,
  mtimeMs: 10,
  ino: 7,
  sha256,
  ...(extra.hashedAt === undefined ? {} : { hashedAt: extra.hashedAt }),
});

describe('newRow', () => {
  it('keys the row by the sha256 of its path and starts with no remote copy and no attempts', () => {
    const r = newRow('dir/a.txt', { size: 3, mtimeMs: 10, ino: 7 }, A, 'pending', T0);
    expect(r.pathKey).toBe(pathKeyOf('dir/a.txt'));
    expect(r).toMatchObject({
      fileId: null,
      remoteSha256: null,
      attempts: 0,
      lastError: null,
      updatedAt: T0,
      hashedAt: null,
    });
  });
});

describe('observedRow', () => {
  it('a path the index did not know becomes a pending row stamped with now and the scan time of its hash', () => {
    expect(observedRow(undefined, seen(A, { hashedAt: 900 }), T1)).toMatchObject({
      state: 'pending',
      sha256: A,
      hashedAt: 900,
      updatedAt: T1,
    });
  });

  it('an unchanged observation returns the very same row, so nothing is written', () => {
    const r = row();
    expect(observedRow(r, seen(A), T1)).toBe(r);
  });

  it('a new inode or a new hash time alone is a change worth writing', () => {
    const r = row();
    expect(observedRow(r, { ...seen(A), ino: 8 }, T1)).toMatchObject({ ino: 8, updatedAt: T1 });
    expect(observedRow(r, seen(A, { hashedAt: 1500 }), T1)).toMatchObject({ hashedAt: 1500, updatedAt: T1 });
  });

  it('content equal to the remote copy makes the row synced and clears attempts and the last error', () => {
    const r = row({ fileId: 'f1', remoteSha256: B, sha256: A, state: 'failed', attempts: 3, lastError: 'boom' });
    expect(observedRow(r, seen(B), T1)).toMatchObject({ state: 'synced', attempts: 0, lastError: null, updatedAt: T1 });
  });

  it('new content resets attempts; the same content keeps counting them', () => {
    const r = row({ state: 'failed', attempts: 2, lastError: 'refused', size: 4 });
    expect(observedRow(r, seen(B), T1)).toMatchObject({ state: 'pending', attempts: 0, lastError: null });
    expect(observedRow(r, seen(A), T1)).toMatchObject({ state: 'pending', attempts: 2, lastError: 'refused' });
  });

  it('keeps the hash time when the content is the same, forgets it when the content changed', () => {
    const r = row({ hashedAt: 800, size: 9 });
    expect(observedRow(r, seen(A), T1).hashedAt).toBe(800);
    expect(observedRow(r, seen(B), T1).hashedAt).toBeNull();
  });

  it('a skipped row that is observed again is pending and loses its skip reason', () => {
    expect(observedRow(row({ state: 'skipped', skipReason: 'too large' }), seen(A), T1)).toMatchObject({
      state: 'pending',
      skipReason: null,
    });
  });
});

describe('skippedRow', () => {
  it('keeps the remote copy, drops the hash and records the reason', () => {
    const r = row({ fileId: 'f1', remoteSha256: A, state: 'synced', hashedAt: 5 });
    expect(skippedRow(r, { path: 'dir/a.txt', size: 10, mtimeMs: 11, ino: 7 }, 'too large', T1)).toMatchObject({
      state: 'skipped',
      skipReason: 'too large',
      sha256: null,
      hashedAt: null,
      fileId: 'f1',
      updatedAt: T1,
    });
  });

  it('skipping again for the same reason returns the same row', () => {
    const once = skippedRow(undefined, { path: 'dir/a.txt', size: 10, mtimeMs: 11, ino: 7 }, 'ignored', T0);
    expect(skippedRow(once, { path: 'dir/a.txt', size: 10, mtimeMs: 11, ino: 7 }, 'ignored', T1)).toBe(once);
  });
});

describe('failedRow', () => {
  it('counts one more attempt and keeps the error; a path the index did not know gets a failed row from obs', () => {
    expect(failedRow(row({ attempts: 1 }), 'dir/a.txt', 'EACCES', undefined, T1)).toMatchObject({
      state: 'failed',
      attempts: 2,
      lastError: 'EACCES',
      updatedAt: T1,
    });
    expect(failedRow(undefined, 'new.txt', 'EIO', { size: 5, mtimeMs: 6, ino: 8 }, T1)).toMatchObject({
      path: 'new.txt',
      size: 5,
      ino: 8,
      state: 'failed',
      attempts: 1,
      lastError: 'EIO',
    });
  });
});

describe('attachedRow', () => {
  it('is synced when the local content is what the copy holds, and forgets past failures', () => {
    expect(attachedRow(row({ attempts: 2, lastError: 'x' }), copy(A), T1)).toMatchObject({
      state: 'synced',
      fileId: 'file_new',
      remoteSha256: A,
      remoteCreatedAt: 500,
      attempts: 0,
      lastError: null,
      updatedAt: T1,
    });
  });

  it('stays pending (attempts kept) when the file changed after the upload began', () => {
    expect(attachedRow(row({ attempts: 2, lastError: 'x' }), copy(B), T1)).toMatchObject({
      state: 'pending',
      fileId: 'file_new',
      attempts: 2,
      lastError: 'x',
    });
  });

  it('a skipped row stays skipped', () => {
    expect(attachedRow(row({ state: 'skipped' }), copy(A), T1).state).toBe('skipped');
  });
});

describe('clearedRow', () => {
  it('forgets every remote field and is pending again; a skipped row stays skipped', () => {
    const r = row({
      state: 'synced',
      fileId: 'f1',
      remoteName: 'n',
      remoteSha256: A,
      remoteSize: 3,
      remoteCreatedAt: 1,
      remoteExpiresAt: 2,
    });
    expect(clearedRow(r, T1)).toMatchObject({
      state: 'pending',
      fileId: null,
      remoteName: null,
      remoteSha256: null,
      remoteSize: null,
      remoteCreatedAt: null,
      remoteExpiresAt: null,
      updatedAt: T1,
    });
    expect(clearedRow({ ...r, state: 'skipped' }, T1).state).toBe('skipped');
  });
});

describe('remoteHolds: does this content need an upload', () => {
  it('only a row with a remote copy of exactly this content holds it', () => {
    expect(remoteHolds({ fileId: 'f1', remoteSha256: 'aa' }, 'aa')).toBe(true);
    expect(remoteHolds({ fileId: 'f1', remoteSha256: 'aa' }, 'bb')).toBe(false);
    expect(remoteHolds({ fileId: null, remoteSha256: 'aa' }, 'aa')).toBe(false);
    expect(remoteHolds({ fileId: 'f1', remoteSha256: null }, null)).toBe(false);
  });
});
