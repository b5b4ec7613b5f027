import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import type { Emulator } from '../../src/emulator/index.js';
import { BETA, TEST_KEY, raw, rawUpload, seedFiles, startEmulator } from '../helpers/emulator.js';

let emu: Emulator;
let clock = Date.UTC(2026, 0, 1);

beforeEach(async () => {
  clock = Date.UTC(2026, 0, 1);
  emu = await startEmulator({ now: () => clock });
});
afterEach(async () => {
  await emu.close();
});

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

describe('envelope, headers and auth', () => {
  test('every answer carries request-id, and errors repeat it in the envelope', async () => {
    const ok = await raw(emu.url, '/v1/files');
    expect(ok.headers['request-id']).toMatch(/^req_[0-9A-Za-z]{24}$/);
    const missing = await raw(emu.url, '/v1/files/file_nope');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({
      type: 'error',
      error: { type: 'not_found_error', message: 'File file_nope not found.' },
      request_id: missing.headers['request-id'],
    });
  });

  test('accepts x-api-key or Authorization: Bearer, and both versions', async () => {
    const bearer = await raw(emu.url, '/v1/files', {
      shape: 'none',
      headers: { authorization: `Bearer ${TEST_KEY}`, 'anthropic-version': '2026-10-21' },
    });
    expect(bearer.status).toBe(200);
    const key = await raw(emu.url, '/v1/files', {
      shape: 'none',
      headers: { 'x-api-key': TEST_KEY, 'anthropic-version': '2023-06-01' },
    });
    expect(key.status).toBe(200);
  });

  test.each([
    ['no key', { 'anthropic-version': '2023-06-01' }],
    ['a wrong key', { 'x-api-key': 'wrong', 'anthropic-version': '2023-06-01' }],
    ['a wrong bearer', { authorization: 'Bearer wrong', 'anthropic-version': '2023-06-01' }],
  ])('401 authentication_error with %s', async (_label, headers) => {
    const res = await raw(emu.url, '/v1/files', { shape: 'none', headers });
    expect(res.status).toBe(401);
    expect(res.json.error.type).toBe('authentication_error');
  });

  test('with apiKey null any non-empty key is accepted', async () => {
    const open = await startEmulator({ apiKey: null });
    try {
      expect((await raw(open.url, '/v1/files', { headers: { 'x-api-key': 'anything' } })).status).toBe(200);
      expect(
        (await raw(open.url, '/v1/files', { shape: 'none', headers: { 'anthropic-version': '2023-06-01' } })).status,
      ).toBe(401);
    } finally {
      await open.close();
    }
  });

  test('an unknown or missing anthropic-version is a 400', async () => {
    expect((await raw(emu.url, '/v1/files', { headers: { 'anthropic-version': '2020-01-01' } })).status).toBe(400);
    const none = await raw(emu.url, '/v1/files', { shape: 'none', headers: { 'x-api-key': TEST_KEY } });
    expect(none.status).toBe(400);
    expect(none.json.error.type).toBe('invalid_request_error');
  });

  test('unknown routes are 404 and wrong methods 405, ?beta=true is ignored', async () => {
    expect((await raw(emu.url, '/v1/nothing')).status).toBe(404);
    expect((await raw(emu.url, '/v1/files', { method: 'PUT' })).status).toBe(405);
    expect((await raw(emu.url, '/v1/files?beta=true', { shape: 'beta' })).status).toBe(200);
  });
});

