import { afterEach, describe, expect, test } from 'vitest';
import { keyLabel, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js';
import { TEST_KEY, raw, rawUpload, startEmulator } from '../helpers/emulator.js';

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

const list = (e: Emulator, key = TEST_KEY) => raw(e.url, '/v1/files', { headers: { 'x-api-key': key } });
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

describe('rate-limit headers', () => {
  test('accepted answers and 429s carry limit, remaining and an RFC 3339 reset', async () => {
    const e = await start({ faults: { requestsPerMinute: 2 } });
    const first = await list(e);
    expect(first.headers['anthropic-ratelimit-requests-limit']).toBe('2');
    expect(first.headers['anthropic-ratelimit-requests-remaining']).toBe('1');
    expect(first.headers['anthropic-ratelimit-requests-reset']).toMatch(RFC3339);
    // One token used at 2/min: full again in 30 s.
    expect(first.headers['anthropic-ratelimit-requests-reset']).toBe('2026-01-01T00:00:30.000Z');
    expect((await list(e)).headers['anthropic-ratelimit-requests-remaining']).toBe('0');
    const refused = await list(e);
    expect(refused.status).toBe(429);
    expect(refused.headers['anthropic-ratelimit-requests-remaining']).toBe('0');
    expect(refused.headers['anthropic-ratelimit-requests-reset']).toBe('2026-01-01T00:01:00.000Z');
    expect(refused.headers['retry-after']).toBe('30');
  });

  test('no rate-limit headers without a limit', async () => {
    const e = await start();
    const res = await list(e);
    expect(res.headers['anthropic-ratelimit-requests-limit']).toBeUndefined();
    expect(res.headers['anthropic-ratelimit-requests-remaining']).toBeUndefined();
  });

  test('retry-after-ms on the limiter 429 can be switched off; retry-after stays', async () => {
    const e = await start({ faults: { requestsPerMinute: 1, rateLimitRetryAfterMs: false } });
    await list(e);
    const refused = await list(e);
    expect(refused.headers['retry-after']).toBe('60');
    expect(refused.headers['retry-after-ms']).toBeUndefined();
  });
});

describe('limiter modes', () => {
  test('sliding-window at start: a request at 59.6 s is refused, retry-after rounds 0.4 s up to 1', async () => {
    const e = await start({ faults: { requestsPerMinute: 2, rateLimitMode: 'sliding-window' } });
    expect((await list(e)).status).toBe(200);
    clock += 30_000;
    expect((await list(e)).status).toBe(200);
    clock += 29_600;
    const refused = await list(e);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.headers['retry-after-ms']).toBe('400');
    clock += 400;
    expect((await list(e)).status).toBe(200);
  });

  test('the mode is switched at run time over HTTP, and each key starts afresh', async () => {
    const e = await start({ faults: { requestsPerMinute: 2 } });
    await list(e);
    await list(e);
    expect((await list(e)).status).toBe(429);
    const put = await raw(e.url, '/_emulator/faults', {
      method: 'PUT',
      body: JSON.stringify({ rateLimitMode: 'sliding-window' }),
    });
    expect(put.json).toMatchObject({ rateLimitMode: 'sliding-window', requestsPerMinute: 2 });
    expect((await list(e)).status).toBe(200);
    expect((await list(e)).status).toBe(200);
    clock += 30_000;
    // A token bucket would have refilled one request by now; the window has not.
    expect((await list(e)).status).toBe(429);
    const bad = await raw(e.url, '/_emulator/faults', {
      method: 'PUT',
      body: JSON.stringify({ rateLimitMode: 'leaky' }),
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/rateLimitMode/);
    e.setFaults({ rateLimitMode: 'token-bucket' });
    expect(e.faults().rateLimitMode).toBe('token-bucket');
  });

  test('clients on one key share its limit; another key has its own', async () => {
    const e = await startEmulator({ apiKey: null, now: () => clock, faults: { requestsPerMinute: 3 } });
    emu = e;
    const statuses: number[] = [];
    // Three "daemons" on one key, one request each, then one more.
    for (let i = 0; i < 4; i++) statuses.push((await list(e, 'sk-shared')).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect((await list(e, 'sk-other')).status).toBe(200);
  });
});

describe('stats for benchmarks', () => {
  test('accepted and rejected429 are counted in total, by route kind and by key fingerprint', async () => {
    const e = await start({ faults: { requestsPerMinute: 2 } });
    await rawUpload(e.url, { filename: 'a.txt', body: 'a' });
    await list(e);
    expect((await list(e)).status).toBe(429);
    expect((await raw(e.url, '/v1/files', { headers: { 'x-api-key': 'wrong' } })).status).toBe(401);
    const stats = (await raw(e.url, '/_emulator/stats')).json;
    expect(stats).toMatchObject({
      since: '2026-01-01T00:00:00.000Z',
      accepted: 2,
      rejected429: 1,
      byKind: { upload: { accepted: 1, rejected429: 0 }, list: { accepted: 1, rejected429: 1 } },
      byKey: { [keyLabel(TEST_KEY)]: { accepted: 2, rejected429: 1 } },
      injected: { rateLimited: 1 },
    });
    // The key itself is never shown.
    expect(JSON.stringify(stats)).not.toContain(TEST_KEY);
    clock += 5000;
    expect((await raw(e.url, '/_emulator/reset-stats', { method: 'POST' })).json).toMatchObject({
      since: '2026-01-01T00:00:05.000Z',
      accepted: 0,
      byKey: {},
    });
  });
});

describe('429 storm', () => {
  test('in-process: every request is answered 429 with its retry-after until the duration ends', async () => {
    const e = await start({ faults: { requestsPerMinute: 100 } });
    const storm = e.startStorm({ durationMs: 90_000, retryAfterSeconds: 30 });
    expect(storm).toEqual({ endsAt: '2026-01-01T00:01:30.000Z', retryAfterSeconds: 30, retryAfterMs: null });
    const refused = await rawUpload(e.url, { filename: 'a.txt', body: 'a' });
    expect(refused.status).toBe(429);
    expect(refused.json.error.type).toBe('rate_limit_error');
    expect(refused.headers['retry-after']).toBe('30');
    expect(refused.headers['retry-after-ms']).toBeUndefined();
    // The storm takes nothing from the limiter.
    expect(refused.headers['anthropic-ratelimit-requests-remaining']).toBe('100');
    expect(e.files()).toHaveLength(0);
    clock += 89_999;
    expect((await list(e)).status).toBe(429);
    clock += 1;
    expect(e.storm()).toBeNull();
    expect((await list(e)).status).toBe(200);
    expect(e.stats()).toMatchObject({ rejected429: 2, accepted: 1, injected: { storm: 2, rateLimited: 0 } });
  });

  test('over HTTP: PUT starts it (retry-after-ms optional), GET reads it, DELETE ends it early', async () => {
    const e = await start();
    const put = await raw(e.url, '/_emulator/storm', {
      method: 'PUT',
      body: JSON.stringify({ durationMs: 10_000, retryAfterSeconds: 1, retryAfterMs: 800 }),
    });
    expect(put.json.storm).toEqual({ endsAt: '2026-01-01T00:00:10.000Z', retryAfterSeconds: 1, retryAfterMs: 800 });
    const refused = await list(e);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after-ms']).toBe('800');
    expect((await raw(e.url, '/_emulator/storm')).json.storm.endsAt).toBe('2026-01-01T00:00:10.000Z');
    // Admin routes are never stormed.
    expect((await raw(e.url, '/_emulator/stats')).status).toBe(200);
    expect((await raw(e.url, '/_emulator/storm', { method: 'DELETE' })).json).toEqual({ storm: null });
    expect((await list(e)).status).toBe(200);
    const bad = await raw(e.url, '/_emulator/storm', { method: 'PUT', body: JSON.stringify({ durationMs: -1 }) });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/durationMs/);
  });
});
