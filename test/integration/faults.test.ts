import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { Emulator } from '../../src/emulator/index.js';
import { seededRandom } from '../../src/emulator/faults/faults.js';
import {
  checkInvariants,
  createHarness,
  TEST_KEY,
  type Harness,
  type HarnessOptions,
} from '../helpers/engine-harness.js';
import { behind, startRecordingProxy, type Seen } from '../helpers/recording-proxy.js';
import { put } from '../helpers/fs.js';
import { harnessTeardown } from '../helpers/teardown.js';

let h: Harness | null = null;
const cleanups = harnessTeardown(() => {
  const x = h;
  h = null;
  return x;
});

const isUpload = (s: Seen) => s.method === 'POST' && s.url.startsWith('/v1/files');
const isList = (s: Seen) => s.method === 'GET' && /^\/v1\/files(\?|$)/.test(s.url);

function answer500(res: ServerResponse): void {
  const body = JSON.stringify({
    type: 'error',
    error: { type: 'api_error', message: 'Internal server error (proxy)' },
    request_id: 'req_proxy',
  });
  res.writeHead(500, { 'content-type': 'application/json', 'request-id': 'req_proxy' });
  res.end(body);
}

async function harnessBehindProxy(o: HarnessOptions = {}) {
  const emulator = await Emulator.start({ apiKey: TEST_KEY });
  const proxy = await startRecordingProxy(emulator.url);
  cleanups.push(() => emulator.close());
  cleanups.push(() => proxy.close());
  h = await createHarness({ ...o, emulator: behind(emulator, proxy.url) });
  return { emulator, proxy, h };
}

/** Every state a path went through, from the engine's log (a `failure` event marks it failed). */
const failures = (x: Harness) => x.logs.filter((l) => (l as { event?: string }).event === 'failure');

describe('a lost upload answer', () => {
  it('whose lookup listings fail keeps its intent and is resolved at the next successful listing: no duplicate, no leak, no failed file', async () => {
    const { emulator, proxy, h } = await harnessBehindProxy({ watch: false, config: { api: { maxRetries: 2 } } });
    await put(h, 'a.txt', 'the only copy');
    let listings = 0;
    let uploads = 0;
    proxy.handler = async (req, res, forward) => {
      if (isList(req)) {
        listings += 1;
        // The start-up listing passes; then every listing fails until six have (the client's
        // lookup with its retries, and the engine's own look before any second upload).
        if (listings >= 2 && listings <= 7) return void answer500(res);
        return false;
      }
      if (isUpload(req)) {
        uploads += 1;
        // The first upload is stored, and its answer lost.
        if (uploads === 1) {
          await forward();
          return void res.destroy();
        }
      }
      return false;
    };
    await h.engine.start();
    await h.engine.onIdle();
    // Before: the look before a second upload failed too, so the file went again: two copies.
    expect(emulator.files().map((f) => f.filename)).toHaveLength(1);
    expect(uploads).toBe(1);
    expect(failures(h)).toEqual([]);
    expect(await checkInvariants(h)).toEqual([]);
    // It was resolved by a listing after the six that failed, not by a reconcile.
    expect(listings).toBeGreaterThan(7);
  });
});

describe('the fault mix', () => {
  it('100 files through 10% 500s, 10% 529s, 10% 429s and 5% resets: every file synced once, none failed, requests within ideal + faults + recovery listings', async () => {
    h = await createHarness({
      watch: false,
      // The client's default retries; the rate limit is not what this test measures.
      config: { api: { maxRetries: 2 } },
      faults: { error500Rate: 0.1, error529Rate: 0.1, error429Rate: 0.1, retryAfterMs: 200, resetRate: 0.05, seed: 10 },
    });
    const rand = seededRandom(10);
    for (let i = 0; i < 100; i += 1) {
      const size = 1024 + Math.floor(rand() * 19 * 1024);
      await put(h, `d${i % 7}/f${String(i).padStart(3, '0')}.bin`, Buffer.alloc(size, `file ${i} `));
    }
    await h.engine.start();
    await h.engine.onIdle();
    const stats = h.emulator.stats();
    expect(failures(h)).toEqual([]);
    expect(h.index.countByState().failed ?? 0).toBe(0);
    // Exactly one remote copy per file, nothing left over, without a final reconcile.
    expect(await checkInvariants(h)).toEqual([]);
    expect(h.emulator.files()).toHaveLength(100);
    const injected = stats.injected.e500 + stats.injected.e529 + stats.injected.e429 + stats.injected.reset;
    const ideal = 100 + 1; // one upload per file and the start-up listing
    // Uploads: one per file, plus one retry per injected fault at most.
    expect(stats.byRoute.upload).toBeLessThanOrEqual(100 + injected);
    // A recovery listing follows only an unanswered upload (a reset), one per reset; when that
    // listing itself meets a fault, the kept intent waits for one more (a fault counted once in
    // `injected`, its listing once here): at most two per reset.
    expect(stats.byRoute.list - 1).toBeLessThanOrEqual(2 * stats.injected.reset);
    expect(stats.byRoute.retrieve + stats.byRoute.download + stats.byRoute.delete).toBe(0);
    expect(stats.requests).toBeLessThanOrEqual(ideal + injected + 2 * stats.injected.reset);
  }, 120_000);
});
