/**
 * sha256 of a file, streamed in 1 MiB chunks with two buffers: the next read is in flight (on the
 * libuv pool) while the current chunk is hashed, so reading and hashing overlap.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { SMALL_READ_BYTES, type FsSpeed } from './fs-speed.js';

export const HASH_CHUNK_BYTES = 1024 * 1024;
const MIN_BUFFER_BYTES = 64 * 1024;

interface HashOptions {
  readonly signal?: AbortSignal;
  /** The size stat reported: small files then get small buffers. */
  readonly sizeHint?: number;
}

interface FileHash {
  sha256: string;
  /** Bytes actually read (may differ from a stat taken before, if the file changed). */
  size: number;
}

export type HashFunction = (absPath: string, options?: HashOptions) => Promise<FileHash>;

export async function hashFile(absPath: string, options: HashOptions = {}): Promise<FileHash> {
  const { signal } = options;
  signal?.throwIfAborted();
  const hint = options.sizeHint;
  // One byte more than the expected size, so a file that did not grow ends in one short read.
  const bufferBytes =
    hint === undefined ? HASH_CHUNK_BYTES : Math.min(HASH_CHUNK_BYTES, Math.max(MIN_BUFFER_BYTES, hint + 1));
  const fh = await open(absPath, 'r');
  try {
    const hash = createHash('sha256');
    let current: Buffer = Buffer.allocUnsafe(bufferBytes);
    let spare: Buffer | null = null;
    let position = 0;
    let pending = fh.read(current, 0, bufferBytes, position);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      signal?.throwIfAborted();
      position += bytesRead;
      // A short read of a file no larger than stat said is its end: no read is spent to hear
      // it again (a file that grew meanwhile differs from its stat after, and is read again).
      if (bytesRead < bufferBytes && hint !== undefined && position <= hint) {
        hash.update(current.subarray(0, bytesRead));
        break;
      }
      const chunk = current;
      spare ??= Buffer.allocUnsafe(bufferBytes);
      current = spare;
      spare = chunk;
      pending = fh.read(current, 0, bufferBytes, position);
      hash.update(chunk.subarray(0, bytesRead));
    }
    return { sha256: hash.digest('hex'), size: position };
  } finally {
    await fh.close();
  }
}

/**
 * hashFile, except that a small file on a fast filesystem (./fs-speed.ts) is read in one
 * synchronous call: a few microseconds from the page cache, where three trips through the thread
 * pool (open, read, close) cost more than the read. Anything else, and a small file that turns
 * out to have grown, goes to hashFile.
 */
export function hashFileWith(speed: FsSpeed): HashFunction {
  return (absPath, options = {}) => {
    const hint = options.sizeHint;
    if (!speed.fast || hint === undefined || hint > SMALL_READ_BYTES) return hashFile(absPath, options);
    let whole: Buffer | null;
    try {
      options.signal?.throwIfAborted();
      whole = speed.time(() => readUpTo(absPath, hint));
    } catch (err) {
      return Promise.reject(err);
    }
    if (whole === null) return hashFile(absPath, options);
    return Promise.resolve({ sha256: createHash('sha256').update(whole).digest('hex'), size: whole.length });
  };
}

/**
 * The file's bytes when it holds at most `size` (one byte more is asked for, to tell), read
 * synchronously; null when it holds more. `flags` opens it (the uploader adds O_NOFOLLOW), and
 * `check` sees its descriptor before the read (the uploader checks the inode).
 */
export function readUpTo(
  absPath: string,
  size: number,
  flags: number | string = 'r',
  check?: (fd: number) => void,
): Buffer | null {
  const fd = openSync(absPath, flags);
  try {
    check?.(fd);
    const buf = Buffer.allocUnsafe(size + 1);
    let total = 0;
    for (;;) {
      const n = readSync(fd, buf, total, buf.length - total, total);
      if (n === 0) break;
      total += n;
      if (total > size) return null;
    }
    return buf.subarray(0, total);
  } finally {
    closeSync(fd);
  }
}
