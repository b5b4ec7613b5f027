import { afterEach, describe, expect, test } from 'vitest';
import type { Emulator, EmulatorOptions } from '../../src/emulator/index.js';
import { TEST_KEY, raw, rawUpload, startEmulator, tempDir } from '../helpers/emulator.js';

let emu: Emulator | null = null;
afterEach(async () => {
  await emu?.close();
  emu = null;
});

let clock = Date.UTC(2026, 0, 1);
async function start(options: EmulatorOptions = {}): Promise<Emulator> {
  clock = Date.UTC(2026, 0, 1);
  emu = await startEmulator({ now: () => clock, ...options });
  return emu;
}

describe('workspace id', () => {
  test('every answer carries a generated wrkspc_ id, errors and admin answers too', async () => {
    const e = await start();
    expect(e.workspaceId).toMatch(/^wrkspc_[0-9A-Za-z]{24}$/);
    expect((await raw(e.url, '/v1/files')).headers['anthropic-workspace-id']).toBe(e.workspaceId);
    expect((await raw(e.url, '/v1/files/file_nope')).headers['anthropic-workspace-id']).toBe(e.workspaceId);
    expect((await raw(e.url, '/v1/files', { shape: 'none' })).headers['anthropic-workspace-id']).toBe(e.workspaceId);
    expect((await raw(e.url, '/_emulator/workspace')).json).toEqual({ workspaceId: e.workspaceId });
  });

  test('the option sets it; a bad one is refused at start', async () => {
    const e = await start({ workspaceId: 'wrkspc_test' });
    expect((await raw(e.url, '/v1/files')).headers['anthropic-workspace-id']).toBe('wrkspc_test');
    await expect(startEmulator({ workspaceId: 'has space' })).rejects.toThrow(/workspaceId/);
  });

  test('switched at run time over HTTP (given or generated) and in-process; files stay', async () => {
    const e = await start({ workspaceId: 'wrkspc_a' });
    await rawUpload(e.url, { filename: 'a.txt', body: 'a' });
    const put = await raw(e.url, '/_emulator/workspace', {
      method: 'PUT',
      body: JSON.stringify({ workspaceId: 'wrkspc_b' }),
    });
    expect(put.json).toEqual({ workspaceId: 'wrkspc_b' });
    const after = await raw(e.url, '/v1/files');
    expect(after.headers['anthropic-workspace-id']).toBe('wrkspc_b');
    expect(after.json.data).toHaveLength(1);
    const generated = await raw(e.url, '/_emulator/workspace', { method: 'PUT' });
    expect(generated.json.workspaceId).toMatch(/^wrkspc_[0-9A-Za-z]{24}$/);
    expect(await e.setWorkspaceId('wrkspc_c')).toBe('wrkspc_c');
    expect((await raw(e.url, '/v1/files')).headers['anthropic-workspace-id']).toBe('wrkspc_c');
    expect(
      (await raw(e.url, '/_emulator/workspace', { method: 'PUT', body: JSON.stringify({ workspaceId: 'a\nb' }) }))
        .status,
    ).toBe(400);
  });

  test('folder storage keeps the generated id, and a run-time switch, across a restart', async () => {
    const dir = await tempDir();
    try {
      const first = await startEmulator({ dataDir: dir.path });
      const id = first.workspaceId;
      await first.close();
      const second = await startEmulator({ dataDir: dir.path });
      expect(second.workspaceId).toBe(id);
      await second.setWorkspaceId('wrkspc_switched');
      await second.close();
      const third = await startEmulator({ dataDir: dir.path });
      expect(third.workspaceId).toBe('wrkspc_switched');
      await third.close();
      // Memory storage: a new id each start.
      const a = await startEmulator();
      const b = await startEmulator();
      expect(a.workspaceId).not.toBe(b.workspaceId);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await dir.remove();
    }
  });
});

