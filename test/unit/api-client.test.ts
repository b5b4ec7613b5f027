import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, truncate, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { inspect } from 'node:util';
import { MockAgent } from 'undici';
import {
  API_ERROR_CODES,
  APIConnectionError,
  APIError,
  INTENT_CLOCK_SKEW_MS,
  KEY_REFUSED_CODES,
  APIConnectionTimeoutError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  OverloadedError,
  RateLimitError,
  RequestTooLargeError,
  UploadSourceError,
  UploadUnconfirmedError,
  createFilesClient,
  type FileMetadata,
  type FilesClient,
  type RetryWaitInfo,
} from '../../src/api/index.js';
import type { AttemptInfo, ResponseInfo } from '../../src/api/types.js';
import { USER_AGENT } from '../../src/version.js';

const KEY = 'sk-ant-test-key-DO-NOT-LEAK-0123456789';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}
type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer, seen: Seen[]) => void | Promise<void>;

let server: Server;
let url: string;
let handler: Handler;
/** Set to handle the raw request before its body is read (for the streaming tests). */
let rawHandler: ((req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>) | undefined;
let seen: Seen[] = [];
let tmp: string;
const clients: FilesClient[] = [];

function client(opts: Partial<Parameters<typeof createFilesClient>[0]> = {}): FilesClient {
  const c = createFilesClient({ apiKey: KEY, baseURL: url, random: () => 0, ...opts });
  clients.push(c);
  return c;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${seen.length}`, ...headers });
  res.end(JSON.stringify(body));
}

function apiError(
  res: ServerResponse,
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  json(res, status, { type: 'error', error: { type, message }, request_id: `req_${seen.length}` }, headers);
}

const meta = (id: string, extra: Partial<FileMetadata> = {}): FileMetadata => ({
  id,
  type: 'file',
  filename: `${id}.txt`,
  mime_type: 'text/plain',
  size_bytes: 3,
  created_at: new Date().toISOString(),
  downloadable: false,
  ...extra,
});

/** Parses our multipart body back into parts (enough for the tests). */
function parseMultipart(contentType: string, body: Buffer): Array<{ headers: string; data: Buffer }> {
  const boundary = /boundary=(.+)$/.exec(contentType)![1]!;
  const parts: Array<{ headers: string; data: Buffer }> = [];
  const delim = Buffer.from(`--${boundary}`);
  let pos = body.indexOf(delim);
  while (pos !== -1) {
    const start = pos + delim.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const headEnd = body.indexOf('\r\n\r\n', start);
    const next = body.indexOf(delim, headEnd);
    parts.push({ headers: body.subarray(start + 2, headEnd).toString(), data: body.subarray(headEnd + 4, next - 2) });
    pos = next;
  }
  return parts;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'filesync-api-'));
  server = createServer((req, res) => {
    void (async () => {
      if (rawHandler && (await rawHandler(req, res))) return;
      const chunks: Buffer[] = [];
      req.on('error', () => {});
      for await (const c of req) chunks.push(c as Buffer);
      const s: Seen = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) };
      seen.push(s);
      await handler(req, res, s.body, seen);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  seen = [];
  rawHandler = undefined;
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(tmp, { recursive: true, force: true });
});

describe('headers', () => {
  it('GA: x-api-key, anthropic-version, our User-Agent, no beta header', async () => {
    handler = (_req, res) => json(res, 200, meta('file_a'));
    const f = await client().retrieve('file_a');
    expect(f.id).toBe('file_a');
    const h = seen[0]!.headers;
    expect(h['x-api-key']).toBe(KEY);
    expect(h['anthropic-version']).toBe('2023-06-01');
    expect(h['user-agent']).toBe(USER_AGENT);
    expect(h['user-agent']).toMatch(/^claude-filesync\//);
    expect(h['anthropic-beta']).toBeUndefined();
    expect(h['x-stainless-retry-count']).toBeUndefined();
    expect(seen[0]!.url).toBe('/v1/files/file_a');
  });

  it('beta: sends anthropic-beta: files-api-2025-04-14 on every call', async () => {
    handler = (req, res) =>
      req.method === 'DELETE' ? json(res, 200, { id: 'file_a', type: 'file_deleted' }) : json(res, 200, meta('file_a'));
    const c = client({ shape: 'beta' });
    await c.retrieve('file_a');
    await c.delete('file_a');
    expect(seen.map((s) => s.headers['anthropic-beta'])).toEqual(['files-api-2025-04-14', 'files-api-2025-04-14']);
  });

  it('percent-encodes the file id and keeps a base URL path prefix', async () => {
    handler = (_req, res) => json(res, 200, meta('x'));
    await client({ baseURL: `${url}/proxy/` }).retrieve('a/b?c');
    expect(seen[0]!.url).toBe('/proxy/v1/files/a%2Fb%3Fc');
  });

  it('uses an injected dispatcher (MockAgent) and does not close it', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    let sentBeta: unknown;
    agent
      .get('http://api.test')
      .intercept({ path: '/v1/files/file_m', method: 'GET' })
      .reply(200, (opts) => {
        sentBeta = (opts.headers as Record<string, string>)['anthropic-beta'];
        return meta('file_m');
      });
    const c = createFilesClient({ apiKey: KEY, baseURL: 'http://api.test', shape: 'beta', dispatcher: agent });
    expect((await c.retrieve('file_m')).id).toBe('file_m');
    expect(sentBeta).toBe('files-api-2025-04-14');
    await c.close();
    agent.assertNoPendingInterceptors();
    await agent.close();
  });

  it('does not show the key when the client is inspected', () => {
    expect(inspect(client(), { depth: 5 })).not.toContain(KEY);
  });
});

describe('upload', () => {
  const stored = (body: Buffer, contentType: string): FileMetadata => {
    const parts = parseMultipart(contentType, body);
    const file = parts.find((p) => p.headers.includes('name="file"'))!;
    const filename = /filename="([^"]*)"/.exec(file.headers)![1]!;
    return meta('file_up', { filename, size_bytes: file.data.length });
  };

  it('sends a correct multipart body with a known Content-Length and returns the sha256', async () => {
    handler = (req, res, body) => json(res, 200, stored(body, req.headers['content-type']!));
    const bytes = Buffer.from('hello, files');
    const r = await client().upload({ bytes }, { filename: 'notes.pdf', expiresInSeconds: 3600 });
    const s = seen[0]!;
    expect(s.method).toBe('POST');
    expect(s.url).toBe('/v1/files');
    expect(s.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(Number(s.headers['content-length'])).toBe(s.body.length);
    expect(s.headers['transfer-encoding']).toBeUndefined();
    const parts = parseMultipart(s.headers['content-type']!, s.body);
    expect(parts).toHaveLength(2);
    expect(parts[0]!.headers).toBe('Content-Disposition: form-data; name="expires_in_seconds"');
    expect(parts[0]!.data.toString()).toBe('3600');
    expect(parts[1]!.headers).toBe(
      'Content-Disposition: form-data; name="file"; filename="notes.pdf"\r\nContent-Type: application/pdf',
    );
    expect(parts[1]!.data.equals(bytes)).toBe(true);
    expect(r).toMatchObject({ recovered: false, bytesSent: bytes.length });
    expect(r.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(r.file.filename).toBe('notes.pdf');
  });

  it('always sends the file part Content-Type: octet-stream for an unknown extension; explicit mimeType wins', async () => {
    handler = (req, res, body) => json(res, 200, stored(body, req.headers['content-type']!));
    await client({ shape: 'beta' }).upload({ bytes: Buffer.from('x') }, { filename: 'blob.zzzunknown' });
    await client().upload({ bytes: Buffer.from('x') }, { filename: 'readme.md', mimeType: 'text/plain' });
    expect(parseMultipart(seen[0]!.headers['content-type']!, seen[0]!.body)[0]!.headers).toContain(
      'Content-Type: application/octet-stream',
    );
    expect(parseMultipart(seen[1]!.headers['content-type']!, seen[1]!.body)[0]!.headers).toContain(
      'Content-Type: text/plain',
    );
  });

  it('streams a file from a path and uploads an empty file', async () => {
    handler = (req, res, body) => json(res, 200, stored(body, req.headers['content-type']!));
    const p = join(tmp, 'data.bin');
    const content = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    await writeFile(p, content);
    const r = await client().upload({ path: p }, { filename: 'data.bin' });
    expect(r.bytesSent).toBe(content.length);
    expect(r.sha256).toBe(createHash('sha256').update(content).digest('hex'));
    expect(parseMultipart(seen[0]!.headers['content-type']!, seen[0]!.body)[0]!.data.equals(content)).toBe(true);

    const empty = join(tmp, 'empty.txt');
    await writeFile(empty, '');
    const e = await client().upload({ path: empty }, { filename: 'empty.txt' });
    expect(e.bytesSent).toBe(0);
    expect(e.sha256).toBe(createHash('sha256').digest('hex'));
  });

  it('does not over-send a file that grows during the upload', async () => {
    const p = join(tmp, 'grows.bin');
    const content = Buffer.alloc(8 * 1024 * 1024, 1);
    await writeFile(p, content);
    rawHandler = async () => {
      await appendFile(p, Buffer.alloc(1024 * 1024, 2));
      return false;
    };
    handler = (req, res, body) => json(res, 200, stored(body, req.headers['content-type']!));
    const r = await client().upload({ path: p }, { filename: 'grows.bin' });
    expect(r.bytesSent).toBe(content.length);
    expect(r.sha256).toBe(createHash('sha256').update(content).digest('hex'));
  });

  it('aborts with UploadSourceError when the file shrinks during the upload (no hang, no retry)', async () => {
    const p = join(tmp, 'shrinks.bin');
    await writeFile(p, Buffer.alloc(32 * 1024 * 1024, 1));
    let posts = 0;
    rawHandler = async (req) => {
      posts++;
      await truncate(p, 1024);
      req.on('error', () => {});
      req.resume();
      return true;
    };
    const err = await client()
      .upload({ path: p }, { filename: 'shrinks.bin' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadSourceError);
    expect((err as UploadSourceError).code).toBe('E_UPLOAD_SOURCE');
    expect((err as Error).message).toMatch(/shrank/);
    expect(posts).toBe(1);
  });

  it('refuses an invalid filename before sending anything', async () => {
    handler = (_req, res) => json(res, 200, meta('x'));
    for (const bad of ['', 'a/b.txt', 'a:b', 'x'.repeat(256), 'tab\there']) {
      await expect(client().upload({ bytes: Buffer.from('x') }, { filename: bad })).rejects.toBeInstanceOf(
        BadRequestError,
      );
    }
    expect(seen).toHaveLength(0);
  });

  it('refuses expires_in_seconds in the beta shape or out of range', async () => {
    await expect(
      client({ shape: 'beta' }).upload({ bytes: Buffer.from('x') }, { filename: 'a.txt', expiresInSeconds: 3600 }),
    ).rejects.toThrow(/GA/);
    await expect(
      client().upload({ bytes: Buffer.from('x') }, { filename: 'a.txt', expiresInSeconds: 60 }),
    ).rejects.toThrow(/3600/);
  });

  it('recovers an upload whose response was lost instead of uploading a second copy', async () => {
    let posts = 0;
    const files: FileMetadata[] = [
      meta('file_old', { filename: 'lost.txt', size_bytes: 5, created_at: '2020-01-01T00:00:00Z' }),
    ];
    handler = (req, res, body) => {
      if (req.method === 'POST') {
        posts++;
        const f = { ...stored(body, req.headers['content-type']!), id: `file_new${posts}` };
        files.unshift(f);
        req.socket.destroy(); // stored, but the answer never arrives
        return;
      }
      json(res, 200, { data: files, next_page: null });
    };
    const r = await client().upload({ bytes: Buffer.from('lost!') }, { filename: 'lost.txt' });
    expect(r.recovered).toBe(true);
    expect(r.file.id).toBe('file_new1');
    expect(r.sha256).toBe(createHash('sha256').update('lost!').digest('hex'));
    expect(posts).toBe(1);
    const list = seen.find((s) => s.method === 'GET')!;
    expect(list.url).toBe('/v1/files?limit=100');
  });

  it('retries the upload when the lost response did not store the file', async () => {
    let posts = 0;
    handler = (req, res, body) => {
      if (req.method === 'POST') {
        posts++;
        if (posts === 1) return void req.socket.destroy();
        return json(res, 200, stored(body, req.headers['content-type']!));
      }
      json(res, 200, { data: [meta('file_other', { filename: 'lost.txt', size_bytes: 99 })], next_page: null });
    };
    const waits: RetryWaitInfo[] = [];
    const r = await client({ onRetryWait: (i) => waits.push(i) }).upload(
      { bytes: Buffer.from('abc') },
      { filename: 'lost.txt' },
    );
    expect(r.recovered).toBe(false);
    expect(posts).toBe(2);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toMatchObject({ status: null, method: 'POST', attempt: 1, fromServer: false });
  });

  it('an upload whose answer was lost and whose lookup listing fails throws E_UPLOAD_UNCONFIRMED and is not sent again', async () => {
    let posts = 0;
    handler = (req, res) => {
      if (req.method === 'POST') {
        posts++;
        return void req.socket.destroy(); // maybe stored, answer lost
      }
      apiError(res, 500, 'api_error', 'listing broke', { 'retry-after-ms': '1' });
    };
    const before = Date.now();
    const err = await client({ maxRetries: 2 })
      .upload({ bytes: Buffer.from('maybe') }, { filename: 'maybe.txt' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadUnconfirmedError);
    expect(err).toBeInstanceOf(APIError);
    expect(err).toMatchObject({
      code: 'E_UPLOAD_UNCONFIRMED',
      mayHaveStored: true,
      retryable: true,
      filename: 'maybe.txt',
      size: 5,
    });
    expect((err as UploadUnconfirmedError).since).toBeGreaterThanOrEqual(before);
    expect((err as Error).cause).toBeInstanceOf(InternalServerError);
    expect((err as UploadUnconfirmedError).status).toBeUndefined();
    expect(posts).toBe(1);
    expect(seen.filter((s) => s.method === 'GET')).toHaveLength(3); // the listing's own retries
  });

  it('does not adopt a same-name, same-size file created before the attempt minus the skew allowance', async () => {
    let posts = 0;
    const old = meta('file_old', {
      filename: 'same.txt',
      size_bytes: 3,
      created_at: new Date(Date.now() - 10 * 60_000).toISOString(),
    });
    handler = (req, res, body) => {
      if (req.method === 'POST') {
        posts++;
        if (posts === 1) return void req.socket.destroy();
        return json(res, 200, { ...stored(body, req.headers['content-type']!), id: 'file_fresh' });
      }
      json(res, 200, { data: [old], next_page: null });
    };
    const r = await client({ recoveryClockSkewMs: 120_000 }).upload(
      { bytes: Buffer.from('abc') },
      { filename: 'same.txt' },
    );
    expect(r).toMatchObject({ recovered: false, file: { id: 'file_fresh' } });
    expect(posts).toBe(2);
  });

  it('never adopts an id the caller excluded (the previous copy of the same path)', async () => {
    let posts = 0;
    const prev = meta('file_prev', { filename: 'same.txt', size_bytes: 3 }); // created just now
    handler = (req, res, body) => {
      if (req.method === 'POST') {
        posts++;
        if (posts === 1) return void req.socket.destroy();
        return json(res, 200, { ...stored(body, req.headers['content-type']!), id: 'file_next' });
      }
      json(res, 200, { data: [prev], next_page: null });
    };
    const r = await client().upload(
      { bytes: Buffer.from('xyz') },
      { filename: 'same.txt', recoveryExcludeIds: ['file_prev'] },
    );
    expect(r).toMatchObject({ recovered: false, file: { id: 'file_next' } });
    expect(posts).toBe(2);
  });

  it('adopts a file whose created_at lags our clock by less than the skew allowance', async () => {
    const skewed = (body: Buffer, ct: string) => ({
      ...stored(body, ct),
      id: 'file_skewed',
      created_at: new Date(Date.now() - 60_000).toISOString(), // server clock one minute behind
    });
    const files: FileMetadata[] = [];
    handler = (req, res, body) => {
      if (req.method === 'POST') {
        files.unshift(skewed(body, req.headers['content-type']!));
        return void req.socket.destroy();
      }
      json(res, 200, { data: files, next_page: null });
    };
    const r = await client().upload({ bytes: Buffer.from('abc') }, { filename: 'skew.txt' });
    expect(r).toMatchObject({ recovered: true, file: { id: 'file_skewed' } });
  });

  it.each([
    ['a 500', 500],
    ['a 529', 529],
    ['a 429', 429],
  ] as const)('retries an upload from a path after %s and sends the whole file again', async (_what, status) => {
    const path = join(tmp, `retry-${status}.bin`);
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    await writeFile(path, bytes);
    let posts = 0;
    rawHandler = (req, res) => {
      if (req.method !== 'POST' || ++posts > 1) return false;
      // Answer before the body has been read, as a front end refusing the request does: the
      // client's read of the file is cut short.
      req.on('error', () => {});
      apiError(res, status, 'api_error', 'try again', { 'retry-after-ms': '1', connection: 'close' });
      return true;
    };
    handler = (req, res, body) => json(res, 200, stored(body, req.headers['content-type']!));
    const r = await client({ maxRetries: 1 }).upload({ path }, { filename: 'retry.bin' });
    expect(posts).toBe(2);
    expect(seen).toHaveLength(1);
    const sent = parseMultipart(seen[0]!.headers['content-type']!, seen[0]!.body).find((p) =>
      p.headers.includes('name="file"'),
    )!;
    expect(sent.data.equals(bytes)).toBe(true);
    expect(r.bytesSent).toBe(bytes.length);
    expect(r.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('retries an upload from a path after a reset in the middle of the body', async () => {
    const path = join(tmp, 'retry-reset.bin');
    const bytes = Buffer.alloc(8 * 1024 * 1024, 3);
    await writeFile(path, bytes);
    let posts = 0;
    rawHandler = (req) => {
      if (req.method !== 'POST' || ++posts > 1) return false;
      // Drop the connection once part of the body has arrived: the read stream is cut mid-file.
      let got = 0;
      req.on('data', (c: Buffer) => {
        got += c.length;
        if (got > 256 * 1024) req.socket.destroy();
      });
      req.on('error', () => {});
      return true;
    };
    handler = (req, res, body) => json(res, 200, stored(body, req.headers['content-type']!));
    const r = await client({ maxRetries: 2 }).upload({ path }, { filename: 'reset.bin' });
    expect(posts).toBe(2);
    expect(seen).toHaveLength(1);
    const sent = parseMultipart(seen[0]!.headers['content-type']!, seen[0]!.body).find((p) =>
      p.headers.includes('name="file"'),
    )!;
    expect(sent.data.equals(bytes)).toBe(true);
    expect(r).toMatchObject({ recovered: false, bytesSent: bytes.length });
  });

  it('by default allows the intent clock skew (10 minutes): a lost upload stamped 5 minutes behind is found', async () => {
    expect(INTENT_CLOCK_SKEW_MS).toBe(10 * 60_000);
    const files: FileMetadata[] = [];
    handler = (req, res, body) => {
      if (req.method === 'POST') {
        files.unshift({
          ...stored(body, req.headers['content-type']!),
          id: 'file_late',
          created_at: new Date(Date.now() - 5 * 60_000).toISOString(),
        });
        return void req.socket.destroy();
      }
      json(res, 200, { data: files, next_page: null });
    };
    const c = client();
    expect(c.options.recoveryClockSkewMs).toBe(INTENT_CLOCK_SKEW_MS);
    const r = await c.upload({ bytes: Buffer.from('abc') }, { filename: 'late.txt' });
    expect(r).toMatchObject({ recovered: true, file: { id: 'file_late' } });
  });

  it('does not retry a stream source once its bytes were taken', async () => {
    handler = (_req, res) => apiError(res, 500, 'api_error', 'boom');
    const err = await client()
      .upload({ stream: Readable.from([Buffer.from('abc')]), size: 3 }, { filename: 'once.txt' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InternalServerError);
    expect(seen.filter((s) => s.method === 'POST')).toHaveLength(1);
  });

  it('a stream longer than its declared size aborts with UploadSourceError', async () => {
    handler = (_req, res) => json(res, 200, meta('x'));
    const err = await client()
      .upload({ stream: Readable.from([Buffer.from('abcdef')]), size: 3 }, { filename: 'long.txt' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadSourceError);
  });
});

describe('errors', () => {
  it.each([
    [400, BadRequestError],
    [401, AuthenticationError],
    [404, NotFoundError],
  ] as const)('%i is not retried and carries status, type and request id', async (status, cls) => {
    handler = (_req, res) => apiError(res, status, 'some_error', 'nope', { 'request-id': 'req_fixed' });
    const err = await client({ maxRetries: 5 })
      .retrieve('file_x')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(cls);
    expect(err).toMatchObject({ status, errorType: 'some_error', requestId: 'req_fixed', retryable: false });
    expect(seen).toHaveLength(1);
  });

  it.each([
    ['a 500', 500, {}, true],
    ['a 529', 529, {}, true],
    ['a 429', 429, {}, true],
    ['a 409', 409, {}, true],
    ['a 500 with x-should-retry: false', 500, { 'x-should-retry': 'false' }, false],
    ['a 400 with x-should-retry: true', 400, { 'x-should-retry': 'true' }, true],
    ['a 413', 413, {}, false],
  ] as const)(
    '%s gives an error whose retryable follows the retry policy',
    async (_what, status, headers, retryable) => {
      handler = (_req, res) => apiError(res, status, 'x_error', 'x', headers);
      const err = await client({ maxRetries: 0 })
        .retrieve('file_x')
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(APIError);
      expect(err).toMatchObject({ status, retryable });
    },
  );

  it('failures without an answer carry retryable from the policy: connection and garbled answers yes, abort and a closed client no', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>not json</html>');
    };
    const garbled = await client({ maxRetries: 0 })
      .retrieve('a')
      .catch((e: unknown) => e);
    expect(garbled).toMatchObject({ code: API_ERROR_CODES.BAD_RESPONSE, retryable: true });
    const refused = await createFilesClient({ apiKey: KEY, baseURL: 'http://127.0.0.1:1', maxRetries: 0 })
      .retrieve('a')
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: API_ERROR_CODES.CONNECTION, retryable: true });
    const ac = new AbortController();
    ac.abort();
    const aborted = await client()
      .retrieve('a', { signal: ac.signal })
      .catch((e: unknown) => e);
    expect(aborted).toMatchObject({ code: API_ERROR_CODES.ABORTED, retryable: false });
    const c = client();
    await c.close();
    const closed = await c.retrieve('a').catch((e: unknown) => e);
    expect(closed).toMatchObject({ retryable: false });
  });

  it('a refused key has a stable code of its own: E_API_AUTH for 401, E_API_PERMISSION for 403', async () => {
    for (const [status, code] of [
      [401, 'E_API_AUTH'],
      [403, 'E_API_PERMISSION'],
    ] as const) {
      handler = (_req, res) => apiError(res, status, 'authentication_error', 'no');
      const err = await client()
        .retrieve('a')
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code, retryable: false });
      expect(KEY_REFUSED_CODES.has((err as APIError).code)).toBe(true);
    }
    expect(KEY_REFUSED_CODES.has(API_ERROR_CODES.RATE_LIMIT)).toBe(false);
  });

  it('a list page without a data array is a bad response, retried like any garbled answer', async () => {
    handler = (_req, res) => json(res, 200, { object: 'list' });
    const err = await client({ maxRetries: 1, random: () => 1 })
      .listPage({ limit: 1 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_API_BAD_RESPONSE', retryable: true });
    expect(seen).toHaveLength(2);
  });

  it('a non-JSON 413 from a proxy gives RequestTooLargeError with a readable excerpt', async () => {
    handler = (_req, res) => {
      res.writeHead(413, { 'content-type': 'text/html' });
      res.end(
        '<html><head><title>413 Request Entity Too Large</title></head><body><h1>Request Entity Too Large</h1></body></html>',
      );
    };
    const err = await client()
      .upload({ bytes: Buffer.from('x') }, { filename: 'big.bin' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestTooLargeError);
    expect((err as Error).message).toMatch(/^413 413 Request Entity Too Large Request Entity Too Large/);
    expect((err as RequestTooLargeError).hint).toMatch(/500 MB/);
    expect(seen).toHaveLength(1);
  });

  it('never puts the key in an error, even when the server echoes it', async () => {
    handler = (_req, res) => apiError(res, 401, 'authentication_error', `invalid x-api-key ${KEY}`, { 'x-echo': KEY });
    const err = await client()
      .retrieve('file_x')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).hint).toMatch(/ANTHROPIC_API_KEY/);
    expect(inspect(err, { depth: 10, showHidden: true })).not.toContain(KEY);
    expect(JSON.stringify(err)).not.toContain(KEY);
  });

  it('a refused connection gives APIConnectionError after the retries, without the key', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const waits: RetryWaitInfo[] = [];
    const err = await client({ baseURL: `http://127.0.0.1:${port}`, maxRetries: 1, onRetryWait: (i) => waits.push(i) })
      .retrieve('file_x')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIConnectionError);
    expect((err as APIConnectionError).code).toBe('E_API_CONNECTION');
    expect(waits).toHaveLength(1);
    expect(inspect(err, { depth: 10, showHidden: true })).not.toContain(KEY);
  });

  it('a delete whose response was lost and whose retry gets 404 counts as deleted', async () => {
    handler = (req, res, _b, s) =>
      s.length === 1 ? void req.socket.destroy() : apiError(res, 404, 'not_found_error', 'File not found');
    expect(await client().delete('file_z')).toEqual({ id: 'file_z', type: 'file_deleted' });
    expect(seen.map((x) => x.method)).toEqual(['DELETE', 'DELETE']);
  });

  it('a plain 404 on delete is still NotFoundError', async () => {
    handler = (_req, res) => apiError(res, 404, 'not_found_error', 'File not found');
    await expect(client().delete('file_z')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('a server that never answers gives APIConnectionTimeoutError after the timeout, retried', async () => {
    handler = () => {}; // never respond
    const err = await client({ timeoutMs: 200, maxRetries: 1 })
      .retrieve('file_x')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIConnectionTimeoutError);
    expect((err as APIConnectionTimeoutError).code).toBe('E_API_TIMEOUT');
    expect(seen).toHaveLength(2);
  });
});

