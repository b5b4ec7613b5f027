/**
 * Applies the folder operations of a generated sequence to a real folder. An operation that no
 * longer applies (its file is gone, a file sits where a folder should be: common after shrinking)
 * is a no-op, reported as such, never an error.
 */
import { copyFile, mkdir, open, rename, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { contentFor, type Op } from './generator.js';

export type FsOp = Exclude<Op, { op: 'wait' | 'faults' | 'clearFaults' | 'restart' | 'crash' }>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** Longer than the randomized runs' settle time (150 ms), so the daemon indexes the first stat. */
const SAME_STAT_SETTLE_MS = 600;

const TOLERATED = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EEXIST', 'ENOTEMPTY', 'EINVAL', 'ENAMETOOLONG']);

export function isFsOp(op: Op): op is FsOp {
  return !['wait', 'faults', 'clearFaults', 'restart', 'crash'].includes(op.op);
}

/** Applies one folder operation; 'noop' when it no longer applies. */
export async function applyFsOp(dir: string, op: FsOp): Promise<'done' | 'noop'> {
  const abs = (rel: string) => path.join(dir, ...rel.split('/'));
  const parent = (rel: string) => mkdir(path.dirname(abs(rel)), { recursive: true });
  try {
    switch (op.op) {
      case 'write':
        await parent(op.path);
        await writeFile(abs(op.path), contentFor(op.content));
        break;
      case 'append': {
        // Append only to a file that exists ('a' would create it).
        const fh = await open(abs(op.path), 'r+');
        try {
          const bytes = contentFor(op.content);
          await fh.write(bytes, 0, bytes.length, (await fh.stat()).size);
        } finally {
          await fh.close();
        }
        break;
      }
      case 'truncate':
        await truncate(abs(op.path), 0);
        break;
      case 'delete':
        await rm(abs(op.path));
        break;
      case 'rename':
        await parent(op.to);
        await rename(abs(op.from), abs(op.to));
        break;
      case 'copy':
        await parent(op.to);
        await copyFile(abs(op.from), abs(op.to));
        break;
      case 'touch': {
        const later = new Date(Date.now() + 2_000);
        await utimes(abs(op.path), later, later);
        break;
      }
      case 'burst':
        await parent(op.path);
        for (const c of op.writes) {
          await writeFile(abs(op.path), contentFor(c));
          if (op.gapMs) await sleep(op.gapMs);
        }
        break;
      case 'slowWrite': {
        await parent(op.path);
        const bytes = contentFor(op.content);
        const fh = await open(abs(op.path), 'w');
        try {
          const step = Math.ceil(bytes.length / op.chunks);
          for (let off = 0; off < bytes.length; off += step) {
            await fh.write(bytes, off, Math.min(step, bytes.length - off));
            await sleep(op.gapMs);
          }
        } finally {
          await fh.close();
        }
        break;
      }
      case 'editorSave':
        await parent(op.path);
        await writeFile(abs(op.temp), contentFor(op.content));
        await rename(abs(op.temp), abs(op.path));
        break;
      case 'mkdirTree':
        for (const f of op.files) {
          const rel = `${op.dir}/${f.name}`;
          await parent(rel);
          await writeFile(abs(rel), contentFor(f.content));
        }
        break;
      case 'rmTree':
        await rm(abs(op.dir), { recursive: true });
        break;
      case 'renameDir':
        await parent(op.to);
        await rename(abs(op.from), abs(op.to));
        break;
      case 'quickMove':
        await parent(op.path);
        await writeFile(abs(op.path), contentFor(op.content));
        await sleep(op.delayMs);
        await parent(op.to);
        await rename(abs(op.path), abs(op.to));
        break;
      case 'sameStatEdit': {
        const st = await stat(abs(op.path));
        if (!st.isFile()) return 'noop';
        // A whole second is set exactly (a fraction may not round-trip); let the daemon see it.
        const whole = Math.floor(st.mtimeMs / 1000);
        await utimes(abs(op.path), whole, whole);
        await sleep(SAME_STAT_SETTLE_MS);
        // Open without O_TRUNC: the size never passes through 0, as with `cp -p` over a file.
        const fh = await open(abs(op.path), 'r+');
        try {
          await fh.write(contentFor({ size: st.size, fill: op.fill }), 0, st.size, 0);
        } finally {
          await fh.close();
        }
        await utimes(abs(op.path), whole, whole);
        break;
      }
    }
    return 'done';
  } catch (err) {
    if (TOLERATED.has((err as NodeJS.ErrnoException).code ?? '')) return 'noop';
    throw err;
  }
}