describe('expiring files on demand', () => {
  test('in-process: an expired file stays listed with expires_at in the past, its content is 404 file_expired, for 30 days', async () => {
    const e = await start();
    const f = await e.addFile({ filename: 'gen.csv', bytes: Buffer.from('a,b'), downloadable: true });
    expect(f.expires_at).toBeNull();
    clock += 1000;
    const expired = await e.expireFile(f.id);
    expect(expired?.expires_at).toBe('2026-01-01T00:00:01.000000Z');
    clock += 1000;
    const listed = (await raw(e.url, '/v1/files')).json.data;
    expect(listed).toHaveLength(1);
    expect(Date.parse(listed[0].expires_at)).toBeLessThan(clock);
    expect((await raw(e.url, `/v1/files/${f.id}`)).status).toBe(200);
    const content = await raw(e.url, `/v1/files/${f.id}/content`);
    expect(content.status).toBe(404);
    expect(content.json.error).toMatchObject({ type: 'not_found_error', details: { error_code: 'file_expired' } });
    // Expiring again keeps the first time; an unknown id gives null.
    expect((await e.expireFile(f.id))?.expires_at).toBe('2026-01-01T00:00:01.000000Z');
    expect(await e.expireFile('file_nope')).toBeNull();
    clock += 30 * 24 * 3600_000;
    expect((await raw(e.url, '/v1/files')).json.data).toHaveLength(0);
  });

  test('over HTTP: one file, or all; an unknown id is 404; expired files release storage', async () => {
    const e = await start({ storageLimitBytes: 10 });
    const a = (await rawUpload(e.url, { filename: 'a.txt', body: '12345' })).json;
    const b = (await rawUpload(e.url, { filename: 'b.txt', body: '12345' })).json;
    expect((await rawUpload(e.url, { filename: 'c.txt', body: '1' })).status).toBe(400);
    const one = await raw(e.url, `/_emulator/files/${a.id}/expire`, { method: 'POST' });
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({ id: a.id, expires_at: '2026-01-01T00:00:00.000000Z' });
    expect((await raw(e.url, '/_emulator/storage')).json).toEqual({ storageLimitBytes: 10, usedBytes: 5 });
    expect((await raw(e.url, '/_emulator/files/file_nope/expire', { method: 'POST' })).status).toBe(404);
    const all = await raw(e.url, '/_emulator/expire-all', { method: 'POST' });
    expect(all.json.expired.sort()).toEqual([a.id, b.id].sort());
    expect((await rawUpload(e.url, { filename: 'c.txt', body: '1234567890' })).status).toBe(200);
    // GA listing shows both expired copies next to the new file; the beta shape has no expires_at to show.
    const ga = (await raw(e.url, '/v1/files')).json.data;
    expect(ga.map((f: { filename: string }) => f.filename)).toEqual(['c.txt', 'b.txt', 'a.txt']);
    expect(ga[0].expires_at).toBeNull();
  });

  test('an expired file deleted is gone at once, and the expiry survives a folder restart', async () => {
    const dir = await tempDir();
    try {
      const first = await startEmulator({ dataDir: dir.path, now: () => clock });
      const f = await first.addFile({ filename: 'a.txt', bytes: Buffer.from('x') });
      const g = await first.addFile({ filename: 'b.txt', bytes: Buffer.from('y') });
      await first.expireAll();
      expect((await raw(first.url, `/v1/files/${g.id}`, { method: 'DELETE' })).status).toBe(200);
      await first.close();
      const second = await startEmulator({ dataDir: dir.path, now: () => clock });
      expect(second.files().map((x) => [x.id, x.expires_at !== null])).toEqual([[f.id, true]]);
      await second.close();
    } finally {
      await dir.remove();
    }
  });
});

