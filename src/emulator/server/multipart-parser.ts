/**
 * A streaming multipart/form-data parser (RFC 7578 / RFC 2046). Pure: `write(chunk)` returns the
 * events that chunk completes, so the caller can await each one (file writes, hashing) and keep
 * memory constant however large the body is. Chunk boundaries may fall anywhere, even inside the
 * delimiter or the part headers.
 */

export type MultipartEvent =
  | { type: 'part'; name: string; filename: string | null; contentType: string | null; headers: Record<string, string> }
  | { type: 'data'; bytes: Buffer }
  | { type: 'partEnd' }
  | { type: 'end' };

/** The body is not valid multipart; the emulator answers 400. */
export class MultipartError extends Error {
  override readonly name = 'MultipartError';
}

/** Part headers larger than this are refused: nothing legitimate needs more. */
const MAX_HEADER_BYTES = 16 * 1024;
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

type State = 'preamble' | 'afterDelimiter' | 'headers' | 'body' | 'epilogue';

/** The boundary from a Content-Type header, or null when it is not multipart/form-data. */
export function boundaryFromContentType(contentType: string | undefined): string | null {
  if (!contentType) return null;
  const [essence, ...params] = contentType.split(';');
  if (essence?.trim().toLowerCase() !== 'multipart/form-data') return null;
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq < 0) continue;
    if (param.slice(0, eq).trim().toLowerCase() !== 'boundary') continue;
    let value = param.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    // RFC 2046: 1..70 characters.
    return value.length >= 1 && value.length <= 70 ? value : null;
  }
  return null;
}

export class MultipartParser {
  /** "\r\n--boundary": the body is prefixed with a virtual CRLF so the first delimiter matches too. */
  readonly #delimiter: Buffer;
  #state: State = 'preamble';
  #pending: Buffer = CRLF;
  #ended = false;

