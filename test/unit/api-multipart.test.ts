import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { MultipartBody, chunksOf, layoutMultipart } from '../../src/api/multipart.js';
import { UploadSourceError } from '../../src/api/errors.js';

async function collect(body: MultipartBody): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

describe('multipart body', () => {
  it('is exactly preamble + bytes + epilogue, of the announced length, hashed', async () => {
    const layout = layoutMultipart('a.txt', 'text/plain', [['expires_in_seconds', '3600']], 'BOUND');
    const bytes = Buffer.from('hello world');
    const body = new MultipartBody(layout, bytes.length, () => chunksOf(bytes, 4));
    const out = await collect(body);
    expect(out.length).toBe(body.contentLength);
    expect(out.toString()).toBe(
      '--BOUND\r\nContent-Disposition: form-data; name="expires_in_seconds"\r\n\r\n3600\r\n' +
        '--BOUND\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\n' +
        'hello world\r\n--BOUND--\r\n',
    );
    expect(layout.contentType).toBe('multipart/form-data; boundary=BOUND');
    expect(body.complete).toBe(true);
    expect(body.bytesSent).toBe(11);
    expect(body.digest()).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('hands a one-chunk file over in one piece, and a longer one with the preamble on its first chunk and the epilogue on its last', async () => {
    const layout = layoutMultipart('a.txt', 'text/plain', [], 'B');
    const pieces = async (body: MultipartBody): Promise<number> => {
      let n = 0;
      for await (const _ of body) n++;
      return n;
    };
    const small = new MultipartBody(layout, 11, () => chunksOf(Buffer.from('hello world')));
    expect(await pieces(small)).toBe(1);
    expect(small.complete).toBe(true);
    const three = new MultipartBody(layout, 11, () => chunksOf(Buffer.from('hello world'), 4));
    expect(await pieces(three)).toBe(3);
    expect((await collect(new MultipartBody(layout, 11, () => chunksOf(Buffer.from('hello world'), 4)))).length).toBe(
      three.contentLength,
    );
  });

  it('escapes quotes and line breaks in the filename and keeps UTF-8', () => {
    const layout = layoutMultipart('r\u00e9sum\u00e9 "x"\n.pdf', 'application/pdf', [], 'B');
    expect(layout.preamble.toString('utf8')).toContain('filename="r\u00e9sum\u00e9 %22x%22%0A.pdf"');
  });

  it('a short source throws UploadSourceError and never completes', async () => {
    const body = new MultipartBody(layoutMultipart('a', 'x/y'), 10, () => chunksOf(Buffer.alloc(6)));
    const err = await collect(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadSourceError);
    expect(err).toMatchObject({ expectedBytes: 10, actualBytes: 6 });
    expect(body.complete).toBe(false);
    expect(body.sourceError).toBe(err);
  });

  it('a long source throws before sending the extra bytes', async () => {
    const body = new MultipartBody(layoutMultipart('a', 'x/y'), 4, () => chunksOf(Buffer.alloc(6), 3));
    await expect(collect(body)).rejects.toBeInstanceOf(UploadSourceError);
    expect(body.bytesSent).toBe(3);
  });

  it('a zero-byte file never touches its source', async () => {
    let touched = false;
    const body = new MultipartBody(layoutMultipart('e', 'x/y'), 0, () => {
      touched = true;
      return chunksOf(Buffer.alloc(0));
    });
    const out = await collect(body);
    expect(out.length).toBe(body.contentLength);
    expect(touched).toBe(false);
    expect(body.sourceTouched).toBe(false);
  });
});