describe('storage limit', () => {
  test('set at run time over HTTP and in-process; an upload over it is 400 storage_quota_exceeded and stores nothing', async () => {
    const e = await start();
    await rawUpload(e.url, { filename: 'a.txt', body: '123456' });
    const put = await raw(e.url, '/_emulator/storage', {
      method: 'PUT',
      body: JSON.stringify({ storageLimitBytes: 8 }),
    });
    expect(put.json).toEqual({ storageLimitBytes: 8, usedBytes: 6 });
    const over = await rawUpload(e.url, { filename: 'b.txt', body: '123' });
    expect(over.status).toBe(400);
    expect(over.json.error).toMatchObject({
      type: 'invalid_request_error',
      details: { error_code: 'storage_quota_exceeded' },
    });
    expect(over.json.error.message).toMatch(/storage quota exceeded/i);
    expect(e.files().map((f) => f.filename)).toEqual(['a.txt']);
    expect(e.stats().byStatus[400]).toBe(1);
    // Lowering the limit below what is stored removes nothing.
    e.setStorageLimitBytes(0);
    expect(e.files()).toHaveLength(1);
    expect((await rawUpload(e.url, { filename: 'empty.txt', body: '' })).status).toBe(200);
    e.setStorageLimitBytes(100);
    expect((await rawUpload(e.url, { filename: 'b.txt', body: '123' })).status).toBe(200);
    expect(() => e.setStorageLimitBytes(-1)).toThrow(/storageLimitBytes/);
    expect(
      (await raw(e.url, '/_emulator/storage', { method: 'PUT', body: JSON.stringify({ storageLimitBytes: 'x' }) }))
        .status,
    ).toBe(400);
  });
});

describe('refusing the key at run time', () => {
  test('in-process: revoke gives 401 authentication_error on /v1, restore brings it back', async () => {
    const e = await start();
    e.key.revoke();
    const refused = await rawUpload(e.url, { filename: 'a.txt', body: 'a' });
    expect(refused.status).toBe(401);
    expect(refused.json.error).toMatchObject({ type: 'authentication_error', message: 'invalid x-api-key' });
    expect(e.files()).toHaveLength(0);
    expect(e.key.state()).toEqual({ state: 'revoked' });
    e.key.restore();
    expect((await raw(e.url, '/v1/files')).status).toBe(200);
  });

  test('over HTTP: rotate makes the old key 401 and the new one work; admin keeps the start key', async () => {
    const e = await start();
    expect(
      (await raw(e.url, '/_emulator/key/rotate', { method: 'POST', body: JSON.stringify({ key: 'sk-new' }) })).json,
    ).toEqual({ state: 'rotated' });
    expect((await raw(e.url, '/v1/files')).status).toBe(401);
    expect((await raw(e.url, '/v1/files', { headers: { 'x-api-key': 'sk-new' } })).status).toBe(200);
    expect((await raw(e.url, '/_emulator/key', { headers: { 'x-api-key': 'sk-new' } })).json).toEqual({
      state: 'rotated',
    });
    expect((await raw(e.url, '/_emulator/key/revoke', { method: 'POST' })).json).toEqual({ state: 'revoked' });
    expect((await raw(e.url, '/v1/files', { headers: { 'x-api-key': 'sk-new' } })).status).toBe(401);
    expect((await raw(e.url, '/_emulator/key', { headers: { 'x-api-key': 'sk-other' } })).status).toBe(401);
    expect(
      (await raw(e.url, '/_emulator/key/restore', { method: 'POST', headers: { 'x-api-key': TEST_KEY } })).json,
    ).toEqual({ state: 'configured' });
    expect((await raw(e.url, '/v1/files')).status).toBe(200);
    expect(
      (await raw(e.url, '/_emulator/key/rotate', { method: 'POST', body: JSON.stringify({ key: '' }) })).status,
    ).toBe(400);
  });

  test('an emulator that accepts any key refuses every key while revoked', async () => {
    const e = await start({ apiKey: null });
    e.key.revoke();
    expect((await raw(e.url, '/v1/files', { headers: { 'x-api-key': 'anything' } })).status).toBe(401);
    expect(
      (await raw(e.url, '/_emulator/key/restore', { method: 'POST', headers: { 'x-api-key': 'anything' } })).status,
    ).toBe(200);
    expect((await raw(e.url, '/v1/files', { headers: { 'x-api-key': 'anything' } })).status).toBe(200);
  });
});
