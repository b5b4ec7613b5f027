/**
 * A multipart/form-data body built by hand, so that its length is known before the first byte
 * (preamble + file bytes + epilogue) and the file is streamed in constant memory, hashed on the
 * way out. The SDKs build a FormData in memory; a 500 MB file must not be.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { UploadSourceError } from './errors.js';

interface MultipartLayout {
  boundary: string;
  /** The request's Content-Type header. */
  contentType: string;
  /** Text fields and the file part's headers. */
  preamble: Buffer;
  /** The closing boundary. */
  epilogue: Buffer;
}

/** WHATWG FormData's escaping of names in Content-Disposition (what undici and browsers send). */
function escapeDispositionValue(value: string): string {
  return value.replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/"/g, '%22');
}

function newBoundary(): string {
  return `----claude-filesync-${randomBytes(16).toString('hex')}`;
}

/**
 * Lays out a body whose one file part is named `file`, with `fields` as text parts before it.
 * The file part always carries its Content-Type: the beta shape requires it.
 */
export function layoutMultipart(
  filename: string,
  mimeType: string,
  fields: ReadonlyArray<readonly [string, string]> = [],
  boundary: string = newBoundary(),
): MultipartLayout {
  let head = '';
  for (const [name, value] of fields) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${escapeDispositionValue(name)}"\r\n\r\n${value}\r\n`;
  }
  head +=
    `--${boundary}\r\n` +
    `Content-Disposition: form-data; name="file"; filename="${escapeDispositionValue(filename)}"\r\n` +
    `Content-Type: ${mimeType}\r\n\r\n`;
  return {
    boundary,
    contentType: `multipart/form-data; boundary=${boundary}`,
    preamble: Buffer.from(head, 'utf8'),
    epilogue: Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8'),
  };
}

/**
 * One attempt's body: the preamble, exactly `size` bytes from `source`, the epilogue. Counts and
 * hashes the file bytes as they are handed to the HTTP client. A source that ends early or runs
 * long throws UploadSourceError, which aborts the request instead of letting it hang on a
 * Content-Length that will never be reached.
 */
export class MultipartBody {
  readonly layout: MultipartLayout;
  readonly size: number;
  readonly contentLength: number;
  #hash: Hash = createHash('sha256');
  #bytesSent = 0;
  #sourceTouched = false;
  #complete = false;
  #sourceError: UploadSourceError | undefined;
  #source: () => AsyncIterable<Uint8Array>;
  #onProgress: () => void;

  constructor(
    layout: MultipartLayout,
    size: number,
    source: () => AsyncIterable<Uint8Array>,
    onProgress: () => void = () => {},
  ) {
    this.layout = layout;
    this.size = size;
    this.contentLength = layout.preamble.length + size + layout.epilogue.length;
    this.#source = source;
    this.#onProgress = onProgress;
  }

  /** File bytes handed to the HTTP client so far. */
  get bytesSent(): number {
    return this.#bytesSent;
  }
  /** Whether any byte was taken from the source (a consumed stream cannot be sent again). */
  get sourceTouched(): boolean {
    return this.#sourceTouched;
  }
  /** Whether the whole body, epilogue included, was handed over: the server may have stored it. */
  get complete(): boolean {
    return this.#complete;
  }
  /** The mismatch that aborted this body, if any. */
  get sourceError(): UploadSourceError | undefined {
    return this.#sourceError;
  }
  /** sha256 (hex) of the file bytes sent; call once the body is complete. */
  digest(): string {
    return this.#hash.copy().digest('hex');
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    // The preamble goes out with the first file bytes and the epilogue with the last, so a small
    // file is one write to the socket, not three: each write costs a system call and, under load,
    // a wake-up of the event loop.
    let held: Uint8Array = this.layout.preamble;
    let first = true;
    if (this.size > 0) {
      this.#sourceTouched = true;
      for await (const chunk of this.#source()) {
        if (this.#bytesSent + chunk.length > this.size) {
          throw this.#fail(
            `The upload source delivered more than the ${this.size} bytes it declared.`,
            this.#bytesSent + chunk.length,
          );
        }
        this.#hash.update(chunk);
        this.#bytesSent += chunk.length;
        this.#onProgress();
        if (first) {
          held = Buffer.concat([held, chunk]);
          first = false;
        } else {
          yield held;
          held = chunk;
        }
      }
    }
    if (this.#bytesSent !== this.size) {
      throw this.#fail(
        `The upload source ended after ${this.#bytesSent} of ${this.size} bytes (the file shrank while it was being sent).`,
        this.#bytesSent,
      );
    }
    this.#complete = true;
    yield Buffer.concat([held, this.layout.epilogue]);
  }

  #fail(message: string, actual: number): UploadSourceError {
    this.#sourceError = new UploadSourceError(message, this.size, actual);
    return this.#sourceError;
  }
}

/** Slices a buffer so the per-attempt progress timer sees steady progress. */
export async function* chunksOf(bytes: Uint8Array, chunkSize = 1024 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += chunkSize) {
    yield bytes.subarray(i, Math.min(i + chunkSize, bytes.length));
  }
}
