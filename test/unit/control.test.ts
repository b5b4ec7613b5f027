import { linkSync, mkdtempSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NotRunningError, requestControl } from '../../src/control/client.js';
import {
  ControlProtocolError,
  encodeMessage,
  LineDecoder,
  parseRequest,
  parseResponse,
} from '../../src/control/protocol.js';
import {
  clearStaleSocket,
  startControlServer,
  type ControlHandler,
  type ControlServer,
} from '../../src/control/server.js';
import { controlSocketPath } from '../../src/control/socket-path.js';
import type { ReconcileOptions, ReconcileReport, StatusReport } from '../../src/engine/contract.js';
import { ErrorCode, FilesyncError, LockedError } from '../../src/errors.js';

describe('control codec', () => {
  it('encodes one JSON value per line and decodes across chunk boundaries', () => {
    const line = encodeMessage({ v: 1, id: 7, type: 'id', path: 'a b/ü.txt' });
    expect(line.endsWith('\n')).toBe(true);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    const d = new LineDecoder(1024);
    const both = line + encodeMessage({ v: 1, id: 8, type: 'status' });
    const out: unknown[] = [];
    for (const ch of both) out.push(...d.push(ch));
    expect(out).toEqual([
      { v: 1, id: 7, type: 'id', path: 'a b/ü.txt' },
      { v: 1, id: 8, type: 'status' },
    ]);
    expect(d.pending).toBe(0);
  });

  it('decodes multi-byte characters split between chunks', () => {
    const d = new LineDecoder(1024);
    const bytes = Buffer.from(encodeMessage({ v: 1, id: 1, type: 'id', path: 'ü' }));
    const out = [...d.push(bytes.subarray(0, 30)), ...d.push(bytes.subarray(30))];
    expect(out).toEqual([{ v: 1, id: 1, type: 'id', path: 'ü' }]);
  });

  it('rejects a non-JSON line and an over-long line', () => {
    expect(() => new LineDecoder(100).push('hello\n')).toThrow(ControlProtocolError);
    expect(() => new LineDecoder(10).push('x'.repeat(11))).toThrow(/longer than 10 bytes/);
  });

  it('parses each request type and rejects malformed ones', () => {
    expect(parseRequest({ v: 1, id: 1, type: 'status' })).toEqual({ v: 1, id: 1, type: 'status' });
    expect(parseRequest({ v: 1, id: 2, type: 'files' })).toEqual({ v: 1, id: 2, type: 'files' });
    expect(parseRequest({ v: 1, id: 3, type: 'reconcile', options: { dryRun: true, adopt: false } })).toEqual({
      v: 1,
      id: 3,
      type: 'reconcile',
      options: { dryRun: true, adopt: false },
    });
    expect(parseRequest({ v: 1, id: 4, type: 'reconcile' })).toEqual({ v: 1, id: 4, type: 'reconcile', options: {} });
    expect(parseRequest({ v: 1, id: 5, type: 'reconcile', options: { rehash: true } })).toEqual({
      v: 1,
      id: 5,
      type: 'reconcile',
      options: { rehash: true },
    });
    expect(parseRequest({ v: 1, id: 5, type: 'id', path: 'a/b' })).toEqual({ v: 1, id: 5, type: 'id', path: 'a/b' });
    expect(() => parseRequest({ v: 2, id: 1, type: 'status' })).toThrow(/protocol version/);
    expect(() => parseRequest({ v: 1, type: 'status' })).toThrow(/integer id/);
    expect(() => parseRequest({ v: 1, id: 1, type: 'shutdown' })).toThrow(/unknown request type/);
    expect(() => parseRequest({ v: 1, id: 1, type: 'reconcile', options: { wipe: true } })).toThrow(
      /unknown reconcile option wipe/,
    );
    expect(() => parseRequest({ v: 1, id: 1, type: 'reconcile', options: { dryRun: 'yes' } })).toThrow(/true or false/);
    expect(() => parseRequest({ v: 1, id: 1, type: 'id' })).toThrow(/needs a path/);
    expect(() => parseRequest([1])).toThrow(/JSON object/);
  });

  it('parses responses, success and error', () => {
    expect(parseResponse({ v: 1, id: 1, ok: true, result: { a: 1 } })).toEqual({
      v: 1,
      id: 1,
      ok: true,
      result: { a: 1 },
    });
    expect(parseResponse({ v: 1, id: 1, ok: false, error: { code: 'E_X', message: 'm', hint: 'h' } })).toEqual({
      v: 1,
      id: 1,
      ok: false,
      error: { code: 'E_X', message: 'm', hint: 'h' },
    });
    expect(() => parseResponse({ v: 1, id: 1, ok: 'maybe' })).toThrow(ControlProtocolError);
  });
});

function report(overrides: Partial<ReconcileReport> = {}): ReconcileReport {
  return {
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 5,
    dryRun: false,
    remoteFiles: 1,
    localFiles: 1,
    uploaded: [],
    deleted: [],
    adopted: [],
    unmanaged: [],
    orphans: [],
    foreign: [],
    skipped: [],
    failed: [],
    heldDeletes: null,
    ...overrides,
  };
}

