/**
 * Bad input from the API side (issue 5, "Bad input"): wrong, revoked or missing keys, a 403, a
 * storage-full 400, malformed and truncated responses, an API that never answers. Each gets a
 * clear message, the other files keep syncing, nothing is lost or duplicated, and there is no
 * retry storm (requests are counted). A recording proxy (test/helpers/recording-proxy.ts) stands
 * between the engine and the emulator where the emulator itself cannot misbehave in the needed way.
 */
import type { ServerResponse } from 'node:http';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFilesClient } from '../../src/api/index.js';
import {
  APIConnectionTimeoutError,
  APIError,
  AuthenticationError,
  PermissionDeniedError,
} from '../../src/api/errors.js';
import { ConfigError } from '../../src/errors.js';
import { Emulator } from '../../src/emulator/index.js';
import { behind, sendUpstream, startRecordingProxy, type Seen } from '../helpers/recording-proxy.js';
import {
  checkInvariants,
  createHarness,
  TEST_KEY,
  waitUntil,
  type Harness,
  type HarnessOptions,
  events,
} from '../helpers/engine-harness.js';
import { put } from '../helpers/fs.js';
import { sleep } from '../helpers/time.js';
import { harnessTeardown } from '../helpers/teardown.js';

let h: Harness | null = null;
const cleanups = harnessTeardown(() => {
  const x = h;
  h = null;
  return x;
});

// --- a proxy that can answer in place of the emulator -------------------------------------------

function apiError(res: ServerResponse, status: number, type: string, message: string): void {
  const body = JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_proxy' });
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': 'req_proxy' });
  res.end(body);
}

async function harnessBehindProxy(o: HarnessOptions = {}, emulatorOptions: Parameters<typeof Emulator.start>[0] = {}) {
  const emulator = await Emulator.start({ apiKey: TEST_KEY, ...emulatorOptions });
  const proxy = await startRecordingProxy(emulator.url);
  cleanups.push(() => emulator.close());
  cleanups.push(() => proxy.close());
  h = await createHarness({ ...o, emulator: behind(emulator, proxy.url) });
  return { emulator, proxy, h };
}

const isUpload = (s: Seen) => s.method === 'POST' && s.url.startsWith('/v1/files');
const isList = (s: Seen) => s.method === 'GET' && /^\/v1\/files(\?|$)/.test(s.url);

// --- the cases ------------------------------------------------------------------------------------

async function malformedListing(body: string): Promise<void> {
  // No retries: a bad listing fails the same way after the client's backoff (0.5 s, 1 s, 2 s, 4 s) as
  // at once, and what this guards is what reconcile does with the failure, not the retry policy.
  const { proxy, emulator } = await harnessBehindProxy({ watch: false, config: { api: { maxRetries: 0 } } });
  for (let i = 0; i < 4; i += 1) await put(h!, `f${i}.txt`, `file ${i}`);
  await h!.engine.start();
  await h!.engine.onIdle();
  emulator.resetStats();
  proxy.handler = async (req, res, forward) => {
    if (isList(req)) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(body);
    }
    sendUpstream(res, await forward());
  };
  const outcome = await h!.engine.reconcile().then(
    (r) => r,
    (e: unknown) => e,
  );
  await h!.engine.onIdle();
  // The damage first: a listing read as "the remote is empty" re-uploads everything.
  expect(emulator.stats().byRoute.upload).toBe(0);
  expect(emulator.stats().byRoute.delete).toBe(0);
  expect(outcome).toBeInstanceOf(APIError);
  expect((outcome as APIError).message).toMatch(/list|response|JSON/i);
  proxy.handler = null;
  expect(await checkInvariants(h!)).toEqual([]);
}

