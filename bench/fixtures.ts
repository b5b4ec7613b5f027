/**
 * Generated inputs. Trees are made once in the cache (under os.tmpdir()) and reused by later
 * runs; a marker file beside the tree says it is complete. Big files are made in the run's work
 * folder and removed by the case that made them.
 */
import { seededRandom } from '../src/emulator/index.js';
import { closeSync, createWriteStream, mkdirSync, openSync } from 'node:fs';
import { access, mkdir, rm, statfs, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { MB } from './common.js';

/** A small deterministic PRNG (mulberry32, the emulator's), so every machine gets the same tree. */
export const prng: (seed: number) => () => number = seededRandom;

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

async function cached(dir: string, make: (dir: string) => Promise<void>): Promise<string> {
  const marker = `${dir}.complete`;
  if (await exists(marker)) return dir;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await make(dir);
  await writeFile(marker, new Date().toISOString());
  return dir;
}

/** Writes many small files with bounded parallelism. */
async function writeAll(items: Iterable<[string, Buffer]>, parallel = 64): Promise<void> {
  const it = items[Symbol.iterator]();
  const worker = async () => {
    for (let next = it.next(); !next.done; next = it.next()) await writeFile(next.value[0], next.value[1]);
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

/**
 * `count` files of 1–64 KB (sizes and bytes from a seeded PRNG) in folders of 100:
 * d00/f0000.bin ... The content is random, as real files would not compress or dedupe.
 */
export async function smallFilesTree(cacheDir: string, count: number): Promise<string> {
  return cached(path.join(cacheDir, `small-${count}`), async (dir) => {
    const rand = prng(count);
    const folders = Math.ceil(count / 100);
    for (let d = 0; d < folders; d++) await mkdir(path.join(dir, `d${String(d).padStart(2, '0')}`));
    function* files(): Generator<[string, Buffer]> {
      for (let i = 0; i < count; i++) {
        const size = 1024 + Math.floor(rand() * 63 * 1024);
        const buf = Buffer.allocUnsafe(size);
        for (let o = 0; o < size; o += 4) buf.writeUInt32LE(Math.floor(rand() * 2 ** 32), Math.min(o, size - 4));
        yield [
          path.join(dir, `d${String(Math.floor(i / 100)).padStart(2, '0')}`, `f${String(i).padStart(5, '0')}.bin`),
          buf,
        ];
      }
    }
    await writeAll(files());
  });
}

/** `count` tiny files (a dozen bytes each) spread evenly over `folders` folders. */
export async function tinyTree(cacheDir: string, count: number, folders: number): Promise<string> {
  return cached(path.join(cacheDir, `tiny-${count}-in-${folders}`), async (dir) => {
    const perFolder = Math.ceil(count / folders);
    const width = String(folders - 1).length;
    for (let d = 0; d < folders; d++) await mkdir(path.join(dir, `d${String(d).padStart(width, '0')}`));
    function* files(): Generator<[string, Buffer]> {
      for (let i = 0; i < count; i++) {
        const d = String(Math.floor(i / perFolder)).padStart(width, '0');
        yield [path.join(dir, `d${d}`, `f${String(i).padStart(6, '0')}.txt`), Buffer.from(`file ${i}\n`)];
      }
    }
    await writeAll(files());
  });
}

/**
 * `count` empty files spread evenly over `folders` folders (d000/e0000000.txt ...), written with
 * synchronous calls (a million files: no thread-pool round trip per file). Returns the tree and
 * how long it took to make (0 when it came from the cache).
 */
export async function emptyTree(
  cacheDir: string,
  count: number,
  folders: number,
): Promise<{ dir: string; madeMs: number }> {
  const t0 = Date.now();
  let made = false;
  const dir = await cached(path.join(cacheDir, `empty-${count}-in-${folders}`), async (root) => {
    made = true;
    const perFolder = Math.ceil(count / folders);
    const width = String(folders - 1).length;
    for (let d = 0, i = 0; d < folders && i < count; d++) {
      const folder = path.join(root, `d${String(d).padStart(width, '0')}`);
      mkdirSync(folder);
      for (let k = 0; k < perFolder && i < count; k++, i++)
        closeSync(openSync(path.join(folder, `e${String(i).padStart(7, '0')}.txt`), 'w'));
      // Let the runner's timers and IPC breathe between folders.
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
  return { dir, madeMs: made ? Date.now() - t0 : 0 };
}

export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/**
 * A file of `bytes` pseudo-random bytes (a 1 MiB random block, varied per MiB so no two blocks
 * are equal). Refuses when the disk would keep less than `reserveBytes` free.
 */
export async function bigFile(file: string, bytes: number, reserveBytes = 2 * 1024 * MB): Promise<string> {
  const free = await freeBytes(path.dirname(file));
  if (free - bytes < reserveBytes) {
    throw new Error(
      `not enough free disk in ${path.dirname(file)}: ${Math.round(free / MB)} MB free, need ${Math.round((bytes + reserveBytes) / MB)} MB`,
    );
  }
  const rand = prng(bytes % 2 ** 31);
  const block = Buffer.allocUnsafe(MB);
  for (let o = 0; o < MB; o += 4) block.writeUInt32LE(Math.floor(rand() * 2 ** 32), o);
  const out = createWriteStream(file);
  for (let written = 0, n = 0; written < bytes; n++) {
    const len = Math.min(MB, bytes - written);
    const chunk = Buffer.from(block.subarray(0, len));
    chunk.writeUInt32LE(n, 0);
    if (!out.write(chunk)) await once(out, 'drain');
    written += len;
  }
  out.end();
  await once(out, 'finish');
  return file;
}
