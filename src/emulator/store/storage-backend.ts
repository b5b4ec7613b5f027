/**
 * Where the emulator keeps file contents and metadata: in memory, or in a folder that survives a
 * restart. The folder holds `files.jsonl` (a journal of put/delete records, compacted on load via
 * tmp + rename) and `blobs/<id>` (each written to a tmp file, then renamed into place). A blob is
 * renamed before its journal record is appended, so metadata never points at a missing blob.
 * `workspace.json` keeps the emulator's workspace id, so a restart answers with the same one.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { randomBase62 } from './ids.js';
import type { StoredFile } from '../emulator-types.js';
import { FilesyncError, ErrorCode } from '../../errors.js';

export interface BlobWriter {
  write(bytes: Buffer): Promise<void>;
  /** Makes the blob durable under its id. */
  commit(): Promise<void>;
  /** Discards what was written. Safe to call after a failure, and more than once. */
  abort(): Promise<void>;
}

export interface StorageBackend {
  readonly kind: 'memory' | 'folder';
  /** Files recorded by earlier runs (any order). */
  load(): Promise<StoredFile[]>;
  createBlob(id: string): BlobWriter;
  /** Stores a whole blob at once (addFile). */
  putBlob(id: string, bytes: Uint8Array): Promise<void>;
  recordPut(file: StoredFile): Promise<void>;
  recordDelete(id: string): Promise<void>;
  readBlob(id: string): Promise<Buffer | null>;
  streamBlob(id: string): Readable;
  /** The workspace id saved by an earlier run, or null. */
  loadWorkspaceId(): Promise<string | null>;
  saveWorkspaceId(id: string): Promise<void>;
  close(): Promise<void>;
}

export class MemoryBackend implements StorageBackend {
  readonly kind = 'memory';
  readonly #blobs = new Map<string, Buffer>();

  async load(): Promise<StoredFile[]> {
    return [];
  }

  createBlob(id: string): BlobWriter {
    let chunks: Buffer[] = [];
    return {
      write: async (bytes) => {
        // Copy: the parser hands out views of the socket's chunks.
        chunks.push(Buffer.from(bytes));
      },
      commit: async () => {
        this.#blobs.set(id, Buffer.concat(chunks));
        chunks = [];
      },
      abort: async () => {
        chunks = [];
      },
    };
  }

  async putBlob(id: string, bytes: Uint8Array): Promise<void> {
    this.#blobs.set(id, Buffer.from(bytes));
  }

  async recordPut(): Promise<void> {}

  async recordDelete(id: string): Promise<void> {
    this.#blobs.delete(id);
  }

  async readBlob(id: string): Promise<Buffer | null> {
    return this.#blobs.get(id) ?? null;
  }

