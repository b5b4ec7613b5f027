import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { API_MAX_FILE_BYTES } from '../../src/files-api/limits.js';
import type { Emulator } from '../../src/emulator/index.js';
import { raw, startEmulator, tempDir } from '../helpers/emulator.js';

const MiB = 1024 * 1024;
const BOUNDARY = 'largeUploadBoundary';

/** A multipart body of `size` content bytes, generated chunk by chunk (never held whole). */
async function* streamedBody(size: number, onHash?: (h: string) => void): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  yield Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  let sent = 0;
  let n = 0;
  while (sent < size) {
    const chunk = Buffer.alloc(Math.min(MiB, size - sent), n++ % 251);
    hash.update(chunk);
    sent += chunk.length;
    yield chunk;
  }
  onHash?.(hash.digest('hex'));
  yield Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
}

/** Samples heap + external memory until stopped; returns the peak above the starting level. */
function memoryPeak(): { stop(): number } {
  const usage = (): number => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const base = usage();
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, usage());
  }, 20);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, usage()) - base;
    },
  };
}

let dir: { path: string; remove(): Promise<void> };
let emu: Emulator | null = null;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await emu?.close();
  emu = null;
  await dir.remove();
});

const headers = { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` };

describe('large uploads', () => {
  test('a 500 MB upload (exactly the API limit) to the folder store streams in constant memory', {
    timeout: 120_000,
  }, async () => {
    emu = await startEmulator({ dataDir: dir.path });
    let sentHash = '';
    const mem = memoryPeak();
    const res = await raw(emu.url, '/v1/files', {
      method: 'POST',
      headers,
      body: streamedBody(API_MAX_FILE_BYTES, (h) => {
        sentHash = h;
      }),
    });
    const peak = mem.stop();
    expect(res.status).toBe(200);
    expect(res.json.size_bytes).toBe(API_MAX_FILE_BYTES);
    expect(emu.files()[0]?.sha256).toBe(sentHash);
    expect(peak).toBeLessThan(120 * MiB);
  });

  test('an upload over the limit is cut off with 413 without being buffered or stored', {
    timeout: 60_000,
  }, async () => {
    emu = await startEmulator({ dataDir: dir.path, maxFileBytes: MiB });
    const outcome = await raw(emu.url, '/v1/files', { method: 'POST', headers, body: streamedBody(256 * MiB) }).catch(
      (err: Error) => err,
    );
    if (!(outcome instanceof Error)) {
      expect(outcome.status).toBe(413);
      expect(outcome.json.error.type).toBe('request_too_large');
    }
    expect(emu.stats().byStatus[413]).toBe(1);
    // Reading stopped a bounded distance past the limit instead of taking the whole body.
    expect(emu.stats().bytesReceived).toBeLessThan(32 * MiB);
    expect(emu.files()).toEqual([]);
    expect(await readdir(join(dir.path, 'blobs'))).toEqual([]);
  });

  test('a small overflow gets a clean 413 in the error envelope', async () => {
    emu = await startEmulator({ maxFileBytes: 1000 });
    const res = await raw(emu.url, '/v1/files', { method: 'POST', headers, body: streamedBody(3 * MiB) });
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({
      type: 'error',
      error: { type: 'request_too_large' },
      request_id: res.headers['request-id'],
    });
    expect(emu.files()).toEqual([]);
  });

  test('a declared Content-Length over the limit is refused before the body is read', async () => {
    emu = await startEmulator({ maxFileBytes: 1000 });
    const res = await raw(emu.url, '/v1/files', {
      method: 'POST',
      headers: { ...headers, 'content-length': String(600 * MiB) },
      body: streamedBody(600 * MiB),
    }).catch((err: Error) => err);
    if (!(res instanceof Error)) expect(res.status).toBe(413);
    expect(emu.stats().byStatus[413]).toBe(1);
    expect(emu.stats().bytesReceived).toBeLessThan(32 * MiB);
  });
});