describe('bad input: the API side', () => {
  it('a wrong key: AuthenticationError at once, one request, no retry storm', async () => {
    const emulator = await Emulator.start({ apiKey: 'sk-ant-the-right-key-987654' });
    cleanups.push(() => emulator.close());
    h = await createHarness({ watch: true, emulator, config: { api: { maxRetries: 4 } } });
    await writeFile(path.join(h.dir, 'a.txt'), 'a');
    const err = await h.engine.start().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).status).toBe(401);
    expect((err as Error).message).toMatch(/x-api-key|authentication/i);
    expect((err as AuthenticationError).hint).toMatch(/ANTHROPIC_API_KEY/);
    expect(emulator.stats().requests).toBe(1);
    await sleep(1500);
    expect(emulator.stats().requests).toBe(1);
    expect(emulator.files()).toHaveLength(0);
  });

  it('a key revoked while running: the queue stops with a clear message, a bounded number of 401s, nothing lost', async () => {
    const { proxy, emulator } = await harnessBehindProxy({
      watch: true,
      settleMs: 100,
      config: { queue: { concurrency: 2 } },
    });
    await put(h!, 'before.txt', 'synced before the revocation');
    await h!.engine.start();
    await h!.engine.onIdle();
    let revoked = 0;
    proxy.handler = async (_req, res) => {
      revoked += 1;
      apiError(res, 401, 'authentication_error', 'invalid x-api-key');
    };
    for (let i = 0; i < 10; i += 1) await put(h!, `after${i}.txt`, `after ${i}`);
    await waitUntil(() => events(h!, 'key-refused').length > 0, 20_000, 'the key-refused message');
    // The uploads sent before the first 401 came back are answered; then nothing more may go out.
    await waitUntil(() => h!.engine.status().queue.inFlight === 0, 20_000, 'the uploads in flight answered');
    const seenAfter = revoked;
    // At most the uploads already in flight when the first 401 came back: no retries, no storm.
    expect(seenAfter).toBeGreaterThan(0);
    expect(seenAfter).toBeLessThanOrEqual(2);
    await sleep(2000);
    expect(revoked).toBe(seenAfter);
    expect(String(events(h!, 'key-refused')[0]?.msg)).toMatch(/refused the key.*ANTHROPIC_API_KEY/);
    expect(h!.engine.status().lastErrors.some((e) => /invalid x-api-key/.test(e.error))).toBe(true);
    // A new key (here: the proxy lets requests through again) and a restart sync everything once.
    proxy.handler = null;
    await h!.restart();
    await h!.engine.onIdle();
    expect(emulator.files()).toHaveLength(11);
    expect(await checkInvariants(h!)).toEqual([]);
  });

  it('a missing key is a ConfigError that says how to set one, before any request', async () => {
    let err: unknown;
    try {
      createFilesClient({ apiKey: '', baseURL: 'http://127.0.0.1:9' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).hint).toMatch(/ANTHROPIC_API_KEY/);
    // And a request that reaches the API without one is refused with 401, not retried.
    const emulator = await Emulator.start({ apiKey: TEST_KEY });
    cleanups.push(() => emulator.close());
    const res = await fetch(`${emulator.url}/v1/files`, { headers: { 'anthropic-version': '2023-06-01' } });
    expect(res.status).toBe(401);
    expect(emulator.stats().requests).toBe(1);
  });

  it('a 403 for one file: that file fails with the reason, is not retried, and the others sync', async () => {
    const { proxy, emulator } = await harnessBehindProxy({ watch: true, settleMs: 100 });
    let refused = 0;
    proxy.handler = async (req, res, forward) => {
      if (isUpload(req) && req.body.includes('forbidden')) {
        refused += 1;
        return apiError(
          res,
          403,
          'permission_error',
          'Your API key does not have permission to use the specified resource.',
        );
      }
      sendUpstream(res, await forward());
    };
    await put(h!, 'forbidden.txt', 'no');
    for (let i = 0; i < 5; i += 1) await put(h!, `ok${i}.txt`, `ok ${i}`);
    await h!.engine.start();
    await h!.engine.onIdle();
    await sleep(2500); // longer than the engine's first retry delay
    await h!.engine.onIdle();
    expect(refused).toBe(1);
    const row = h!.index.get('forbidden.txt');
    expect(row?.state).toBe('failed');
    expect(row?.lastError).toMatch(/permission/i);
    expect(h!.engine.files().find((f) => f.path === 'forbidden.txt')?.error).toMatch(/permission/i);
    expect(emulator.files()).toHaveLength(5);
    for (let i = 0; i < 5; i += 1) expect(h!.engine.fileIdOf(`ok${i}.txt`)).not.toBeNull();
  });

  it('a 403 on everything: PermissionDeniedError at start, one request', async () => {
    const { proxy } = await harnessBehindProxy({ watch: false });
    proxy.handler = async (_req, res) =>
      apiError(res, 403, 'permission_error', 'Files API not enabled for this workspace');
    await put(h!, 'a.txt', 'a');
    const err = await h!.engine.start().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect((err as Error).message).toMatch(/not enabled for this workspace/);
    expect(proxy.seen).toHaveLength(1);
  });

  it('storage full (400): the file that does not fit fails with the reason, smaller files keep syncing, it syncs once space is freed', async () => {
    h = await createHarness({ watch: true, settleMs: 100, emulator: await startEmulator({ storageLimitBytes: 1000 }) });
    await put(h, 'a.txt', Buffer.alloc(300, 97));
    await put(h, 'b.txt', Buffer.alloc(300, 98));
    await h.engine.start();
    await h.engine.onIdle();
    await put(h, 'big.bin', Buffer.alloc(800, 1));
    await waitUntil(() => h!.index.get('big.bin')?.state === 'failed', 20_000, 'big.bin failed');
    const row = h.index.get('big.bin');
    expect(row?.lastError).toMatch(/storage|quota/i);
    await put(h, 'c.txt', Buffer.alloc(100, 99));
    await waitUntil(() => h!.engine.fileIdOf('c.txt') !== null, 20_000, 'c.txt synced');
    await sleep(2500);
    await h.engine.onIdle();
    expect(h.emulator.stats().byStatus[400]).toBe(1);
    // Space freed: the next reconcile uploads it.
    await rm(path.join(h.dir, 'a.txt'));
    await rm(path.join(h.dir, 'b.txt'));
    await waitUntil(() => h!.emulator.files().length === 1, 20_000, 'a and b deleted remotely');
    await h.engine.reconcile();
    await h.engine.onIdle();
    expect(await checkInvariants(h)).toEqual([]);
  });

  // A 2xx whose body cannot be read is a lost response: the stored file is found by listing, not uploaded twice.
  it('an upload answered 200 with a body that is not JSON: a clear error, and no duplicate once idle', async () => {
    const { proxy, emulator } = await harnessBehindProxy({ watch: true, settleMs: 100 });
    let garbled = 0;
    proxy.handler = async (req, res, forward) => {
      const up = await forward(); // the file is stored; only the answer is garbled
      if (isUpload(req) && garbled === 0) {
        garbled += 1;
        return sendUpstream(res, { ...up, body: Buffer.from('<html>502 proxy says hi</html>') });
      }
      sendUpstream(res, up);
    };
    await h!.engine.start();
    await put(h!, 'a.txt', 'a');
    await put(h!, 'b.txt', 'b');
    await waitUntil(
      () => h!.engine.fileIdOf('a.txt') !== null && h!.engine.fileIdOf('b.txt') !== null,
      30_000,
      'both synced',
    );
    await h!.engine.onIdle();
    expect(garbled).toBe(1);
    // The garbled answer is handled as a lost response: the stored file is found in the listing
    // and used (logged as recovered), not uploaded a second time.
    expect(events(h!, 'upload').some((e) => (e as { recovered?: boolean }).recovered === true)).toBe(true);
    expect(emulator.files()).toHaveLength(2);
    expect(await checkInvariants(h!)).toEqual([]);
  });

  // An answer that is not a file object is E_API_BAD_RESPONSE, handled as a lost response; no row gets a null file id.
  it('an upload answered 200 with JSON that is not a file object: a clear error, nothing recorded wrong, no duplicate', async () => {
    const { proxy, emulator } = await harnessBehindProxy({ watch: true, settleMs: 100 });
    let garbled = 0;
    proxy.handler = async (req, res, forward) => {
      const up = await forward();
      if (isUpload(req) && garbled === 0) {
        garbled += 1;
        return sendUpstream(res, { ...up, body: Buffer.from('{"unexpected": true}') });
      }
      sendUpstream(res, up);
    };
    await h!.engine.start();
    await put(h!, 'a.txt', 'a');
    await waitUntil(() => garbled === 1, 20_000, 'the garbled answer');
    // Synced in the end (the stored copy found, or uploaded again): a second copy would show below.
    await waitUntil(() => h!.engine.fileIdOf('a.txt') !== null, 20_000, 'a.txt synced');
    await h!.engine.onIdle();
    for (const r of h!.index.all())
      expect(r.fileId === null || /^file_/.test(r.fileId), `row ${r.path} fileId ${String(r.fileId)}`).toBe(true);
    expect(emulator.files()).toHaveLength(1);
    expect(await checkInvariants(h!)).toEqual([]);
  });

  it('an upload answer cut off mid-body: the stored file is found and used, not uploaded twice', async () => {
    const { proxy, emulator } = await harnessBehindProxy({ watch: false });
    let cut = 0;
    proxy.handler = async (req, res, forward) => {
      const up = await forward();
      if (isUpload(req) && cut === 0) {
        cut += 1;
        res.writeHead(up.status, { 'content-type': 'application/json', 'content-length': String(up.body.length) });
        res.write(up.body.subarray(0, Math.floor(up.body.length / 2)));
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      sendUpstream(res, up);
    };
    await put(h!, 'a.txt', 'alpha');
    await put(h!, 'b.txt', 'beta');
    await h!.engine.start();
    await h!.engine.onIdle();
    expect(cut).toBe(1);
    expect(emulator.files()).toHaveLength(2);
    expect(await checkInvariants(h!)).toEqual([]);
  });

  it('a malformed listing (truncated JSON) fails the reconcile clearly and changes nothing', () =>
    malformedListing('{"data":[{"id":"file_'));

  // A listing page without an array `data` of valid file objects is E_API_BAD_RESPONSE: reconcile plans nothing.
  it.each([
    ['no data field', '{"object":"list"}'],
    ['data not an array', '{"data":"oops","has_more":false}'],
    ['entries without ids', '{"data":[{"filename":"x"}],"next_page":null}'],
  ])('a malformed listing (%s) fails the reconcile clearly and changes nothing', (_what, body) =>
    malformedListing(body),
  );

  it('an API that never answers: a timeout error within the configured bound, and sync resumes when it answers', () =>
    neverAnswers(false));

  // A kept intent is resolved before its path is uploaded again, so an idle engine has none left.
  it('an API that never answers: once it answers again and the engine is idle, no intent is left', () =>
    neverAnswers(true));
});

