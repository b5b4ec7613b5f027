/**
 * The in-memory index of stored files, ordered by creation time (strictly increasing
 * microseconds), with the slices the two list shapes need, and the records it holds. Pure: no IO, no clock.
 */
import { FilesyncError, ErrorCode } from '../../errors.js';
import { DEFAULT_MIME_TYPE } from './metadata-rules.js';
import { formatMicros, parseMicros } from './ids.js';
import type { StoredFile } from '../emulator-types.js';

export interface Entry {
  readonly file: StoredFile;
  /** created_at in microseconds since the epoch; unique and the sort key. */
  readonly micros: number;
  /** expires_at in microseconds, or null. */
  readonly expiresMicros: number | null;
}

export function entryFor(file: StoredFile): Entry {
  const micros = parseMicros(file.created_at);
  const expiresMicros = file.expires_at ? parseMicros(file.expires_at) : null;
  return { file, micros, expiresMicros };
}

export interface NewFile {
  id: string;
  filename: string;
  mimeType: string;
  sizeBytes: number;
  sha256: string;
  downloadable: boolean;
  expiresInSeconds: number | null;
}

/** The metadata of a file stored at `micros` (its created_at). */
export function newStoredFile(f: NewFile, micros: number): StoredFile {
  return {
    id: f.id,
    type: 'file',
    filename: f.filename,
    mime_type: f.mimeType || DEFAULT_MIME_TYPE,
    size_bytes: f.sizeBytes,
    created_at: formatMicros(micros),
    downloadable: f.downloadable,
    expires_at: f.expiresInSeconds === null ? null : formatMicros(micros + f.expiresInSeconds * 1_000_000),
    sha256: f.sha256,
  };
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
    if (this.#byId.has(entry.file.id))
      throw new FilesyncError(ErrorCode.EmulatorStore, `duplicate file id ${entry.file.id}`);
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

  /** Swaps a live entry for a new version of it (same id and creation time), keeping its place. */
  replace(entry: Entry): void {
    const old = this.#byId.get(entry.file.id);
    if (!old || old.micros !== entry.micros)
      throw new FilesyncError(
        ErrorCode.EmulatorStore,
        `replace needs a live file with the same created_at: ${entry.file.id}`,
      );
    this.#asc[this.#lowerBound(entry.micros)] = entry;
    this.#byId.set(entry.file.id, entry);
    this.#totalBytes += entry.file.size_bytes - old.file.size_bytes;
    this.#expiring += (entry.expiresMicros !== null ? 1 : 0) - (old.expiresMicros !== null ? 1 : 0);
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
