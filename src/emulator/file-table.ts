/**
 * The in-memory index of stored files, ordered by creation time (strictly increasing
 * microseconds), with the slices the two list shapes need. Pure: no IO, no clock.
 */
import { FilesyncError } from '../errors.js';
import type { StoredFile } from './types.js';

export interface Entry {
  readonly file: StoredFile;
  /** created_at in microseconds since the epoch; unique and the sort key. */
  readonly micros: number;
  /** expires_at in microseconds, or null. */
  readonly expiresMicros: number | null;
}

export interface Slice {
  /** Newest first. */
  items: Entry[];
  /** Whether more entries exist beyond the slice in the direction asked for. */
  hasMore: boolean;
}

export class FileTable {
  /** Oldest first, so new uploads append. */
  readonly #asc: Entry[] = [];
  readonly #byId = new Map<string, Entry>();
  /** Positions of deleted ids, so a cursor naming a just-deleted file still pages on. */
  readonly #tombstones = new Map<string, number>();
  #expiring = 0;
  #totalBytes = 0;

  get size(): number {
    return this.#asc.length;
  }

  get(id: string): Entry | undefined {
    return this.#byId.get(id);
  }

  insert(entry: Entry): void {
    if (this.#byId.has(entry.file.id)) throw new FilesyncError('E_EMULATOR_STORE', `duplicate file id ${entry.file.id}`);
    const last = this.#asc[this.#asc.length - 1];
    if (!last || last.micros < entry.micros) this.#asc.push(entry);
    else this.#asc.splice(this.#lowerBound(entry.micros), 0, entry);
    this.#byId.set(entry.file.id, entry);
    this.#totalBytes += entry.file.size_bytes;
    if (entry.expiresMicros !== null) this.#expiring++;
  }

  remove(id: string): Entry | undefined {
    const entry = this.#byId.get(id);
    if (!entry) return undefined;
    this.#byId.delete(id);
    const at = this.#lowerBound(entry.micros);
    if (this.#asc[at] === entry) this.#asc.splice(at, 1);
    this.#totalBytes -= entry.file.size_bytes;
    if (entry.expiresMicros !== null) this.#expiring--;
    this.#tombstones.set(id, entry.micros);
    return entry;
  }

  /** The sort position of a live or deleted id. */
  position(id: string): number | undefined {
    return this.#byId.get(id)?.micros ?? this.#tombstones.get(id);
  }

  newestFirst(): Entry[] {
    return this.#asc.slice().reverse();
  }

  /** The newest `limit` entries. */
  newest(limit: number): Slice {
    return this.olderThan(Number.POSITIVE_INFINITY, limit);
  }

  /** The `limit` entries right after `micros` in newest-first order (i.e. older ones). */
  olderThan(micros: number, limit: number): Slice {
    const end = this.#lowerBound(micros); // entries [0, end) are older
    const start = Math.max(0, end - limit);
    return { items: this.#asc.slice(start, end).reverse(), hasMore: start > 0 };
  }

  /** The `limit` entries right before `micros` in newest-first order (newer ones), newest first. */
  newerThan(micros: number, limit: number): Slice {
    let start = this.#lowerBound(micros);
    if (this.#asc[start]?.micros === micros) start++;
    const end = Math.min(this.#asc.length, start + limit);
    return { items: this.#asc.slice(start, end).reverse(), hasMore: end < this.#asc.length };
  }

  /** Bytes of files that have not expired (expired files release their quota). */
  usedBytes(nowMicros: number): number {
    if (this.#expiring === 0) return this.#totalBytes;
    let total = this.#totalBytes;
    for (const e of this.#asc) {
      if (e.expiresMicros !== null && e.expiresMicros <= nowMicros) total -= e.file.size_bytes;
    }
    return total;
  }

  /** Ids of files whose metadata should be gone: expired before `cutoffMicros`. */
  expiredBefore(cutoffMicros: number): string[] {
    if (this.#expiring === 0) return [];
    return this.#asc.filter((e) => e.expiresMicros !== null && e.expiresMicros <= cutoffMicros).map((e) => e.file.id);
  }

  /** First index whose micros is >= `micros`. */
  #lowerBound(micros: number): number {
    let lo = 0;
    let hi = this.#asc.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#asc[mid] as Entry).micros < micros) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
