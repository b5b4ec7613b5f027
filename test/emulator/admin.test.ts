import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { raw, rawUpload, startEmulator } from '../helpers/emulator.js';

let emu: Emulator;
beforeEach(async () => {
  emu = await startEmulator();
});
afterEach(async () => {
  await emu.close();
});

describe('/_emulator/ admin surface', () => {
  test('needs the key but no anthropic-version', async () => {
    expect((await raw(emu.url, '/_emulator/stats', { shape: 'none' })).status).toBe(401);
    expect(
      (await raw(emu.url, '/_emulator/stats', { shape: 'none', headers: { authorization: 'Bearer sk-ant-test-key' } }))
        .status,
    ).toBe(200);
  });

  test('GET files lists stored files with sha256, newest first', async () => {
    await rawUpload(emu.url, { filename: 'a.txt', body: 'a' });
    await rawUpload(emu.url, { filename: 'b.txt', body: 'b' });
    const res = await raw(emu.url, '/_emulator/files');
    expect(res.json.data.map((f: { filename: string }) => f.filename)).toEqual(['b.txt', 'a.txt']);
    expect(res.json.data[0].sha256).toBe('3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d');
  });

  test('POST files adds a downloadable file', async () => {
    const res = await raw(emu.url, '/_emulator/files', {
      method: 'POST',
      body: JSON.stringify({
        filename: 'out.txt',
        content_base64: Buffer.from('generated').toString('base64'),
        downloadable: true,
      }),
    });
    expect(res.status).toBe(200);
    const content = await raw(emu.url, `/v1/files/${res.json.id}/content`);
    expect(content.text).toBe('generated');
  });

  test('PUT faults merges, returns the full config and refuses bad values', async () => {
    const res = await raw(emu.url, '/_emulator/faults', {
      method: 'PUT',
      body: JSON.stringify({ error529Rate: 1, retryAfterMs: 10 }),
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ error529Rate: 1, retryAfterMs: 10, error500Rate: 0, hang: false, seed: 1 });
    expect((await raw(emu.url, '/v1/files')).status).toBe(529);
    const bad = await raw(emu.url, '/_emulator/faults', { method: 'PUT', body: JSON.stringify({ error529Rate: 'x' }) });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/error529Rate/);
    expect((await raw(emu.url, '/_emulator/faults', { method: 'PUT', body: 'not json' })).status).toBe(400);
    expect((await raw(emu.url, '/_emulator/faults')).json.error529Rate).toBe(1);
  });

  test('GET stats and POST reset-stats; admin calls are not counted', async () => {
    await raw(emu.url, '/v1/files');
    const stats = await raw(emu.url, '/_emulator/stats');
    expect(stats.json).toMatchObject({ requests: 1, byRoute: { list: 1 }, byStatus: { 200: 1 } });
    const reset = await raw(emu.url, '/_emulator/reset-stats', { method: 'POST' });
    expect(reset.json.requests).toBe(0);
    expect(emu.stats().requests).toBe(0);
  });

  test('unknown admin routes are 404', async () => {
    expect((await raw(emu.url, '/_emulator/nope')).status).toBe(404);
  });
});
