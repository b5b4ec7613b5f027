/** Identifiers and timestamps the emulator hands out. */
import { randomBytes } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `length` uniformly random base62 characters (rejection sampling avoids modulo bias). */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b >= 248) continue;
      out += BASE62[b % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

export const newFileId = (): string => `file_${randomBase62(24)}`;
export const newRequestId = (): string => `req_${randomBase62(24)}`;
export const newWorkspaceId = (): string => `wrkspc_${randomBase62(24)}`;

/** A workspace id the emulator will send: header-safe; the API's look like `wrkspc_01Jw…`. */
export function checkWorkspaceId(id: unknown): string {
  if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,255}$/.test(id)) {
    throw new TypeError(`Expected workspaceId to be 1-255 characters of A-Z a-z 0-9 _ -, got ${JSON.stringify(id)}`);
  }
  return id;
}

/** RFC 3339 with microseconds, e.g. 2025-04-15T18:37:24.100435Z. */
export function formatMicros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const iso = new Date(ms).toISOString(); // ...ss.mmmZ
  const sub = String(micros - ms * 1000).padStart(3, '0');
  return `${iso.slice(0, -1)}${sub}Z`;
}

/** Microseconds since the epoch, parsed back from formatMicros' output (or any RFC 3339 string). */
export function parseMicros(text: string): number {
  const m = /^(.*?)(?:\.(\d+))?Z$/.exec(text);
  const base = Date.parse(`${m?.[1] ?? text}Z`);
  const frac = m?.[2] ? Number(`${m[2]}000000`.slice(0, 6)) : 0;
  return base * 1000 + frac;
}

/**
 * Hands out strictly increasing microsecond timestamps from a millisecond clock, so newest-first
 * order is total even when many files arrive within one millisecond.
 */
export class MicrosClock {
  #last = 0;
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Never hand out a value at or below one already used (e.g. after loading a folder store). */
  observe(micros: number): void {
    if (micros > this.#last) this.#last = micros;
  }

  next(): number {
    const micros = Math.max(Math.floor(this.#now() * 1000), this.#last + 1);
    this.#last = micros;
    return micros;
  }
}
