/**
 * The executor reads a small file whole, in one synchronous call, where the filesystem is fast
 * (src/scan/fs-speed.ts), and uploads those bytes. It must refuse what the client's own reads
 * refuse: another inode than the one scanned, and a final symlink (which could point outside).
 */
import { createHash } from 'node:crypto';
import {
  lstatSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FilesApi, UploadOptions, UploadResult, UploadSource } from '../../src/api/index.js';
import { FsSpeed, SMALL_READ_BYTES } from '../../src/scan/fs-speed.js';
import { uploadPath, type ExecutorDeps } from '../../src/jobs/executor.js';
import { executorDeps } from '../helpers/executor-deps.js';

const sha = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

/** A client that records what each upload was given, and answers as the API would. */
function recordingClient(): { client: FilesApi; sent: UploadSource[] } {
  const sent: UploadSource[] = [];
  let n = 0;
  const upload = async (source: UploadSource, options: UploadOptions): Promise<UploadResult> => {
    sent.push(source);
    const bytes = 'bytes' in source ? Buffer.from(source.bytes) : null;
    if (!bytes) throw new Error('this test expects bytes');
    n++;
    const file = {
      id: `file_${n}`,
      type: 'file',
      filename: options.filename,
      mime_type: options.mimeType ?? 'x/y',
      size_bytes: bytes.length,
      created_at: new Date().toISOString(),
      downloadable: false,
    };
    return { file, sha256: sha(bytes), bytesSent: bytes.length, recovered: false } as UploadResult;
  };
  return { client: { shape: 'ga', baseURL: 'http://127.0.0.1:9', upload } as unknown as FilesApi, sent };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(): { root: string; deps: ExecutorDeps; sent: UploadSource[]; observe(rel: string): void } {
  const root = mkdtempSync(path.join(tmpdir(), 'cfs-small-'));
  dirs.push(root);
  const { client, sent } = recordingClient();
  const deps: ExecutorDeps = executorDeps(client, { root, fsSpeed: new FsSpeed() });
  const observe = (rel: string): void => {
    const abs = path.join(root, rel);
    const st = lstatSync(abs);
    deps.index.observe({
      path: rel,
      size: st.size,
      mtimeMs: st.mtimeMs,
      ino: st.ino,
      ctimeMs: st.ctimeMs,
      sha256: sha(readFileSync(abs)),
    });
  };
  return { root, deps, sent, observe };
}

describe('executor: a small file uploaded from memory', () => {
  it('sends the bytes of the file that was scanned, and a text file is typed from those bytes', async () => {
    const { root, deps, sent, observe } = setup();
    writeFileSync(path.join(root, 'notes.md'), '# héllo\n');
    observe('notes.md');
    const outcome = await uploadPath(deps, 'notes.md');
    expect(outcome.kind).toBe('uploaded');
    expect(sent).toHaveLength(1);
    expect(Buffer.from((sent[0] as { bytes: Uint8Array }).bytes).toString()).toBe('# héllo\n');
    expect(deps.index.get('notes.md')).toMatchObject({ state: 'synced', mimeType: 'text/plain; charset=utf-8' });
  });

  it('refuses a file replaced by another inode since its scan: nothing is sent, no intent is left', async () => {
    const { root, deps, sent, observe } = setup();
    writeFileSync(path.join(root, 'a.txt'), 'scanned');
    observe('a.txt');
    writeFileSync(path.join(root, 'a.tmp'), 'scanned');
    renameSync(path.join(root, 'a.tmp'), path.join(root, 'a.txt'));
    const outcome = await uploadPath(deps, 'a.txt');
    expect(outcome).toMatchObject({ kind: 'failed', intentKept: false });
    expect(sent).toHaveLength(0);
    expect(deps.index.intents()).toEqual([]);
  });

  it('never reads through a final symlink swapped in since the scan', async () => {
    const { root, deps, sent, observe } = setup();
    const outside = mkdtempSync(path.join(tmpdir(), 'cfs-outside-'));
    dirs.push(outside);
    writeFileSync(path.join(outside, 'secret.txt'), 'SECRET');
    writeFileSync(path.join(root, 'a.txt'), 'scanned');
    observe('a.txt');
    unlinkSync(path.join(root, 'a.txt'));
    symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'a.txt'));
    const outcome = await uploadPath(deps, 'a.txt');
    expect(outcome.kind).toBe('failed');
    expect(sent).toHaveLength(0);
  });

  it('a file that grew past the small size since its scan goes to the client as a path', async () => {
    const { root, deps, sent, observe } = setup();
    writeFileSync(path.join(root, 'a.bin'), 'small');
    observe('a.bin');
    writeFileSync(path.join(root, 'a.bin'), Buffer.alloc(SMALL_READ_BYTES + 10, 1));
    await uploadPath(deps, 'a.bin').catch(() => undefined);
    expect(sent).toHaveLength(1);
    expect('path' in (sent[0] as object)).toBe(true);
  });

  it('a file moved or removed after its upload was queued is not a failure: nothing is sent, nothing is marked failed', async () => {
    const { root, deps, sent, observe } = setup();
    for (const name of ['small.txt', 'large.bin']) {
      writeFileSync(path.join(root, name), name === 'small.txt' ? 'x' : Buffer.alloc(SMALL_READ_BYTES + 10, 1));
      observe(name);
      unlinkSync(path.join(root, name));
      expect(await uploadPath(deps, name)).toEqual({ kind: 'nothing' });
      expect(deps.index.get(name)?.state).toBe('pending');
    }
    expect(sent).toHaveLength(0);
    expect(deps.index.intents()).toEqual([]);
  });
});