  streamBlob(id: string): Readable {
    return Readable.from([this.#blobs.get(id) ?? Buffer.alloc(0)]);
  }

  async loadWorkspaceId(): Promise<string | null> {
    return null;
  }

  async saveWorkspaceId(): Promise<void> {}

  async close(): Promise<void> {}
}

type JournalRecord = { op: 'put'; file: StoredFile } | { op: 'delete'; id: string };

const JOURNAL = 'files.jsonl';
const WORKSPACE = 'workspace.json';
const BLOBS = 'blobs';
const TMP_PREFIX = '.tmp-';

export class FolderBackend implements StorageBackend {
  readonly kind = 'folder';
  readonly #dir: string;
  #journal: FileHandle | null = null;
  /** Appends run one after another so records keep their order. */
  #tail: Promise<void> = Promise.resolve();

  constructor(dir: string) {
    this.#dir = dir;
  }

  #blobPath(id: string): string {
    return join(this.#dir, BLOBS, id);
  }

  async load(): Promise<StoredFile[]> {
    await mkdir(join(this.#dir, BLOBS), { recursive: true });
    const files = new Map<string, StoredFile>();
    let text = '';
    try {
      text = await readFile(join(this.#dir, JOURNAL), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let rec: JournalRecord;
      try {
        rec = JSON.parse(line) as JournalRecord;
      } catch {
        continue; // a record torn by a crash mid-append: it was never acknowledged
      }
      if (rec.op === 'put') files.set(rec.file.id, rec.file);
      else if (rec.op === 'delete') files.delete(rec.id);
    }
    const blobNames = new Set(await readdir(join(this.#dir, BLOBS)));
    for (const id of [...files.keys()]) if (!blobNames.has(id)) files.delete(id);
    for (const name of blobNames) {
      if (name.startsWith(TMP_PREFIX) || !files.has(name)) await rm(join(this.#dir, BLOBS, name), { force: true });
    }
    const live = [...files.values()];
    // Compact: one put per live file, written to a tmp file and renamed over the journal.
    const tmp = join(this.#dir, `${JOURNAL}${TMP_PREFIX}${randomBase62(8)}`);
    await writeFile(tmp, live.map((file) => `${JSON.stringify({ op: 'put', file })}\n`).join(''));
    await rename(tmp, join(this.#dir, JOURNAL));
    this.#journal = await open(join(this.#dir, JOURNAL), 'a');
    return live;
  }

  createBlob(id: string): BlobWriter {
    const tmp = join(this.#dir, BLOBS, `${TMP_PREFIX}${id}-${randomBase62(6)}`);
    let stream: WriteStream | null = null;
    let failed: Error | null = null;
    const ensure = (): WriteStream => {
      if (!stream) {
        stream = createWriteStream(tmp, { flags: 'wx' });
        stream.on('error', (err) => {
          failed = err;
        });
      }
      return stream;
    };
    return {
      write: async (bytes) => {
        const ws = ensure();
        if (failed) throw failed;
        if (!ws.write(bytes)) {
          // Remove the losing listener each time: a 1 GB upload waits for drain thousands of times.
          const done = new AbortController();
          try {
            await Promise.race([
              once(ws, 'drain', { signal: done.signal }),
              once(ws, 'close', { signal: done.signal }),
            ]);
          } finally {
            done.abort();
          }
        }
        if (failed) throw failed;
      },
      commit: async () => {
        const ws = ensure();
        ws.end();
        await once(ws, 'close');
        if (failed) throw failed;
        await rename(tmp, this.#blobPath(id));
      },
      abort: async () => {
        if (stream && !stream.destroyed) {
          stream.destroy();
          await once(stream, 'close').catch(() => undefined);
        }
        await rm(tmp, { force: true });
      },
    };
  }

  async putBlob(id: string, bytes: Uint8Array): Promise<void> {
    const tmp = join(this.#dir, BLOBS, `${TMP_PREFIX}${id}-${randomBase62(6)}`);
    await writeFile(tmp, bytes);
    await rename(tmp, this.#blobPath(id));
  }

  recordPut(file: StoredFile): Promise<void> {
    return this.#append({ op: 'put', file });
  }

  async recordDelete(id: string): Promise<void> {
    await this.#append({ op: 'delete', id });
    await rm(this.#blobPath(id), { force: true });
  }

  #append(rec: JournalRecord): Promise<void> {
    const line = `${JSON.stringify(rec)}\n`;
    const next = this.#tail.then(async () => {
      if (!this.#journal) throw new FilesyncError(ErrorCode.EmulatorStore, 'emulator folder store is closed');
      await this.#journal.appendFile(line);
    });
    this.#tail = next.catch(() => undefined);
    return next;
  }

  async readBlob(id: string): Promise<Buffer | null> {
    try {
      return await readFile(this.#blobPath(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  streamBlob(id: string): Readable {
    return createReadStream(this.#blobPath(id));
  }

  async loadWorkspaceId(): Promise<string | null> {
    try {
      const saved = JSON.parse(await readFile(join(this.#dir, WORKSPACE), 'utf8')) as { workspace_id?: unknown };
      return typeof saved.workspace_id === 'string' && saved.workspace_id !== '' ? saved.workspace_id : null;
    } catch (err) {
      // Missing, or torn by a crash mid-write (written by rename, so only a foreign edit): start a new one.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || err instanceof SyntaxError) return null;
      throw err;
    }
  }

  async saveWorkspaceId(id: string): Promise<void> {
    const tmp = join(this.#dir, `${WORKSPACE}${TMP_PREFIX}${randomBase62(8)}`);
    await writeFile(tmp, `${JSON.stringify({ workspace_id: id })}\n`);
    await rename(tmp, join(this.#dir, WORKSPACE));
  }

  async close(): Promise<void> {
    await this.#tail;
    await this.#journal?.close();
    this.#journal = null;
  }

  /** Size of a stored blob, for consistency checks in tests. */
  async blobSize(id: string): Promise<number | null> {
    try {
      return (await stat(this.#blobPath(id))).size;
    } catch {
      return null;
    }
  }
}
