import { afterEach, describe, expect, test } from 'vitest';
import type { Emulator, EmulatorOptions } from '../../src/emulator/index.js';
import { raw, rawUpload, startEmulator } from '../helpers/emulator.js';

let emu: Emulator | null = null;
afterEach(async () => {
  await emu?.close();
  emu = null;
});

async function start(options: EmulatorOptions): Promise<Emulator> {
  emu = await startEmulator(options);
  return emu;
}

describe('injected errors', () => {
  test('500 api_error', async () => {
    const e = await start({ faults: { error500Rate: 1 } });
    const res = await raw(e.url, '/v1/files');
    expect(res.status).toBe(500);
    expect(res.json).toMatchObject({
      type: 'error',
      error: { type: 'api_error' },
      request_id: res.headers['request-id'],
    });
    expect(e.stats().injected.e500).toBe(1);
  });

  test('529 overloaded_error with the configured retry headers', async () => {
    const e = await start({ faults: { error529Rate: 1, retryAfterSeconds: 3, retryAfterMs: 2500 } });
    const res = await raw(e.url, '/v1/files');
    expect(res.status).toBe(529);
    expect(res.json.error.type).toBe('overloaded_error');
    expect(res.headers['retry-after']).toBe('3');
    expect(res.headers['retry-after-ms']).toBe('2500');
    expect(e.stats().injected.e529).toBe(1);
  });

  test('429 rate_limit_error, with retry-after only when set', async () => {
    const e = await start({ faults: { error429Rate: 1 } });
    const bare = await raw(e.url, '/v1/files');
    expect(bare.status).toBe(429);
    expect(bare.json.error.type).toBe('rate_limit_error');
    expect(bare.headers['retry-after']).toBeUndefined();
    e.setFaults({ retryAfterSeconds: 1 });
    expect((await raw(e.url, '/v1/files')).headers['retry-after']).toBe('1');
    expect(e.stats().injected.e429).toBe(2);
  });

  test('an injected error on an upload stores nothing', async () => {
    const e = await start({ faults: { error500Rate: 1 } });
    expect((await rawUpload(e.url, { filename: 'a.txt', body: 'x'.repeat(100_000) })).status).toBe(500);
    expect(e.files()).toHaveLength(0);
  });

  test('the same seed gives the same sequence of faults', async () => {
    const statuses = async (): Promise<number[]> => {
      const e = await startEmulator({ faults: { error500Rate: 0.3, error429Rate: 0.3, seed: 7 } });
      const out: number[] = [];
      for (let i = 0; i < 30; i++) out.push((await raw(e.url, '/v1/files')).status);
      await e.close();
      return out;
    };
    const a = await statuses();
    expect(await statuses()).toEqual(a);
    expect(new Set(a)).toEqual(new Set([200, 429, 500]));
  });

  test('faults can be changed while running and read back', async () => {
    const e = await start({});
    expect((await raw(e.url, '/v1/files')).status).toBe(200);
    e.setFaults({ error500Rate: 1 });
    expect(e.faults().error500Rate).toBe(1);
    expect((await raw(e.url, '/v1/files')).status).toBe(500);
    e.setFaults({ error500Rate: 0 });
    expect((await raw(e.url, '/v1/files')).status).toBe(200);
    expect(() => e.setFaults({ resetRate: 5 })).toThrow(/resetRate/);
  });
});

describe('connection faults', () => {
  test('reset: the socket is destroyed before handling and nothing is stored', async () => {
    const e = await start({ faults: { resetRate: 1 } });
    await expect(rawUpload(e.url, { filename: 'a.txt', body: 'x' })).rejects.toThrow();
    expect(e.files()).toHaveLength(0);
    expect(e.stats().injected.reset).toBe(1);
  });

  test('lost response: the upload is stored but never answered', async () => {
    const e = await start({ faults: { lostResponseRate: 1 } });
    await expect(rawUpload(e.url, { filename: 'lost.txt', body: 'kept' })).rejects.toThrow();
    expect(e.files().map((f) => f.filename)).toEqual(['lost.txt']);
    expect(e.stats().injected.lost).toBe(1);
    // Reads are answered normally: only uploads and deletes lose their answers.
    expect((await raw(e.url, '/v1/files')).json.data).toHaveLength(1);
  });

  test('lost response: the delete happens but is never answered', async () => {
    const e = await start({});
    const f = await e.addFile({ filename: 'a.txt', bytes: Buffer.from('x') });
    e.setFaults({ lostResponseRate: 1 });
    await expect(raw(e.url, `/v1/files/${f.id}`, { method: 'DELETE' })).rejects.toThrow();
    expect(e.files()).toHaveLength(0);
  });

  test('latency delays each /v1 answer by at least latencyMs', async () => {
    const e = await start({ faults: { latencyMs: 250 } });
    const t0 = performance.now();
    expect((await raw(e.url, '/v1/files')).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(245);
  });

  test('hang: requests are accepted and never answered, and close() still finishes', async () => {
    const e = await start({ faults: { hang: true } });
    await expect(raw(e.url, '/v1/files', { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    const pending = raw(e.url, '/v1/files').catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 50));
    await e.close();
    expect(await pending).toBeInstanceOf(Error);
  });
});

describe('requestsPerMinute', () => {
  test('a token bucket: the burst passes, the excess gets 429 with retry-after, and it refills', async () => {
    let clock = 1_000_000;
    const e = await start({ now: () => clock, faults: { requestsPerMinute: 3 } });
    for (let i = 0; i < 3; i++) {
      const ok = await raw(e.url, '/v1/files');
      expect(ok.status).toBe(200);
      expect(ok.headers['anthropic-ratelimit-requests-limit']).toBe('3');
    }
    const limited = await raw(e.url, '/v1/files');
    expect(limited.status).toBe(429);
    expect(limited.json.error.type).toBe('rate_limit_error');
    expect(limited.headers['retry-after']).toBe('20');
    expect(limited.headers['retry-after-ms']).toBe('20000');
    clock += 10_000;
    const stillLimited = await raw(e.url, '/v1/files');
    expect(stillLimited.headers['retry-after']).toBe('10');
    clock += 10_000;
    expect((await raw(e.url, '/v1/files')).status).toBe(200);
    expect(e.stats().injected.rateLimited).toBe(2);
  });
});

describe('admin requests are never faulted', () => {
  test('stats and faults answer while every /v1 request fails', async () => {
    const e = await start({ faults: { error500Rate: 1, resetRate: 0 } });
    const stats = await raw(e.url, '/_emulator/stats');
    expect(stats.status).toBe(200);
    e.setFaults({ hang: true });
    expect((await raw(e.url, '/_emulator/files')).status).toBe(200);
  });
});
