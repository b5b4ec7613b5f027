import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import {
  MultipartError,
  MultipartParser,
  boundaryFromContentType,
  parseDisposition,
  type MultipartEvent,
} from '../../src/emulator/server/multipart-parser.js';
import { multipart } from '../helpers/emulator.js';

interface ParsedPart {
  name: string;
  filename: string | null;
  contentType: string | null;
  body: Buffer;
}

/** Feeds `body` in the given chunk sizes and collects the parts. */
function parse(boundary: string, body: Buffer, chunkSizes: (i: number) => number): ParsedPart[] {
  const parser = new MultipartParser(boundary);
  const events: MultipartEvent[] = [];
  let i = 0;
  let n = 0;
  while (i < body.length) {
    const size = Math.max(1, chunkSizes(n++));
    events.push(...parser.write(body.subarray(i, i + size)));
    i += size;
  }
  events.push(...parser.end());
  const parts: ParsedPart[] = [];
  let current: { meta: Omit<ParsedPart, 'body'>; chunks: Buffer[] } | null = null;
  let ended = false;
  for (const ev of events) {
    if (ev.type === 'part')
      current = { meta: { name: ev.name, filename: ev.filename, contentType: ev.contentType }, chunks: [] };
    else if (ev.type === 'data') current?.chunks.push(Buffer.from(ev.bytes));
    else if (ev.type === 'partEnd' && current) {
      parts.push({ ...current.meta, body: Buffer.concat(current.chunks) });
      current = null;
    } else if (ev.type === 'end') ended = true;
  }
  expect(ended).toBe(true);
  return parts;
}

const BOUNDARY = '----emulatorTestBoundary7MA4YWxkTrZu0gW';
/** Content designed to contain near-misses of the delimiter. */
const TRICKY = Buffer.concat([
  Buffer.from(`\r\n--${BOUNDARY.slice(0, 10)}x\r\n-\r\n--\r\n\r\n`),
  Buffer.from([0, 1, 2, 13, 10, 45, 45, 13, 13, 10, 0x78]),
  Buffer.from(`--${BOUNDARY}`), // the boundary without the leading CRLF is content
  Buffer.from('tail\r'),
]);

describe('MultipartParser', () => {
  const { body } = multipart(
    [
      { name: 'file', filename: 'report.pdf', contentType: 'application/pdf', body: TRICKY },
      { name: 'expires_in_seconds', body: '3600' },
    ],
    BOUNDARY,
  );

  test('parses a body fed byte by byte', () => {
    const parts = parse(BOUNDARY, body, () => 1);
    expect(parts.map((p) => p.name)).toEqual(['file', 'expires_in_seconds']);
    expect(parts[0]?.filename).toBe('report.pdf');
    expect(parts[0]?.contentType).toBe('application/pdf');
    expect(parts[0]?.body.equals(TRICKY)).toBe(true);
    expect(parts[1]?.body.toString()).toBe('3600');
  });

  test('gives the same parts whatever the chunk boundaries (property)', () => {
    const whole = parse(BOUNDARY, body, () => body.length);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 40 }), (sizes) => {
        const parts = parse(BOUNDARY, body, (n) => sizes[n % sizes.length] as number);
        expect(parts).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });

  test('round-trips random content split at random places (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 1, max: 64 }), (content, chunk) => {
        const mp = multipart(
          [{ name: 'file', filename: 'x.bin', contentType: 'application/octet-stream', body: content }],
          'b',
        );
        const parts = parse('b', mp.body, () => chunk);
        expect(parts).toHaveLength(1);
        expect(parts[0]?.body.equals(Buffer.from(content))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  test('ignores a preamble and an epilogue, and accepts an empty part', () => {
    const text = `preamble\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="e.txt"\r\n\r\n\r\n--b--\r\nepilogue`;
    const parts = parse('b', Buffer.from(text), () => 3);
    expect(parts).toEqual([{ name: 'file', filename: 'e.txt', contentType: null, body: Buffer.alloc(0) }]);
  });

  test('accepts transport padding after a boundary', () => {
    const text = `--b  \r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--b--`;
    expect(parse('b', Buffer.from(text), () => 1)[0]?.body.toString()).toBe('v');
  });

  test('reads UTF-8 filenames', () => {
    const mp = multipart([{ name: 'file', filename: 'résumé 日本.txt', contentType: 'text/plain', body: 'x' }], 'b');
    expect(parse('b', mp.body, () => 2)[0]?.filename).toBe('résumé 日本.txt');
  });

  test('refuses a body that ends before the closing boundary', () => {
    const parser = new MultipartParser('b');
    parser.write(Buffer.from('--b\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc'));
    expect(() => parser.end()).toThrow(MultipartError);
  });

  test('refuses a part without Content-Disposition', () => {
    const parser = new MultipartParser('b');
    expect(() => parser.write(Buffer.from('--b\r\nContent-Type: text/plain\r\n\r\nabc\r\n--b--'))).toThrow(
      /Content-Disposition/,
    );
  });

  test('refuses endless part headers', () => {
    const parser = new MultipartParser('b');
    parser.write(Buffer.from('--b\r\nContent-Disposition: form-data; name="file"\r\nX-Long: '));
    expect(() => {
      for (let i = 0; i < 40; i++) parser.write(Buffer.alloc(1024, 0x61));
    }).toThrow(/too large/);
  });

  test('refuses garbage after a boundary', () => {
    const parser = new MultipartParser('b');
    expect(() => parser.write(Buffer.from('--bXY\r\n'))).toThrow(/malformed boundary/);
  });
});

describe('boundaryFromContentType', () => {
  test.each([
    ['multipart/form-data; boundary=abc', 'abc'],
    ['Multipart/Form-Data; charset=utf-8; boundary="a b:c"', 'a b:c'],
    ['multipart/form-data', null],
    ['application/json; boundary=abc', null],
    [undefined, null],
    [`multipart/form-data; boundary=${'x'.repeat(71)}`, null],
  ])('%s -> %s', (header, expected) => {
    expect(boundaryFromContentType(header)).toBe(expected);
  });
});

describe('parseDisposition', () => {
  test('reads quoted values with escapes and semicolons inside', () => {
    const d = parseDisposition('form-data; name="file"; filename="a\\"b;c.txt"');
    expect(d.type).toBe('form-data');
    expect(d.values.get('name')).toBe('file');
    expect(d.values.get('filename')).toBe('a"b;c.txt');
  });

  test('keeps a backslash that does not escape a quote', () => {
    expect(parseDisposition('form-data; name="file"; filename="a\\b.txt"').values.get('filename')).toBe('a\\b.txt');
  });

  test('decodes RFC 5987 filename*', () => {
    const d = parseDisposition("form-data; name=file; filename*=UTF-8''na%C3%AFve.txt");
    expect(d.values.get('name')).toBe('file');
    expect(d.values.get('filename*')).toBe('naïve.txt');
  });
});
