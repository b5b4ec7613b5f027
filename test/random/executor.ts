/**
 * Applies the folder operations of a generated sequence to a real folder. An operation that no
 * longer applies (its file is gone, a file sits where a folder should be: common after shrinking)
 * is a no-op, reported as such, never an error.
 */
import { execFile } from 'node:child_process';
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  open,
  readdir,
  rename,
  rm,
  stat,
  truncate,
  utimes,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { contentFor, type Op } from './generator.js';
import { sleep } from '../helpers/time.js';

export type FsOp = Exclude<
  Op,
  { op: 'wait' | 'faults' | 'clearFaults' | 'restart' | 'crash' | 'loseState' | 'switchTarget' }
>;

const DAEMON_OPS = ['wait', 'faults', 'clearFaults', 'restart', 'crash', 'loseState', 'switchTarget'];
const run = promisify(execFile);

/** The files under `rel` (a folder) of `dir`, recursively; 0 when it is not a folder. */
export async function countFiles(dir: string, rel: string): Promise<number> {
  const entries = await readdir(path.join(dir, ...rel.split('/')), { withFileTypes: true, recursive: true }).catch(
    () => [],
  );
  return entries.filter((e) => e.isFile()).length;
}

/** Every folder under dir readable again (the end of a run: a folder left locked by a shrunk sequence). */
export async function unlockAll(dir: string): Promise<void> {
  await chmod(dir, 0o755).catch(() => undefined);
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isDirectory()) await unlockAll(path.join(dir, e.name));
  }
}

/** Longer than the randomized runs' settle time (150 ms), so the daemon indexes the first stat. */
const SAME_STAT_SETTLE_MS = 600;

const TOLERATED = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EEXIST', 'ENOTEMPTY', 'EINVAL', 'ENAMETOOLONG']);

export function isFsOp(op: Op): op is FsOp {
  return !DAEMON_OPS.includes(op.op);
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
      case 'sameStat': {
        // As `cp -p` or `touch -r` leave it: new bytes, the same size, mtime and inode (only ctime
        // moves). touch -r copies the times to the nanosecond, which utimes from JS cannot.
        const file = abs(op.path);
        const before = await stat(file);
        if (!before.isFile()) return 'noop';
        const tmp = await mkdtemp(path.join(os.tmpdir(), 'cfs-random-ref-'));
        try {
          const ref = path.join(tmp, 'ref');
          await writeFile(ref, '');
          await run('touch', ['-r', file, ref]);
          const fh = await open(file, 'r+');
          try {
            const bytes = contentFor({ size: before.size, fill: op.fill });
            await fh.write(bytes, 0, bytes.length, 0);
          } finally {
            await fh.close();
          }
          await run('touch', ['-r', ref, file]);
        } finally {
          await rm(tmp, { recursive: true, force: true });
        }
        break;
      }
      case 'lockDir':
        if (!(await stat(abs(op.dir))).isDirectory()) return 'noop';
        await chmod(abs(op.dir), 0o000);
        break;
      case 'unlockDir':
        if (!(await stat(abs(op.dir))).isDirectory()) return 'noop';
        await chmod(abs(op.dir), 0o755);
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