describe('shapes', () => {
  test('GA objects carry expires_at (null), beta objects do not', async () => {
    const up = await rawUpload(emu.url, { filename: 'a.txt', contentType: 'text/plain', body: 'hello' });
    expect(up.status).toBe(200);
    expect(up.json).toEqual({
      id: expect.stringMatching(/^file_[0-9A-Za-z]{24}$/),
      type: 'file',
      filename: 'a.txt',
      mime_type: 'text/plain',
      size_bytes: 5,
      created_at: '2026-01-01T00:00:00.000000Z',
      downloadable: false,
      expires_at: null,
    });
    const beta = await raw(emu.url, `/v1/files/${up.json.id}?beta=true`, { shape: 'beta' });
    expect(beta.json).not.toHaveProperty('expires_at');
    expect(beta.json.id).toBe(up.json.id);
  });

  test('the files beta is found in a comma list or a repeated header', async () => {
    await seedFiles(emu, 2);
    const comma = await raw(emu.url, '/v1/files', { headers: { 'anthropic-beta': `other-2025-01-01,${BETA}` } });
    expect(comma.json).toHaveProperty('has_more');
    const repeated = await raw(emu.url, '/v1/files', {
      headers: { 'anthropic-beta': ['other-2025-01-01', ` ${BETA} `] },
    });
    expect(repeated.json).toHaveProperty('has_more');
    expect(repeated.json).not.toHaveProperty('next_page');
  });

  test('managed-agents compat: GA shape plus before_id/after_id and beta fields', async () => {
    const ids = await seedFiles(emu, 3);
    const res = await raw(emu.url, `/v1/files?limit=1&after_id=${ids[0]}`, {
      headers: { 'anthropic-beta': 'managed-agents-2026-04-01' },
    });
    expect(res.status).toBe(200);
    expect(res.json.data[0].id).toBe(ids[1]);
    expect(res.json.data[0]).toHaveProperty('expires_at', null);
    expect(res.json).toMatchObject({
      has_more: true,
      first_id: ids[1],
      last_id: ids[1],
      next_page: expect.stringMatching(/^page_/),
    });
    const ga = await raw(emu.url, `/v1/files?after_id=${ids[0]}`);
    expect(ga.status).toBe(400);
  });
});

