/**
 * sdk-beta = @anthropic-ai/sdk 0.120.0: `client.beta.files` speaks the beta shape
 * (anthropic-beta: files-api-2025-04-14, after_id/before_id paging, no expires_at) with x-api-key
 * and anthropic-version 2023-06-01; its `client.files` speaks GA with the same headers.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import Anthropic, { APIError, AuthenticationError, BadRequestError, NotFoundError, toFile } from 'sdk-beta';
import type { Emulator } from '../../src/emulator/index.js';
import { TEST_KEY, seedFiles, startEmulator } from '../helpers/emulator.js';

let emu: Emulator;
let client: Anthropic;
let sent: Headers[];

beforeEach(async () => {
  emu = await startEmulator();
  sent = [];
  client = new Anthropic({
    apiKey: TEST_KEY,
    baseURL: emu.url,
    maxRetries: 0,
    fetch: (url, init) => {
      // The SDK also probes FormData support with a data: URL; record only requests to the emulator.
      if (String(url).startsWith(emu.url)) sent.push(new Headers(init?.headers));
      return fetch(url, init);
    },
  });
});
afterEach(async () => {
  await emu.close();
});

describe('sdk-beta 0.120 client.beta.files (beta shape)', () => {
  test('upload with toFile sends x-api-key, 2023-06-01 and the files beta; metadata has no expires_at', async () => {
    const file = await client.beta.files.upload({
      file: await toFile(Buffer.from('hello beta'), 'dir/hello.txt', { type: 'text/plain' }),
    });
    expect(file).toEqual({
      id: expect.stringMatching(/^file_/),
      type: 'file',
      filename: 'hello.txt', // the SDK strips the name to its basename
      mime_type: 'text/plain',
      size_bytes: 10,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
      downloadable: false,
    });
    expect(sent[0]?.get('x-api-key')).toBe(TEST_KEY);
    expect(sent[0]?.get('anthropic-version')).toBe('2023-06-01');
    expect(sent[0]?.get('anthropic-beta')).toContain('files-api-2025-04-14');
    expect(emu.files()[0]?.sha256).toBe(createHash('sha256').update('hello beta').digest('hex'));
    expect(await client.beta.files.retrieveMetadata(file.id)).toEqual(file);
  });

  test('delete, then NotFoundError on retrieve and delete', async () => {
    const file = await client.beta.files.upload({
      file: await toFile(Buffer.from('x'), 'a.txt', { type: 'text/plain' }),
    });
    expect(await client.beta.files.delete(file.id)).toEqual({ id: file.id, type: 'file_deleted' });
    await expect(client.beta.files.retrieveMetadata(file.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.beta.files.delete(file.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  test('download of an uploaded file is a BadRequestError; a generated file downloads', async () => {
    const file = await client.beta.files.upload({
      file: await toFile(Buffer.from('x'), 'a.txt', { type: 'text/plain' }),
    });
    const err = await client.beta.files.download(file.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).error).toMatchObject({
      error: { details: { error_code: 'file_not_downloadable' } },
    });
    const gen = await emu.addFile({ filename: 'result.csv', bytes: Buffer.from('a,b\n1,2\n'), downloadable: true });
    const res = await client.beta.files.download(gen.id);
    expect(await res.text()).toBe('a,b\n1,2\n');
  });

  test('forward auto-pagination over 2,100 files, at the default and the maximum page size', async () => {
    const ids = await seedFiles(emu, 2100);
    const viaMax: string[] = [];
    for await (const f of client.beta.files.list({ limit: 1000 })) viaMax.push(f.id);
    expect(viaMax).toEqual(ids);
    const viaDefault: string[] = [];
    for await (const f of client.beta.files.list()) viaDefault.push(f.id);
    expect(viaDefault).toEqual(ids);
  });

  test('reverse auto-pagination with before_id walks every newer file, page by page toward the newest', async () => {
    const ids = await seedFiles(emu, 2100); // newest first
    const oldest = ids[ids.length - 1] as string;
    const pages: string[][] = [];
    let page = await client.beta.files.list({ before_id: oldest, limit: 300 });
    for (;;) {
      pages.push(page.data.map((f) => f.id));
      if (!page.hasNextPage()) break;
      page = await page.getNextPage();
    }
    // Each page is newest first and sits right above the previous one.
    expect(pages).toHaveLength(7);
    expect(pages.flatMap((p) => p.slice().reverse())).toEqual(ids.slice(0, -1).reverse());
    const all: string[] = [];
    for await (const f of client.beta.files.list({ before_id: oldest, limit: 1000 })) all.push(f.id);
    expect(new Set(all)).toEqual(new Set(ids.slice(0, -1)));
    expect(all).toHaveLength(2099);
  });

  test('after_id from the middle returns only older files', async () => {
    const ids = await seedFiles(emu, 50);
    const got: string[] = [];
    for await (const f of client.beta.files.list({ after_id: ids[9] as string, limit: 7 })) got.push(f.id);
    expect(got).toEqual(ids.slice(10));
  });

  test('a wrong x-api-key is an AuthenticationError', async () => {
    const bad = new Anthropic({ apiKey: 'nope', baseURL: emu.url, maxRetries: 0 });
    await expect(bad.beta.files.list()).rejects.toBeInstanceOf(AuthenticationError);
  });

  test('an upload over the configured limit is a 413 request_too_large', async () => {
    const small = await startEmulator({ maxFileBytes: 100 });
    try {
      const c = new Anthropic({ apiKey: TEST_KEY, baseURL: small.url, maxRetries: 0 });
      const err = await c.beta.files
        .upload({ file: await toFile(Buffer.alloc(5000), 'big.bin', { type: 'application/octet-stream' }) })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(APIError);
      expect((err as APIError).status).toBe(413);
      expect((err as APIError).type).toBe('request_too_large');
    } finally {
      await small.close();
    }
  });
});

describe('sdk-beta 0.120 client.files (GA shape over x-api-key)', () => {
  test('upload with expires_in_seconds, list with next_page and ids', async () => {
    const file = await client.files.upload({
      file: await toFile(Buffer.from('ga'), 'ga.txt'),
      expires_in_seconds: 86400,
    });
    expect(file.expires_at).not.toBeNull();
    expect(sent[0]?.get('anthropic-beta')).toBeNull();
    await seedFiles(emu, 30);
    const all: string[] = [];
    for await (const f of client.files.list({ limit: 7 })) all.push(f.id);
    expect(all).toHaveLength(31);
    expect(all[30]).toBe(file.id);
    const some: string[] = [];
    for await (const f of client.files.list({ ids: [file.id] })) some.push(f.id);
    expect(some).toEqual([file.id]);
  });
});