  constructor(boundary: string) {
    this.#delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  }

  /** True once the closing delimiter has been seen. */
  get done(): boolean {
    return this.#state === 'epilogue';
  }

  write(chunk: Uint8Array): MultipartEvent[] {
    if (this.#ended) throw new MultipartError('write after end');
    if (this.#state === 'epilogue') return [];
    const events: MultipartEvent[] = [];
    let buf =
      this.#pending.length === 0
        ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
        : Buffer.concat([this.#pending, chunk]);
    this.#pending = Buffer.alloc(0);
    for (;;) {
      const rest = this.#step(buf, events);
      if (rest === null) break;
      buf = rest;
    }
    return events;
  }

  /** Call when the body has ended; throws when the closing delimiter never came. */
  end(): MultipartEvent[] {
    this.#ended = true;
    if (this.#state !== 'epilogue') throw new MultipartError('multipart body ended before its closing boundary');
    return [];
  }

  /** Consumes what it can of `buf`; returns the unconsumed rest to continue with, or null to wait for more. */
  #step(buf: Buffer, events: MultipartEvent[]): Buffer | null {
    const delim = this.#delimiter;
    switch (this.#state) {
      case 'preamble': {
        const at = buf.indexOf(delim);
        if (at < 0) {
          this.#pending = keepTail(buf, delim.length - 1);
          return null;
        }
        this.#state = 'afterDelimiter';
        return buf.subarray(at + delim.length);
      }
      case 'afterDelimiter': {
        // "--" closes the body; otherwise optional transport padding (spaces, tabs), then CRLF.
        let i = 0;
        if (buf.length < 2) {
          this.#pending = buf;
          return null;
        }
        if (buf[0] === 0x2d && buf[1] === 0x2d) {
          this.#state = 'epilogue';
          events.push({ type: 'end' });
          return null;
        }
        while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
        if (i + 2 > buf.length) {
          if (i > 256) throw new MultipartError('too much padding after a boundary');
          this.#pending = buf;
          return null;
        }
        if (buf[i] !== 0x0d || buf[i + 1] !== 0x0a) throw new MultipartError('malformed boundary line');
        this.#state = 'headers';
        return buf.subarray(i + 2);
      }
      case 'headers': {
        // The blank line right after the boundary line means "no headers": handle "\r\n" first.
        if (buf.length >= 2 && buf[0] === 0x0d && buf[1] === 0x0a) {
          events.push(partEvent(''));
          this.#state = 'body';
          return buf.subarray(2);
        }
        const at = buf.indexOf(HEADER_END);
        if (at < 0) {
          if (buf.length > MAX_HEADER_BYTES) throw new MultipartError('part headers too large');
          this.#pending = buf;
          return null;
        }
        if (at > MAX_HEADER_BYTES) throw new MultipartError('part headers too large');
        events.push(partEvent(buf.subarray(0, at).toString('utf8')));
        this.#state = 'body';
        return buf.subarray(at + HEADER_END.length);
      }
      case 'body': {
        const at = buf.indexOf(delim);
        if (at < 0) {
          // Everything except a tail that could be the start of the delimiter is content.
          const safe = buf.length - (delim.length - 1);
          if (safe > 0) events.push({ type: 'data', bytes: buf.subarray(0, safe) });
          this.#pending = keepTail(buf, delim.length - 1);
          return null;
        }
        if (at > 0) events.push({ type: 'data', bytes: buf.subarray(0, at) });
        events.push({ type: 'partEnd' });
        this.#state = 'afterDelimiter';
        return buf.subarray(at + delim.length);
      }
      case 'epilogue':
        return null;
    }
  }
}

function keepTail(buf: Buffer, n: number): Buffer {
  // Copy: the tail outlives the chunk and must not pin a large buffer.
  return Buffer.from(buf.length > n ? buf.subarray(buf.length - n) : buf);
}

function partEvent(rawHeaders: string): MultipartEvent {
  const headers: Record<string, string> = {};
  for (const line of rawHeaders.split('\r\n')) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MultipartError(`malformed part header line: ${JSON.stringify(line.slice(0, 80))}`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const disposition = headers['content-disposition'];
  if (!disposition) throw new MultipartError('part without Content-Disposition');
  const params = parseDisposition(disposition);
  if (params.type !== 'form-data') throw new MultipartError(`part disposition is ${params.type}, expected form-data`);
  const name = params.values.get('name');
  if (name === undefined) throw new MultipartError('part without a name');
  const filename = params.values.get('filename*') ?? params.values.get('filename') ?? null;
  const contentType = headers['content-type'] ?? null;
  return { type: 'part', name, filename, contentType: contentType === '' ? null : contentType, headers };
}

/** Parses `form-data; name="file"; filename="a b.txt"` (quoted strings, RFC 5987 filename*). */
export function parseDisposition(value: string): { type: string; values: Map<string, string> } {
  const values = new Map<string, string>();
  let i = value.indexOf(';');
  const type = (i < 0 ? value : value.slice(0, i)).trim().toLowerCase();
  while (i >= 0 && i < value.length) {
    i++;
    while (value[i] === ' ' || value[i] === '\t') i++;
    const eq = value.indexOf('=', i);
    if (eq < 0) break;
    const key = value.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let v = '';
    if (value[i] === '"') {
      i++;
      while (i < value.length && value[i] !== '"') {
        // Clients do not backslash-escape (WHATWG FormData percent-encodes quotes), so only \" is
        // an escape; any other backslash is part of the name and must meet the filename rules.
        if (value[i] === '\\' && value[i + 1] === '"') i++;
        v += value[i];
        i++;
      }
      i = value.indexOf(';', i);
    } else {
      const end = value.indexOf(';', i);
      v = (end < 0 ? value.slice(i) : value.slice(i, end)).trim();
      i = end;
    }
    if (key === 'filename*') {
      const decoded = decodeExtValue(v);
      if (decoded !== null) values.set(key, decoded);
    } else {
      values.set(key, v);
    }
    if (i < 0) break;
  }
  return { type, values };
}

function decodeExtValue(v: string): string | null {
  const m = /^([^']*)'[^']*'(.*)$/.exec(v);
  if (!m) return null;
  try {
    return decodeURIComponent(m[2] ?? '');
  } catch {
    return null;
  }
}
