/**
 * @anthropic-ai/sdk 1.14 (GA shape: Authorization: Bearer + anthropic-version 2026-10-21, page/next_page
 * cursors) against the emulator. Nobody on this project wrote the SDK, so these tests check that
 * the emulator speaks the API the SDK was generated from.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import Anthropic, {
  APIConnectionError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
  toFile,
} from '@anthropic-ai/sdk';
import {
  FileExpiredError,
  FileNotDownloadableError,
  StorageQuotaExceededError,
} from '@anthropic-ai/sdk/resources/files';
import type { Emulator } from '../../src/emulator/index.js';
import { TEST_KEY, seedFiles, startEmulator } from '../helpers/emulator.js';

let emu: Emulator;
let clock = Date.UTC(2026, 10, 1);
let client: Anthropic;
let sent: Headers[] = [];

const makeClient = (options: { apiKey?: string; maxRetries?: number } = {}): Anthropic =>
  new Anthropic({
    apiKey: options.apiKey ?? TEST_KEY,
    baseURL: emu.url,
    maxRetries: options.maxRetries ?? 0,
    fetch: (url, init) => {
      if (String(url).startsWith(emu.url)) sent.push(new Headers(init?.headers));
      return fetch(url, init);
    },
  });

beforeEach(async () => {
  clock = Date.UTC(2026, 10, 1);
  emu = await startEmulator({ now: () => clock });
  sent = [];
  client = makeClient();
});
afterEach(async () => {
  await emu.close();
});

describe('@anthropic-ai/sdk 1.x (GA)', () => {
  test('upload, retrieveMetadata, delete, then NotFoundError', async () => {
    const file = await client.files.upload({
      file: await toFile(Buffer.from('# notes\n'), 'notes.md', { type: 'text/markdown' }),
    });
    expect(sent[0]?.get('authorization')).toBe(`Bearer ${TEST_KEY}`);
    expect(sent[0]?.get('x-api-key')).toBeNull();
    expect(sent[0]?.get('anthropic-version')).toBe('2026-10-21');
    expect(file).toMatchObject({
      type: 'file',
      filename: 'notes.md',
      mime_type: 'text/markdown',
      size_bytes: 8,
      downloadable: false,
      expires_at: null,
    });
    expect(emu.files()[0]?.sha256).toBe(createHash('sha256').update('# notes\n').digest('hex'));
    expect((await emu.content(file.id))?.toString()).toBe('# notes\n');
    expect(await client.files.retrieveMetadata(file.id)).toEqual(file);
    expect(await client.files.delete(file.id)).toEqual({ id: file.id, type: 'file_deleted' });
    const err = await client.files.retrieveMetadata(file.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).status).toBe(404);
    expect((err as NotFoundError).requestID).toMatch(/^req_/);
  });

  test('a file part without a type gets one detected from its extension', async () => {
    const file = await client.files.upload({ file: await toFile(Buffer.from('%PDF-1.4'), 'report.pdf') });
    expect(file.mime_type).toBe('application/pdf');
  });

  test('expires_in_seconds sets expires_at; expired content is a FileExpiredError (404)', async () => {
    const up = await client.files.upload({ file: await toFile(Buffer.from('x'), 'a.txt'), expires_in_seconds: 3600 });
    expect(up.expires_at).toBe(new Date(Date.parse(up.created_at) + 3600_000).toISOString().replace('Z', '000Z'));
    const gen = await emu.addFile({
      filename: 'out.txt',
      bytes: Buffer.from('generated'),
      downloadable: true,
      expiresInSeconds: 3600,
    });
    expect(await (await client.files.download(gen.id)).text()).toBe('generated');
    clock += 3601_000;
    const err = await client.files.download(gen.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toBeInstanceOf(FileExpiredError);
    expect((err as FileExpiredError).errorCode).toBe('file_expired');
    // Still listed and retrievable after expiry.
    expect((await client.files.retrieveMetadata(gen.id)).id).toBe(gen.id);
  });

  test('an out-of-range expires_in_seconds is a BadRequestError', async () => {
    const err = await client.files
      .upload({ file: await toFile(Buffer.from('x'), 'a.txt'), expires_in_seconds: 60 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
  });

  test('downloading an uploaded file is refused: FileNotDownloadableError (400)', async () => {
    const file = await client.files.upload({ file: await toFile(Buffer.from('x'), 'a.txt') });
    const err = await client.files.download(file.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err).toBeInstanceOf(FileNotDownloadableError);
    expect((err as BadRequestError).status).toBe(400);
  });

  test('auto-pagination walks 2,100 files newest first, at the default and the maximum page size', async () => {
    const ids = await seedFiles(emu, 2100);
    const viaMax: string[] = [];
    for await (const f of client.files.list({ limit: 1000 })) viaMax.push(f.id);
    expect(viaMax).toEqual(ids);
    const before = emu.stats().byRoute.list;
    const viaDefault: string[] = [];
    for await (const f of client.files.list()) viaDefault.push(f.id);
    expect(viaDefault).toEqual(ids);
    expect(emu.stats().byRoute.list - before).toBe(Math.ceil(2100 / 20));
  });

  test('a single page exposes next_page as an opaque page_ cursor', async () => {
    await seedFiles(emu, 5);
    const page = await client.files.list({ limit: 2 });
    expect(page.data).toHaveLength(2);
    expect(page.next_page).toMatch(/^page_/);
    expect(page.hasNextPage()).toBe(true);
  });

  test('the ids filter returns one page of the known ids only', async () => {
    const ids = await seedFiles(emu, 10);
    const gone = ids[2] as string;
    await client.files.delete(gone);
    const wanted = [ids[7] as string, ids[1] as string, gone, 'file_doesnotexist000000000'];
    const got: string[] = [];
    for await (const f of client.files.list({ ids: wanted })) got.push(f.id);
    expect(got).toEqual([ids[1], ids[7]]);
  });

  test('a wrong key is an AuthenticationError (401)', async () => {
    const err = await makeClient({ apiKey: 'sk-ant-wrong' })
      .files.list()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
  });

  test('an upload over the configured limit is a 413', async () => {
    const small = await startEmulator({ maxFileBytes: 1024 });
    try {
      const c = new Anthropic({ apiKey: TEST_KEY, baseURL: small.url, maxRetries: 0 });
      const err = await c.files
        .upload({ file: await toFile(Buffer.alloc(64 * 1024, 1), 'big.bin') })
        .catch((e: unknown) => e);
      expect(err).not.toBeInstanceOf(APIConnectionError);
      expect((err as { status?: number }).status).toBe(413);
      expect((err as { type?: string }).type).toBe('request_too_large');
      expect(small.files()).toEqual([]);
    } finally {
      await small.close();
    }
  });

  test('a full storage quota is a StorageQuotaExceededError', async () => {
    const small = await startEmulator({ storageLimitBytes: 10 });
    try {
      const c = new Anthropic({ apiKey: TEST_KEY, baseURL: small.url, maxRetries: 0 });
      const err = await c.files.upload({ file: await toFile(Buffer.alloc(11), 'a.bin') }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageQuotaExceededError);
    } finally {
      await small.close();
    }
  });

  test('the SDK retries injected 529s as told by retry-after-ms, then gives up', async () => {
    emu.setFaults({ error529Rate: 1, retryAfterMs: 5 });
    const err = await makeClient({ maxRetries: 2 })
      .files.list()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InternalServerError);
    expect((err as InternalServerError).status).toBe(529);
    expect(emu.stats().injected.e529).toBe(3);
  });

  test('the SDK retries an injected 429 and succeeds once the faults stop', async () => {
    emu.setFaults({ error429Rate: 1, retryAfterMs: 5 });
    const err = await client.files.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    emu.setFaults({ error429Rate: 0.5, seed: 3 });
    const c = makeClient({ maxRetries: 10 });
    for (let i = 0; i < 5; i++) await c.files.list();
    expect(emu.stats().injected.e429).toBeGreaterThan(1);
  });
});