async function neverAnswers(checkIntents: boolean): Promise<void> {
  h = await createHarness({
    watch: true,
    settleMs: 100,
    emulator: await startEmulator({}),
    config: { api: { timeoutMs: 400, maxRetries: 1 } },
  });
  h.emulator.setFaults({ hang: true });
  await put(h, 'a.txt', 'a');
  const err = await h.engine.start().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(APIConnectionTimeoutError);
  expect((err as Error).message).toMatch(/No progress from the API for 400 ms/);
  expect(h.emulator.stats().requests).toBeLessThanOrEqual(2);
  // It answers again: the next start syncs, once.
  h.emulator.setFaults({ hang: false });
  await h.restart();
  await h.engine.onIdle();
  // Hangs while running: the upload times out, and is retried once the API is back.
  h.emulator.setFaults({ hang: true });
  await put(h, 'b.txt', 'b');
  await waitUntil(
    () => h!.engine.status().lastErrors.some((e) => e.path === 'b.txt' && /No progress/.test(e.error)),
    20_000,
    'the timeout message',
  );
  h.emulator.setFaults({ hang: false });
  await waitUntil(() => h!.engine.fileIdOf('b.txt') !== null, 60_000, 'b.txt synced after the API came back');
  await h.engine.onIdle();
  expect(h.emulator.files()).toHaveLength(2);
  if (checkIntents) expect(await checkInvariants(h)).toEqual([]);
}

async function startEmulator(o: Parameters<typeof Emulator.start>[0]): Promise<Emulator> {
  const emulator = await Emulator.start({ apiKey: TEST_KEY, ...o });
  cleanups.push(() => emulator.close());
  return emulator;
}