describe('upload', () => {
  test('stores the content and its sha256, newest first with strictly increasing created_at', async () => {
    const a = await rawUpload(emu.url, { filename: 'a.txt', contentType: 'text/plain', body: 'one' });
    const b = await rawUpload(emu.url, { filename: 'b.txt', contentType: 'text/plain', body: 'two' });
    const files = emu.files();
    expect(files.map((f) => f.id)).toEqual([b.json.id, a.json.id]);
    expect(files[0]?.sha256).toBe(sha('two'));
    expect(files[0]!.created_at > files[1]!.created_at).toBe(true);
    expect((await emu.content(a.json.id))?.toString()).toBe('one');
  });

  test.each([
    'a/b.txt',
    'a\\b',
    'what?.txt',
    'star*.txt',
    'x'.repeat(256),
    'bad\u0001name',
    'pipe|.txt',
    'a<b>.txt',
    'c:d',
  ])('refuses the filename %j with 400 and stores nothing', async (filename) => {
    const res = await rawUpload(emu.url, { filename, contentType: 'text/plain', body: 'x' });
    expect(res.status).toBe(400);
    expect(res.json.error.type).toBe('invalid_request_error');
    expect(emu.files()).toHaveLength(0);
  });

  test('a missing or empty filename becomes unnamed plus the extension', async () => {
    const none = await rawUpload(emu.url, { filename: null, contentType: 'application/pdf', body: '%PDF' });
    expect(none.json.filename).toBe('unnamed.pdf');
    const empty = await rawUpload(emu.url, { filename: '', contentType: 'text/plain', body: 'x' });
    expect(empty.json.filename).toBe('unnamed.txt');
  });

  test('GA detects a missing content type from the extension; beta requires it', async () => {
    const ga = await rawUpload(emu.url, { filename: 'pic.png', body: 'png' });
    expect(ga.json.mime_type).toBe('image/png');
    const generic = await rawUpload(emu.url, {
      filename: 'doc.pdf',
      contentType: 'application/octet-stream',
      body: 'pdf',
    });
    expect(generic.json.mime_type).toBe('application/pdf');
    const beta = await rawUpload(emu.url, { filename: 'pic.png', body: 'png' }, { shape: 'beta' });
    expect(beta.status).toBe(400);
    expect(beta.json.error.message).toMatch(/Content-Type/);
    const betaOk = await rawUpload(
      emu.url,
      { filename: 'pic.png', contentType: 'image/png', body: 'png' },
      { shape: 'beta' },
    );
    expect(betaOk.status).toBe(200);
  });

  test('a 0-byte file is accepted', async () => {
    const res = await rawUpload(emu.url, { filename: 'empty.txt', contentType: 'text/plain', body: '' });
    expect(res.json.size_bytes).toBe(0);
    expect(emu.files()[0]?.sha256).toBe(sha(''));
  });

  test('refuses a body that is not multipart or has no file part', async () => {
    const json = await raw(emu.url, '/v1/files', {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(json.status).toBe(400);
    const noFile = await rawUpload(emu.url, { filename: 'a.txt', body: 'x' }, { extraParts: [] });
    expect(noFile.status).toBe(200);
    const truncated = await raw(emu.url, '/v1/files', {
      method: 'POST',
      body: '--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nabc',
      headers: { 'content-type': 'multipart/form-data; boundary=b' },
    });
    expect(truncated.status).toBe(400);
    expect(truncated.json.error.message).toMatch(/Malformed multipart/);
    const onlyField = await raw(emu.url, '/v1/files', {
      method: 'POST',
      body: '--b\r\nContent-Disposition: form-data; name="other"\r\n\r\nabc\r\n--b--\r\n',
      headers: { 'content-type': 'multipart/form-data; boundary=b' },
    });
    expect(onlyField.status).toBe(400);
    expect(emu.files()).toHaveLength(1);
  });

  test('storage quota: 400 storage_quota_exceeded, and expired files release quota', async () => {
    const small = await startEmulator({ storageLimitBytes: 10, now: () => clock });
    try {
      expect(
        (await rawUpload(small.url, { filename: 'a.txt', body: '12345678' }, { expiresInSeconds: 3600 })).status,
      ).toBe(200);
      const over = await rawUpload(small.url, { filename: 'b.txt', body: '12345' });
      expect(over.status).toBe(400);
      expect(over.json.error).toMatchObject({
        type: 'invalid_request_error',
        details: { error_code: 'storage_quota_exceeded' },
      });
      clock += 3600_000;
      expect((await rawUpload(small.url, { filename: 'b.txt', body: '12345' })).status).toBe(200);
    } finally {
      await small.close();
    }
  });
});

describe('expiry', () => {
  test('GA expires_in_seconds sets expires_at; after it content is 404 file_expired but the file still lists', async () => {
    const gen = await emu.addFile({
      filename: 'out.csv',
      bytes: Buffer.from('a,b'),
      downloadable: true,
      expiresInSeconds: 7200,
    });
    expect(gen.expires_at).toBe('2026-01-01T02:00:00.000000Z');
    const up = await rawUpload(emu.url, { filename: 'a.txt', body: 'x' }, { expiresInSeconds: 3600 });
    // One microsecond after the first file: created_at is strictly increasing.
    expect(up.json.expires_at).toBe('2026-01-01T01:00:00.000001Z');
    expect((await raw(emu.url, `/v1/files/${gen.id}/content`)).status).toBe(200);
    clock += 7200_000;
    const gone = await raw(emu.url, `/v1/files/${gen.id}/content`);
    expect(gone.status).toBe(404);
    expect(gone.json.error).toMatchObject({ type: 'not_found_error', details: { error_code: 'file_expired' } });
    expect((await raw(emu.url, `/v1/files/${gen.id}`)).status).toBe(200);
    expect((await raw(emu.url, '/v1/files')).json.data.map((f: { id: string }) => f.id)).toContain(gen.id);
    clock += 31 * 24 * 3600_000;
    expect((await raw(emu.url, `/v1/files/${gen.id}`)).status).toBe(404);
  });

  test.each(['3599', '7776001', 'soon', '3600.5'])('refuses expires_in_seconds=%s', async (value) => {
    const res = await rawUpload(emu.url, { filename: 'a.txt', body: 'x' }, { expiresInSeconds: value });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toMatch(/expires_in_seconds/);
    expect(emu.files()).toHaveLength(0);
  });

  test('the bounds 3600 and 7776000 are accepted; the beta shape ignores the field', async () => {
    expect((await rawUpload(emu.url, { filename: 'a.txt', body: 'x' }, { expiresInSeconds: 3600 })).status).toBe(200);
    expect((await rawUpload(emu.url, { filename: 'a.txt', body: 'x' }, { expiresInSeconds: 7776000 })).status).toBe(
      200,
    );
    const beta = await rawUpload(
      emu.url,
      { filename: 'a.txt', contentType: 'text/plain', body: 'x' },
      { shape: 'beta', expiresInSeconds: 5 },
    );
    expect(beta.status).toBe(200);
    expect(emu.files()[0]?.expires_at).toBeNull();
  });
});

describe('download and delete', () => {
  test('an uploaded file is not downloadable: 400 file_not_downloadable', async () => {
    const up = await rawUpload(emu.url, { filename: 'a.txt', body: 'x' });
    const res = await raw(emu.url, `/v1/files/${up.json.id}/content`);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({
      type: 'invalid_request_error',
      details: { error_code: 'file_not_downloadable' },
    });
  });

  test('a downloadable file comes back byte for byte with its type', async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 254]);
    const f = await emu.addFile({ filename: 'chart.png', bytes, downloadable: true });
    expect(f.mime_type).toBe('image/png');
    const res = await raw(emu.url, `/v1/files/${encodeURIComponent(f.id)}/content`, { shape: 'beta' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(Buffer.from(res.text, 'latin1').length).toBe(5);
  });

  test('delete answers {id, type} and then 404 everywhere', async () => {
    const up = await rawUpload(emu.url, { filename: 'a.txt', body: 'x' });
    const del = await raw(emu.url, `/v1/files/${up.json.id}`, { method: 'DELETE' });
    expect(del.json).toEqual({ id: up.json.id, type: 'file_deleted' });
    expect((await raw(emu.url, `/v1/files/${up.json.id}`)).status).toBe(404);
    expect((await raw(emu.url, `/v1/files/${up.json.id}`, { method: 'DELETE' })).status).toBe(404);
    expect((await raw(emu.url, `/v1/files/${up.json.id}/content`)).status).toBe(404);
    expect(emu.files()).toHaveLength(0);
    expect(await emu.content(up.json.id)).toBeNull();
  });
});

describe('list over HTTP', () => {
  test('GA paging, ids[] and bad limits', async () => {
    const ids = await seedFiles(emu, 25);
    const first = await raw(emu.url, '/v1/files');
    expect(first.json.data).toHaveLength(20);
    const second = await raw(emu.url, `/v1/files?page=${first.json.next_page}`);
    expect([...first.json.data, ...second.json.data].map((f: { id: string }) => f.id)).toEqual(ids);
    expect(second.json.next_page).toBeNull();
    const some = await raw(emu.url, `/v1/files?ids[]=${ids[3]}&ids[]=${ids[1]}&ids[]=file_missing`);
    expect(some.json.data.map((f: { id: string }) => f.id)).toEqual([ids[1], ids[3]]);
    const bad = await raw(emu.url, '/v1/files?limit=0');
    expect(bad.status).toBe(400);
    expect((await raw(emu.url, `/v1/files?ids[]=${ids[0]}&limit=2`)).status).toBe(400);
  });
});

describe('stats', () => {
  test('count requests by route and status, and body bytes', async () => {
    await rawUpload(emu.url, { filename: 'a.txt', body: 'hello' });
    await raw(emu.url, '/v1/files');
    await raw(emu.url, '/v1/files/file_x');
    const s = emu.stats();
    expect(s.requests).toBe(3);
    expect(s.byRoute).toEqual({ upload: 1, list: 1, retrieve: 1, download: 0, delete: 0 });
    expect(s.byStatus).toEqual({ 200: 2, 404: 1 });
    expect(s.bytesReceived).toBeGreaterThan(5);
    emu.resetStats();
    expect(emu.stats().requests).toBe(0);
  });
});

describe('lifecycle and logging', () => {
  test('logs one structured line per request and close() is idempotent', async () => {
    const lines: { obj: any; msg?: string }[] = [];
    const logged = await startEmulator({
      logger: { info: (obj, msg) => lines.push({ obj, ...(msg ? { msg } : {}) }) },
    });
    await raw(logged.url, '/v1/files');
    await raw(logged.url, '/v1/files/file_x');
    await new Promise((r) => setTimeout(r, 20));
    expect(lines.map((l) => [l.obj.method, l.obj.path, l.obj.status])).toEqual([
      ['GET', '/v1/files', 200],
      ['GET', '/v1/files/file_x', 404],
    ]);
    expect(JSON.stringify(lines)).not.toContain(TEST_KEY);
    const a = logged.close();
    expect(logged.close()).toBe(a);
    await a;
  });
});
