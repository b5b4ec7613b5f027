/**
 * Whether a file's bytes are valid UTF-8, read as a stream (a large log is never held whole).
 * The MIME policy (./mime-policy.ts) sends a text-like file as `text/plain; charset=utf-8` only
 * when this holds.
 */
import { createReadStream } from 'node:fs';

/** Whether a whole file's bytes are valid UTF-8 (Node's own check). */
export { isUtf8 } from 'node:buffer';

export async function isUtf8File(file: string): Promise<boolean> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for await (const chunk of createReadStream(file)) decoder.decode(chunk as Buffer, { stream: true });
    decoder.decode();
    return true;
  } catch (err) {
    if (err instanceof TypeError) return false; // the decoder's "not UTF-8"
    throw err;
  }
}
