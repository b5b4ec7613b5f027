import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runMain } from '../../src/cli/run-main.js';
import { TEXT_PLAIN_UTF8 } from '../../src/plan/mime-policy.js';
import { Emulator } from '../../src/emulator/index.js';
import { captureContext } from '../helpers/cli-context.js';
import {
  checkInvariants,
  createHarness,
  TEST_KEY,
  waitUntil,
  type Harness,
  events,
} from '../helpers/engine-harness.js';
import { put } from '../helpers/fs.js';
import { sleep } from '../helpers/time.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

// A 1x1 PNG and the smallest PDF header: the policy goes by extension, the bytes only need to exist.
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
const PDF = Buffer.from('%PDF-1.4\n%%EOF\n');

async function cli(x: Harness, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = captureContext({ home: path.dirname(x.dir) });
  const code = await runMain([...args, '--dir', x.dir, '--state-dir', x.stateDir], c.ctx);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

describe('files that work in a Messages request', () => {
  it('uploads each kind with the type of its use, and id --block, ls --json and export say the block', async () => {
    h = await createHarness({ watch: false });
    await put(h, 'notes/plan.md', '# plan\n');
    await put(h, 'data.csv', 'a,b\n1,2\n');
    await put(h, 'src/main.py', 'print("hi")\n');
    await put(h, 'config.json', '{"a":1}\n');
    await put(h, 'report.pdf', PDF);
    await put(h, 'logo.png', PNG);
    await put(h, 'blob.bin', Buffer.from([0, 1, 2, 255]));
    await put(h, 'latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a])); // "café" in Latin-1
    await h.engine.start();
    await h.engine.onIdle();

    const remoteType = (rel: string) => h!.emulator.files().find((f) => f.id === h!.index.get(rel)?.fileId)?.mime_type;
    const expected: Record<string, [string, string]> = {
      'notes/plan.md': [TEXT_PLAIN_UTF8, 'document'],
      'data.csv': [TEXT_PLAIN_UTF8, 'document'],
      'src/main.py': [TEXT_PLAIN_UTF8, 'document'],
      'config.json': [TEXT_PLAIN_UTF8, 'document'],
      'report.pdf': ['application/pdf', 'document'],
      'logo.png': ['image/png', 'image'],
      'blob.bin': ['application/octet-stream', 'container_upload'],
      'latin1.txt': ['text/plain', 'document'],
    };
    // latin1.txt: not UTF-8, so it keeps its registered type (text/plain without the charset claim).
    for (const [rel, [type, block]] of Object.entries(expected)) {
      expect(remoteType(rel), rel).toBe(type);
      const entry = h.engine.files().find((e) => e.path === rel);
      expect(entry?.mimeType, rel).toBe(type);
      expect(entry?.block, rel).toBe(block);
    }
    expect(h.index.get('latin1.txt')?.mimeNote).toMatch(/not valid UTF-8/);
    expect(h.engine.status().notDocuments).toEqual([
      { path: 'latin1.txt', reason: expect.stringMatching(/not valid UTF-8/) as unknown as string },
    ]);
    const rows = new Map(h.index.all().map((r) => [r.path, r]));
    const idOf = (rel: string) => rows.get(rel)?.fileId;
    await h.stopEngine();

    // The CLI, answering from the index (no daemon runs).
    const md = await cli(h, ['id', '--block', 'notes/plan.md']);
    expect(md.code).toBe(0);
    expect(JSON.parse(md.stdout)).toEqual({
      type: 'document',
      source: { type: 'file', file_id: idOf('notes/plan.md') },
      title: 'notes/plan.md',
    });
    expect(JSON.parse((await cli(h, ['id', '--block', 'logo.png'])).stdout)).toEqual({
      type: 'image',
      source: { type: 'file', file_id: idOf('logo.png') },
    });
    expect(JSON.parse((await cli(h, ['id', '--block', 'blob.bin'])).stdout)).toEqual({
      type: 'container_upload',
      file_id: idOf('blob.bin'),
    });
    expect((await cli(h, ['id', '--block', 'nope.md'])).code).toBe(1);

    const ls = JSON.parse((await cli(h, ['ls', '--json'])).stdout) as {
      path: string;
      mimeType: string;
      block: string;
    }[];
    expect(ls.find((e) => e.path === 'data.csv')).toMatchObject({ mimeType: TEXT_PLAIN_UTF8, block: 'document' });
    const status = await cli(h, ['status']);
    expect(status.stdout).toMatch(/not usable as documents \(1\):\n\s+latin1\.txt: not valid UTF-8/);

    const manifest = JSON.parse((await cli(h, ['export', '--format', 'json'])).stdout) as {
      files: { path: string; fileId: string; sizeBytes: number; sha256: string; mimeType: string; block: string }[];
    };
    expect(manifest.files).toHaveLength(8);
    expect(manifest.files.find((f) => f.path === 'report.pdf')).toEqual({
      path: 'report.pdf',
      fileId: idOf('report.pdf'),
      sizeBytes: PDF.length,
      sha256: rows.get('report.pdf')?.sha256,
      mimeType: 'application/pdf',
      block: 'document',
    });
    const resources = JSON.parse((await cli(h, ['export', '--format', 'resources'])).stdout) as {
      type: string;
      file_id: string;
      mount_path: string;
    }[];
    expect(resources).toHaveLength(8);
    expect(new Set(resources.map((r) => r.file_id)).size).toBe(8);
    expect(resources).toContainEqual({
      type: 'file',
      file_id: idOf('src/main.py'),
      mount_path: '/mnt/session/uploads/src/main.py',
    });

    // More files than a session mounts: refused with the way out, or split.
    const tooMany = await cli(h, ['export', '--format', 'resources', '--split', '3']);
    expect(tooMany.code).toBe(0);
    expect((JSON.parse(tooMany.stdout) as unknown[][]).map((p) => p.length)).toEqual([3, 3, 2]);
    const part = await cli(h, ['export', '--format', 'resources', '--split', '3', '--part', '3']);
    expect((JSON.parse(part.stdout) as unknown[]).length).toBe(2);
    const past = await cli(h, ['export', '--format', 'resources', '--split', '3', '--part', '4']);
    expect(past.code).toBe(2);
    expect(past.stderr).toMatch(/past the end/);
  });

  it('a per-extension override from the configuration decides the type and the block', async () => {
    h = await createHarness({ watch: false, config: { sync: { mimeTypes: { '.md': 'text/markdown' } } } });
    await put(h, 'a.md', '# a\n');
    await h.engine.start();
    await h.engine.onIdle();
    expect(h.engine.files()[0]).toMatchObject({ mimeType: 'text/markdown', block: 'container_upload' });
  });
});

describe("the API's real limits", () => {
  it('a key refused mid-run: requests stop, status says how to fix it, and after the key is back everything syncs', async () => {
    h = await createHarness({ watch: true, settleMs: 100 });
    await put(h, 'before.txt', 'synced before');
    await h.engine.start();
    await h.engine.onIdle();
    h.emulator.key.revoke();
    for (let i = 0; i < 6; i += 1) await put(h, `during${i}.md`, `during ${i}`);
    await waitUntil(() => h!.engine.status().apiProblem !== null, 20_000, 'the key problem in status');
    const problem = h.engine.status().apiProblem!;
    expect(problem.kind).toBe('key-refused');
    expect(problem.hint).toMatch(/ANTHROPIC_API_KEY.*SIGHUP/);
    expect(problem.retryAt).not.toBeNull();
    expect(events(h, 'key-refused')).toHaveLength(1);
    // The uploads sent before the refusal came back are answered; then nothing more may go out.
    await waitUntil(() => h!.engine.status().queue.inFlight === 0, 20_000, 'the uploads in flight answered');
    const refused = h.emulator.stats().byStatus[401] ?? 0;
    await sleep(6000); // past the failed-file recheck tick: no retry while the key is refused
    expect(h.emulator.stats().byStatus[401] ?? 0).toBe(refused);
    expect(refused).toBeLessThanOrEqual(4);
    // A reconcile while still refused keeps waiting (as SIGHUP would).
    await expect(h.engine.reconcile()).rejects.toThrow(/x-api-key|authentication/i);
    expect(h.engine.status().apiProblem?.kind).toBe('key-refused');
    // The key is back; SIGHUP / reconcile (or the 5-minute retry) resumes: nothing was lost.
    h.emulator.key.restore();
    await h.engine.reconcile();
    await h.engine.onIdle();
    expect(h.engine.status().apiProblem).toBeNull();
    for (let i = 0; i < 6; i += 1) expect(h.engine.fileIdOf(`during${i}.md`)).not.toBeNull();
    expect(h.emulator.files()).toHaveLength(7);
    expect(await checkInvariants(h)).toEqual([]);
  }, 60_000);

  it('storage full: uploads refused with a clear status, nothing synced deleted, synced once space is back', async () => {
    const emulator = await Emulator.start({ apiKey: TEST_KEY, storageLimitBytes: 1000 });
    h = await createHarness({ watch: true, settleMs: 100, emulator });
    await put(h, 'a.txt', Buffer.alloc(600, 97));
    await h.engine.start();
    await h.engine.onIdle();
    await put(h, 'big.txt', Buffer.alloc(600, 98));
    await waitUntil(() => h!.engine.status().apiProblem !== null, 20_000, 'the storage problem in status');
    expect(h.engine.status().apiProblem).toMatchObject({
      kind: 'storage-full',
      hint: expect.stringMatching(/never deletes synced files/) as unknown as string,
    });
    expect(h.index.get('big.txt')?.state).toBe('failed');
    expect(h.engine.fileIdOf('a.txt')).not.toBeNull();
    expect(h.emulator.files()).toHaveLength(1);
    emulator.setStorageLimitBytes(10_000);
    // Retried later by itself (the failed-file recheck), no reconcile needed.
    await waitUntil(() => h!.engine.fileIdOf('big.txt') !== null, 30_000, 'big.txt synced once space is back');
    expect(h.engine.status().apiProblem).toBeNull();
    expect(await checkInvariants(h)).toEqual([]);
    await emulator.close();
  }, 60_000);

  it('expired copies are never counted as valid: the files are uploaded again', async () => {
    h = await createHarness({ watch: false });
    await put(h, 'a.md', 'a');
    await put(h, 'b.md', 'b');
    await h.engine.start();
    await h.engine.onIdle();
    const before = h.index.get('a.md')?.fileId;
    for (const f of h.emulator.files()) await h.emulator.expireFile(f.id);
    // Still listed, with expires_at in the past.
    expect(h.emulator.files().every((f) => Date.parse(f.expires_at ?? '') <= Date.now())).toBe(true);
    const report = await h.engine.reconcile();
    await h.engine.onIdle();
    expect(report.uploaded.sort()).toEqual(['a.md', 'b.md']);
    expect(h.index.get('a.md')?.fileId).not.toBe(before);
    expect(h.engine.fileIdOf('a.md')).not.toBeNull();
    expect(h.emulator.files().filter((f) => f.expires_at === null)).toHaveLength(2);
  });
});

describe('copies uploaded with a type that does not fit their use', () => {
  it('a Markdown note synced by an older version (text/markdown, no type recorded) is uploaded again as a document, the old copy deleted', async () => {
    h = await createHarness({ watch: false });
    await put(h, 'old.md', '# old\n');
    await put(h, 'pic.png', PNG);
    await h.engine.start();
    await h.engine.onIdle();
    // What an index from before schema 3 holds: the copy's type unknown; and the copy itself was
    // sent with the registered type. Simulate it: upload such a copy and point the row at it.
    const row = h.index.get('old.md')!;
    const legacy = await h.emulator.addFile({
      filename: row.remoteName!,
      bytes: Buffer.from('# old\n'),
      mimeType: 'text/markdown',
    });
    // The copy it replaces is queued for deletion; the reconcile below deletes it.
    h.index.adopt('old.md', {
      fileId: legacy.id,
      remoteName: legacy.filename,
      size: row.size,
      sha256: row.sha256!,
      createdAt: Date.now(),
      expiresAt: null,
      mimeType: null,
    });
    expect(h.engine.files().find((e) => e.path === 'old.md')?.block).toBe('container_upload');
    const pngId = h.engine.fileIdOf('pic.png');
    await h.engine.reconcile();
    await h.engine.onIdle();
    const entry = h.engine.files().find((e) => e.path === 'old.md')!;
    expect(entry).toMatchObject({ mimeType: TEXT_PLAIN_UTF8, block: 'document' });
    expect(entry.fileId).not.toBe(legacy.id);
    expect(h.emulator.files().some((f) => f.id === legacy.id)).toBe(false);
    // A copy whose type fits is left alone.
    expect(h.engine.fileIdOf('pic.png')).toBe(pngId);
    // And it settles: the next reconcile uploads nothing.
    const uploads = h.emulator.stats().byRoute.upload;
    await h.engine.reconcile();
    await h.engine.onIdle();
    expect(h.emulator.stats().byRoute.upload).toBe(uploads);
    expect(await checkInvariants(h)).toEqual([]);
  });
});
