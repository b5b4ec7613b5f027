/**
 * sha256 of a file, streamed in 1 MiB chunks with two buffers: the next read is in flight (on the
 * libuv pool) while the current chunk is hashed, so reading and hashing overlap.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

export const HASH_CHUNK_BYTES = 1024 * 1024;
const MIN_BUFFER_BYTES = 64 * 1024;

export interface HashOptions {
  readonly signal?: AbortSignal;
  /** The size stat reported: small files then get small buffers. */
  readonly sizeHint?: number;
}

export interface FileHash {
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