function fakeHandler(calls: ReconcileOptions[] = []): ControlHandler {
  return {
    status: () => ({ running: true, pid: process.pid }) as unknown as StatusReport,
    reconcile: async (options = {}) => {
      calls.push(options);
      if (options.deleteUnmanaged && !options.allowMassDelete)
        throw new FilesyncError(ErrorCode.DeleteSafety, 'too many deletes', { hint: 'pass --allow-mass-delete' });
      return report({ dryRun: options.dryRun ?? false, uploaded: ['a.txt'] });
    },
    files: () => [{ path: 'a.txt', fileId: 'file_1', sizeBytes: 1, sha256: 'ab', state: 'synced', error: null }],
    fileIdOf: (p) => (p === 'a.txt' ? 'file_1' : null),
  };
}

describe('control socket', () => {
  const servers: ControlServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const stateDir = () => mkdtempSync(join(tmpdir(), 'cfs-ctl-'));

  it('serves status, files, id and reconcile over a 0600 socket', async () => {
    const dir = stateDir();
    const calls: ReconcileOptions[] = [];
    const server = await startControlServer({ stateDir: dir, handler: fakeHandler(calls) });
    servers.push(server);
    expect(server.path).toBe(join(dir, 'control.sock'));
    const st = statSync(server.path);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect((await requestControl(dir, { type: 'status' })).pid).toBe(process.pid);
    expect(await requestControl(dir, { type: 'files' })).toHaveLength(1);
    expect(await requestControl(dir, { type: 'id', path: 'a.txt' })).toEqual({ path: 'a.txt', fileId: 'file_1' });
    expect(await requestControl(dir, { type: 'id', path: 'b.txt' })).toEqual({ path: 'b.txt', fileId: null });
    const r = await requestControl(dir, { type: 'reconcile', options: { dryRun: true } }, { timeoutMs: 0 });
    expect(r.dryRun).toBe(true);
    expect(r.uploaded).toEqual(['a.txt']);
    expect(calls).toEqual([{ dryRun: true }]);
  });

  it('carries a handler error with its code and hint to the client', async () => {
    const dir = stateDir();
    servers.push(await startControlServer({ stateDir: dir, handler: fakeHandler() }));
    const err = await requestControl(dir, { type: 'reconcile', options: { deleteUnmanaged: true } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FilesyncError);
    expect((err as FilesyncError).code).toBe('E_DELETE_SAFETY');
    expect((err as FilesyncError).hint).toBe('pass --allow-mass-delete');
  });

  it('answers many concurrent clients', async () => {
    const dir = stateDir();
    servers.push(await startControlServer({ stateDir: dir, handler: fakeHandler() }));
    const results = await Promise.all(
      Array.from({ length: 20 }, () => requestControl(dir, { type: 'id', path: 'a.txt' })),
    );
    expect(results.every((r) => r.fileId === 'file_1')).toBe(true);
  });

  it('says not running when there is no socket', async () => {
    const err = await requestControl(stateDir(), { type: 'status' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotRunningError);
  });

  it('replaces a stale socket left by a crashed daemon', async () => {
    const dir = stateDir();
    const path = controlSocketPath(dir);
    // A socket file nobody listens on, as SIGKILL leaves it: listen, hard-link the file aside,
    // close (which unlinks the original), and move the link back.
    const keep = createServer();
    await new Promise<void>((resolve) => keep.listen(path, resolve));
    linkSync(path, `${path}.dead`);
    await new Promise<void>((resolve) => keep.close(() => resolve()));
    renameSync(`${path}.dead`, path);
    expect(statSync(path).isSocket()).toBe(true);
    const err = await requestControl(dir, { type: 'status' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotRunningError);
    const server = await startControlServer({ stateDir: dir, handler: fakeHandler() });
    servers.push(server);
    expect((await requestControl(dir, { type: 'status' })).running).toBe(true);
  });

  it('refuses to replace a live socket and anything that is not a socket', async () => {
    const dir = stateDir();
    servers.push(await startControlServer({ stateDir: dir, handler: fakeHandler() }));
    await expect(startControlServer({ stateDir: dir, handler: fakeHandler() })).rejects.toBeInstanceOf(LockedError);
    expect((await requestControl(dir, { type: 'status' })).running).toBe(true);
    const other = stateDir();
    writeFileSync(join(other, 'control.sock'), 'not a socket');
    await expect(clearStaleSocket(join(other, 'control.sock'))).rejects.toThrow(/is not a socket/);
  });

  it('removes the socket file on close, and close is idempotent', async () => {
    const dir = stateDir();
    const server = await startControlServer({ stateDir: dir, handler: fakeHandler() });
    await Promise.all([server.close(), server.close()]);
    expect(() => statSync(server.path)).toThrow();
    await expect(requestControl(dir, { type: 'status' })).rejects.toBeInstanceOf(NotRunningError);
  });

  it('answers a malformed request with a protocol error instead of hanging', async () => {
    const dir = stateDir();
    servers.push(await startControlServer({ stateDir: dir, handler: fakeHandler() }));
    const answer = await new Promise<string>((resolve) => {
      const s = createConnection(controlSocketPath(dir));
      let buf = '';
      s.setEncoding('utf8');
      s.on('data', (c: string) => {
        buf += c;
        if (buf.includes('\n')) {
          s.destroy();
          resolve(buf);
        }
      });
      s.write('{"v":1,"id":9,"type":"format-disk"}\n');
    });
    expect(JSON.parse(answer)).toMatchObject({ id: 9, ok: false, error: { code: 'E_CONTROL_PROTOCOL' } });
  });

  it('rejects a state directory whose socket path would be too long', () => {
    expect(() => controlSocketPath(`/tmp/${'x'.repeat(120)}`)).toThrow(/too long/);
  });
});