describe('retries', () => {
  it('honours retry-after-ms on a 429 and reports the wait before sleeping', async () => {
    handler = (_req, res, _b, s) =>
      s.length === 1
        ? apiError(res, 429, 'rate_limit_error', 'slow down', { 'retry-after-ms': '30', 'request-id': 'req_429' })
        : json(res, 200, meta('file_a'));
    const waits: RetryWaitInfo[] = [];
    const gates: number[] = [];
    const f = await client({
      onRetryWait: (i) => waits.push(i),
      beforeRequest: async () => void gates.push(seen.length),
    }).retrieve('file_a');
    expect(f.id).toBe('file_a');
    expect(waits).toEqual([
      {
        status: 429,
        waitMs: 30,
        fromServer: true,
        attempt: 1,
        requestId: 'req_429',
        method: 'GET',
        path: '/v1/files/file_a',
      },
    ]);
    expect(gates).toEqual([0, 1]);
  });

  it('reports every attempt to onAttempt with its status, a retried 429 and a timeout included', async () => {
    handler = (_req, res, _b, s) =>
      s.length === 1
        ? apiError(res, 429, 'rate_limit_error', 'slow down', { 'retry-after-ms': '5' })
        : json(res, 200, meta('file_a'));
    const attempts: AttemptInfo[] = [];
    await client({ onAttempt: (a) => attempts.push(a) }).retrieve('file_a');
    expect(attempts).toEqual([
      { method: 'GET', path: '/v1/files/file_a', status: 429, outcome: 'response' },
      { method: 'GET', path: '/v1/files/file_a', status: 200, outcome: 'ok' },
    ]);
    handler = () => {}; // never respond
    attempts.length = 0;
    await client({ timeoutMs: 100, maxRetries: 0, onAttempt: (a) => attempts.push(a) })
      .delete('file_b')
      .catch(() => undefined);
    expect(attempts).toEqual([{ method: 'DELETE', path: '/v1/files/file_b', status: null, outcome: 'timeout' }]);
  });

  /** A fake request gate: records every call, and holds `acquire` until its 429 pause is over. */
  function fakeGate() {
    const calls: string[] = [];
    let pausedUntil = 0;
    return {
      calls,
      beforeRequest: async () => {
        calls.push('acquire');
        const wait = pausedUntil - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      },
      onRetryWait: (info: RetryWaitInfo) => {
        calls.push(`wait ${info.status} ${info.waitMs}`);
        if (info.status === 429) pausedUntil = Math.max(pausedUntil, Date.now() + info.waitMs);
      },
    };
  }

  it('with a gate, a 429 is reported to it and the gate alone holds the retry (no sleep of its own)', async () => {
    const sentAt: number[] = [];
    handler = (_req, res, _b, s) => {
      sentAt.push(Date.now());
      return s.length === 1
        ? apiError(res, 429, 'rate_limit_error', 'slow down', { 'retry-after-ms': '400' })
        : json(res, 200, meta('file_a'));
    };
    const gate = fakeGate();
    const started = Date.now();
    await expect(
      client({ beforeRequest: gate.beforeRequest, onRetryWait: gate.onRetryWait }).retrieve('file_a'),
    ).resolves.toMatchObject({ id: 'file_a' });
    expect(gate.calls).toEqual(['acquire', 'wait 429 400', 'acquire']);
    const gap = sentAt[1]! - sentAt[0]!;
    // The retry went out after the gate's 400 ms pause, and only once it was over.
    expect(gap).toBeGreaterThanOrEqual(350);
    expect(Date.now() - started).toBeLessThan(780);
  });

  it('with a gate that does not pause, the client does not sleep on a 429', async () => {
    handler = (_req, res, _b, s) =>
      s.length === 1
        ? apiError(res, 429, 'rate_limit_error', 'slow down', { 'retry-after': '30' })
        : json(res, 200, meta('file_a'));
    const calls: string[] = [];
    const started = Date.now();
    await client({
      beforeRequest: async () => void calls.push('acquire'),
      onRetryWait: (i) => void calls.push(`wait ${i.waitMs}`),
    }).retrieve('file_a');
    expect(calls).toEqual(['acquire', 'wait 30000', 'acquire']);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('without a gate (the CLI), the client sleeps out a 429 itself', async () => {
    const sentAt: number[] = [];
    handler = (_req, res, _b, s) => {
      sentAt.push(Date.now());
      return s.length === 1
        ? apiError(res, 429, 'rate_limit_error', 'slow down', { 'retry-after-ms': '300' })
        : json(res, 200, meta('file_a'));
    };
    const waits: RetryWaitInfo[] = [];
    await client({ onRetryWait: (i) => waits.push(i) }).retrieve('file_a');
    expect(waits).toMatchObject([{ status: 429, waitMs: 300 }]);
    expect(sentAt[1]! - sentAt[0]!).toBeGreaterThanOrEqual(280);
  });

  it("with a gate, a 5xx backoff is still the client's own sleep (the gate does not pause)", async () => {
    const sentAt: number[] = [];
    handler = (_req, res, _b, s) => {
      sentAt.push(Date.now());
      return s.length === 1
        ? apiError(res, 503, 'api_error', 'later', { 'retry-after-ms': '300' })
        : json(res, 200, meta('file_a'));
    };
    const gate = fakeGate();
    await client({ beforeRequest: gate.beforeRequest, onRetryWait: gate.onRetryWait }).retrieve('file_a');
    expect(gate.calls).toEqual(['acquire', 'wait 503 300', 'acquire']);
    expect(sentAt[1]! - sentAt[0]!).toBeGreaterThanOrEqual(280);
  });

  it('with a gate, 429s never use up the retries: the request waits through more of them than maxRetries', async () => {
    handler = (_req, res, _b, s) =>
      s.length <= 5
        ? apiError(res, 429, 'rate_limit_error', 'slow down', { 'retry-after-ms': '10' })
        : json(res, 200, meta('file_a'));
    const gate = fakeGate();
    await expect(
      client({ maxRetries: 1, beforeRequest: gate.beforeRequest, onRetryWait: gate.onRetryWait }).retrieve('file_a'),
    ).resolves.toMatchObject({ id: 'file_a' });
    expect(seen).toHaveLength(6);
    // Without a gate the same server fails the request after its one retry.
    seen.length = 0;
    await expect(client({ maxRetries: 1 }).retrieve('file_a')).rejects.toMatchObject({ code: 'E_API_RATE_LIMIT' });
  });

  it('reports every answer to onResponse with its status, headers and start, and a lost one with status null', async () => {
    handler = (req, res, _b, s) => {
      if (s.length === 1)
        return apiError(res, 503, 'api_error', 'later', {
          'retry-after-ms': '1',
          'anthropic-ratelimit-requests-remaining': '7',
        });
      if (s.length === 2) return void req.socket.destroy();
      return json(res, 200, meta('file_a'));
    };
    const answers: ResponseInfo[] = [];
    const before = Date.now();
    await client({ maxRetries: 3, onResponse: (i) => answers.push(i) }).retrieve('file_a');
    expect(answers.map((a) => a.status)).toEqual([503, null, 200]);
    expect(answers[0]!.headers['anthropic-ratelimit-requests-remaining']).toBe('7');
    expect(answers[1]!.headers).toEqual({});
    for (const a of answers) expect(a.startedAt).toBeGreaterThanOrEqual(before);
  });

  it('passes the request signal to the gate, so an abort ends a gate wait', async () => {
    handler = (_req, res) => json(res, 200, meta('file_a'));
    const ac = new AbortController();
    const seenSignals: Array<AbortSignal | undefined> = [];
    const p = client({
      beforeRequest: (signal) => {
        seenSignals.push(signal);
        return new Promise((_resolve, reject) =>
          signal?.addEventListener('abort', () => reject(new Error('gate wait aborted'))),
        );
      },
    }).retrieve('file_a', { signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toThrow(/gate wait aborted/);
    expect(seenSignals).toEqual([ac.signal]);
    expect(seen).toHaveLength(0);
  });

  it('gives up after maxRetries with the class of the last status', async () => {
    handler = (_req, res) => apiError(res, 529, 'overloaded_error', 'busy', { 'retry-after': '0' });
    const err = await client({ maxRetries: 3 })
      .retrieve('file_a')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OverloadedError);
    expect((err as OverloadedError).retryable).toBe(true);
    expect(seen).toHaveLength(4);
  });

  it('x-should-retry: false stops a 500; x-should-retry: true retries a 400', async () => {
    handler = (_req, res) => apiError(res, 500, 'api_error', 'no', { 'x-should-retry': 'false' });
    await expect(client().retrieve('a')).rejects.toBeInstanceOf(InternalServerError);
    expect(seen).toHaveLength(1);
    seen = [];
    handler = (_req, res, _b, s) =>
      s.length === 1
        ? apiError(res, 400, 'invalid_request_error', 'again', { 'x-should-retry': 'true', 'retry-after-ms': '1' })
        : json(res, 200, meta('a'));
    await expect(client().retrieve('a')).resolves.toMatchObject({ id: 'a' });
    expect(seen).toHaveLength(2);
  });

  it('a 429 that exhausts retries is a RateLimitError', async () => {
    handler = (_req, res) => apiError(res, 429, 'rate_limit_error', 'slow', { 'retry-after-ms': '1' });
    await expect(client({ maxRetries: 1 }).retrieve('a')).rejects.toBeInstanceOf(RateLimitError);
    expect(seen).toHaveLength(2);
  });

  it('a user abort during a retry wait gives APIUserAbortError and no further attempt', async () => {
    handler = (_req, res) => apiError(res, 500, 'api_error', 'x', { 'retry-after': '30' });
    const ac = new AbortController();
    const p = client({ onRetryWait: () => ac.abort() }).retrieve('a', { signal: ac.signal });
    await expect(p).rejects.toBeInstanceOf(APIUserAbortError);
    expect(seen).toHaveLength(1);
  });
});

describe('attempts in flight (maxInFlight)', () => {
  /** Answers each request after `ms`, counting how many are open at once. */
  function slowServer(ms: number): { peak: () => number } {
    let open = 0;
    let peak = 0;
    rawHandler = async (_req, res) => {
      open++;
      peak = Math.max(peak, open);
      await new Promise((r) => setTimeout(r, ms));
      open--;
      json(res, 200, meta('a'));
      return true;
    };
    return { peak: () => peak };
  }

  it('never has more attempts in flight than maxInFlight, and every request still ends', async () => {
    const server = slowServer(30);
    const c = client({ maxInFlight: 2 });
    const done = await Promise.all(Array.from({ length: 7 }, () => c.retrieve('a')));
    expect(done).toHaveLength(7);
    expect(server.peak()).toBe(2);
  });

  it('a request waiting for a slot is not counted as started by beforeRequest until it has one', async () => {
    slowServer(30);
    let started = 0;
    let maxStartedAhead = 0;
    let answered = 0;
    const c = client({
      maxInFlight: 1,
      beforeRequest: async () => {
        started++;
        maxStartedAhead = Math.max(maxStartedAhead, started - answered);
      },
      onResponse: () => {
        answered++;
      },
    });
    await Promise.all([c.retrieve('a'), c.retrieve('a'), c.retrieve('a')]);
    expect(started).toBe(3);
    expect(maxStartedAhead).toBe(1);
  });

  it('gives its slot back during a retry wait: another request goes meanwhile', async () => {
    let calls = 0;
    handler = (req, res) => {
      calls++;
      // The first request fails once (and waits 200 ms); the second is answered at once.
      if (req.url!.includes('first') && calls === 1) apiError(res, 500, 'api_error', 'x', { 'retry-after-ms': '200' });
      else json(res, 200, meta('x'));
    };
    const c = client({ maxInFlight: 1 });
    const order: string[] = [];
    const first = c.retrieve('first').then(() => order.push('first'));
    await new Promise((r) => setTimeout(r, 50));
    const second = c.retrieve('second').then(() => order.push('second'));
    await Promise.all([first, second]);
    expect(order).toEqual(['second', 'first']);
  });

  it('a 401 fails the requests that waited for a slot behind it, unsent; a request made later is sent', async () => {
    handler = (_req, res) => apiError(res, 401, 'authentication_error', 'invalid x-api-key');
    const c = client({ maxInFlight: 1 });
    const all = await Promise.allSettled([c.retrieve('a'), c.retrieve('b'), c.retrieve('c')]);
    for (const r of all) expect(r.status === 'rejected' && (r.reason as { status?: number }).status).toBe(401);
    expect(seen).toHaveLength(1);
    await expect(c.retrieve('d')).rejects.toMatchObject({ status: 401 });
    expect(seen).toHaveLength(2);
  });

  it('after a 401, an upload or a delete made later fails unsent until an answer succeeds; a read is sent (it tests the key)', async () => {
    let refuse = true;
    handler = (req, res) => {
      if (refuse) apiError(res, 401, 'authentication_error', 'invalid x-api-key');
      else if (req.method === 'GET') json(res, 200, meta('a'));
      else json(res, 200, { id: 'file_a', type: 'file_deleted' });
    };
    const c = client({ maxInFlight: 2 });
    await expect(c.delete('file_a')).rejects.toMatchObject({ status: 401 });
    expect(seen).toHaveLength(1);
    // The key is known to be refused: these would be refused alike, and are not sent.
    await expect(c.upload({ bytes: Buffer.from('x') }, { filename: 'x.txt' })).rejects.toMatchObject({ status: 401 });
    await expect(c.delete('file_b')).rejects.toMatchObject({ status: 401 });
    expect(seen).toHaveLength(1);
    // A read goes (that is how the key is tried again); once one is answered, the rest go too.
    refuse = false;
    await expect(c.retrieve('a')).resolves.toMatchObject({ id: 'a' });
    await expect(c.delete('file_b')).resolves.toMatchObject({ type: 'file_deleted' });
    expect(seen).toHaveLength(3);
  });

  it('a request aborted while it waits for a slot gives APIUserAbortError and is never sent', async () => {
    slowServer(100);
    const c = client({ maxInFlight: 1 });
    const running = c.retrieve('a');
    const ac = new AbortController();
    const waiting = c.retrieve('b', { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(waiting).rejects.toBeInstanceOf(APIUserAbortError);
    await running;
  });
});

describe('list', () => {
  const all = Array.from({ length: 7 }, (_, i) => meta(`file_${String(6 - i)}`)); // newest first

  it('GA: pages with page/next_page, 1000 per page by default, and ids[] as one page', async () => {
    handler = (req, res) => {
      const q = new URL(req.url!, 'http://x').searchParams;
      if (q.getAll('ids[]').length)
        return json(res, 200, { data: all.filter((f) => q.getAll('ids[]').includes(f.id)), next_page: null });
      const start = Number((q.get('page') ?? 'page_0').slice(5));
      const limit = Number(q.get('limit'));
      const next = start + limit < all.length ? `page_${start + limit}` : null;
      json(res, 200, { data: all.slice(start, start + limit), next_page: next });
    };
    const ids: string[] = [];
    for await (const f of client().list({ limit: 3 })) ids.push(f.id);
    expect(ids).toEqual(all.map((f) => f.id));
    expect(seen.map((s) => s.url)).toEqual([
      '/v1/files?limit=3',
      '/v1/files?limit=3&page=page_3',
      '/v1/files?limit=3&page=page_6',
    ]);
    seen = [];
    for await (const _ of client().list()) void _;
    expect(seen[0]!.url).toBe('/v1/files?limit=1000');
    seen = [];
    const some: string[] = [];
    for await (const f of client().list({ ids: ['file_1', 'file_5', 'file_1'] })) some.push(f.id);
    expect(some.sort()).toEqual(['file_1', 'file_5']);
    expect(seen[0]!.url).toBe('/v1/files?ids%5B%5D=file_1&ids%5B%5D=file_5');
  });

  const betaHandler: Handler = (req, res) => {
    const q = new URL(req.url!, 'http://x').searchParams;
    const limit = Number(q.get('limit'));
    let slice: FileMetadata[];
    let hasMore: boolean;
    if (q.get('before_id')) {
      const idx = all.findIndex((f) => f.id === q.get('before_id'));
      slice = all.slice(Math.max(0, idx - limit), idx);
      hasMore = idx - limit > 0;
    } else {
      const idx = q.get('after_id') ? all.findIndex((f) => f.id === q.get('after_id')) + 1 : 0;
      slice = all.slice(idx, idx + limit);
      hasMore = idx + limit < all.length;
    }
    json(res, 200, {
      data: slice,
      has_more: hasMore,
      first_id: slice[0]?.id ?? null,
      last_id: slice.at(-1)?.id ?? null,
    });
  };

  it('beta: forward with after_id = last_id', async () => {
    handler = betaHandler;
    const ids: string[] = [];
    for await (const f of client({ shape: 'beta' }).list({ limit: 3 })) ids.push(f.id);
    expect(ids).toEqual(all.map((f) => f.id));
    expect(seen.map((s) => s.url)).toEqual([
      '/v1/files?limit=3',
      '/v1/files?limit=3&after_id=file_4',
      '/v1/files?limit=3&after_id=file_1',
    ]);
  });

  it('beta: reverse from before_id with before_id = first_id', async () => {
    handler = betaHandler;
    const ids: string[] = [];
    for await (const f of client({ shape: 'beta' }).list({ limit: 2, beforeId: 'file_0' })) ids.push(f.id);
    expect(ids).toEqual(['file_2', 'file_1', 'file_4', 'file_3', 'file_6', 'file_5']);
    expect(seen.map((s) => s.url)).toEqual([
      '/v1/files?limit=2&before_id=file_0',
      '/v1/files?limit=2&before_id=file_2',
      '/v1/files?limit=2&before_id=file_4',
    ]);
  });

  it('refuses options of the other shape', async () => {
    await expect(client().list({ beforeId: 'x' })[Symbol.asyncIterator]().next()).rejects.toThrow(/beta/);
    await expect(
      client({ shape: 'beta' })
        .list({ ids: ['x'] })
        [Symbol.asyncIterator]()
        .next(),
    ).rejects.toThrow(/GA/);
  });
});

describe('download and lifecycle', () => {
  it('downloads bytes and to a path with Accept: application/binary', async () => {
    const content = Buffer.from('generated output');
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(content);
    };
    const c = client();
    const bytes = await c.download('file_d');
    expect(Buffer.from(bytes!).equals(content)).toBe(true);
    expect(seen[0]!.url).toBe('/v1/files/file_d/content');
    expect(seen[0]!.headers.accept).toBe('application/binary');
    const out = join(tmp, 'out.bin');
    expect(await c.download('file_d', { toPath: out })).toBeNull();
    expect((await readFile(out)).equals(content)).toBe(true);
  });

  it('a refused download (400) leaves no file behind', async () => {
    handler = (_req, res) => apiError(res, 400, 'invalid_request_error', 'File is not downloadable');
    const out = join(tmp, 'refused.bin');
    await expect(client().download('file_u', { toPath: out })).rejects.toBeInstanceOf(BadRequestError);
    await expect(readFile(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('close() is idempotent and later requests fail', async () => {
    const c = client();
    const p1 = c.close();
    expect(c.close()).toBe(p1);
    await p1;
    const err = await c.retrieve('a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIConnectionError);
    expect((err as Error).message).toMatch(/closed/);
    expect(seen).toHaveLength(0);
  });

  it('refuses an empty key and bad numbers with a ConfigError naming the field', () => {
    expect(() => createFilesClient({ apiKey: '' })).toThrow(/API key/);
    expect(() => createFilesClient({ apiKey: 'k', maxRetries: -1 })).toThrow(/maxRetries.*-1/);
    expect(() => createFilesClient({ apiKey: 'k', timeoutMs: Number.NaN })).toThrow(/timeoutMs/);
    expect(() => createFilesClient({ apiKey: 'k', baseURL: 'not a url' })).toThrow(/base URL/);
    expect(() => createFilesClient({ apiKey: 'k', shape: 'v2' as never })).toThrow(/"ga" or "beta"/);
  });
});
