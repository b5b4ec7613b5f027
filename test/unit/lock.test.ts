import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FilesyncError, LockedError } from '../../src/errors.js';
import { acquireLock, ensureStateDir, LOCK_FILE } from '../../src/state-dir/lock.js';

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  expect(child.pid).toBeGreaterThan(0);
  return child.pid as number;
}

describe('acquireLock', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cfs-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes our pid and refuses a second holder with LockedError naming pid and directory', () => {
    const lock = acquireLock(dir);
    const info = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as { pid: number; startedAt: number };
    expect(info.pid).toBe(process.pid);
    expect((statSync(join(dir, LOCK_FILE)).mode & 0o777).toString(8)).toBe('600');
    let caught: unknown;
    try {
      acquireLock(dir);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(LockedError);
    const e = caught as LockedError;
    expect(e.code).toBe('E_LOCKED');
    expect(e.message).toContain(`pid ${process.pid}`);
    expect(e.message).toContain(dir);
    expect(e.hint).toMatch(/Stop it first/);
    lock.release();
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    acquireLock(dir).release();
  });

  it('replaces a stale lock whose process is dead', () => {
    const pid = deadPid();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid, startedAt: 1, host: hostname(), procStart: null }));
    const lock = acquireLock(dir);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  it.runIf(existsSync('/proc/self/stat'))('replaces a lock whose pid now belongs to another process', () => {
    writeFileSync(
      join(dir, LOCK_FILE),
      JSON.stringify({ pid: process.pid, startedAt: 1, host: hostname(), procStart: '1' }),
    );
    const lock = acquireLock(dir);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).procStart).not.toBe('1');
    lock.release();
  });

  it('never steals a lock written on another host', () => {
    writeFileSync(
      join(dir, LOCK_FILE),
      JSON.stringify({ pid: deadPid(), startedAt: 1, host: 'elsewhere.example', procStart: null }),
    );
    expect(() => acquireLock(dir)).toThrow(/on host elsewhere\.example/);
  });

  it('treats an unreadable lock as being written when fresh and as stale when old', () => {
    const file = join(dir, LOCK_FILE);
    writeFileSync(file, '');
    expect(() => acquireLock(dir)).toThrow(LockedError);
    utimesSync(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    acquireLock(dir).release();
  });

  it('release leaves a successor lock alone', () => {
    const lock = acquireLock(dir);
    const other = JSON.stringify({ pid: 1, startedAt: 2, host: hostname(), procStart: null });
    writeFileSync(join(dir, LOCK_FILE), other);
    lock.release();
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(other);
  });
});

describe('ensureStateDir', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cfs-state-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates nested directories with mode 0700', () => {
    const state = join(dir, 'a', 'state');
    ensureStateDir(state);
    expect(statSync(state).mode & 0o777).toBe(0o700);
    ensureStateDir(state);
  });

  it('refuses a directory that others can write, with a chmod hint', () => {
    const state = join(dir, 'open');
    mkdirSync(state);
    chmodSync(state, 0o777);
    let caught: unknown;
    try {
      ensureStateDir(state);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FilesyncError);
    expect((caught as FilesyncError).code).toBe('E_STATE_DIR');
    expect((caught as FilesyncError).message).toContain('mode 777');
    expect((caught as FilesyncError).hint).toContain(`chmod 700 '${state}'`);
  });

  it('refuses a path that is a file', () => {
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    expect(() => ensureStateDir(file)).toThrow(FilesyncError);
  });

  it('says a state directory that is a file (or under one) is not a directory, and what to do', () => {
    const file = join(dir, 'plain');
    writeFileSync(file, 'x');
    for (const [path, why] of [
      [file, 'a file is in its place'],
      [join(file, 'state'), 'a parent of it is a file'],
    ] as const) {
      let caught: unknown;
      try {
        ensureStateDir(path);
      } catch (err) {
        caught = err;
      }
      expect((caught as FilesyncError).code).toBe('E_STATE_DIR');
      expect((caught as FilesyncError).message).toBe(`The state directory ${path} is not a directory (${why}).`);
      expect((caught as FilesyncError).hint).toContain('--state-dir');
    }
  });
});
