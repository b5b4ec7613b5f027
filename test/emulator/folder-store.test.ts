import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { raw, rawUpload, startEmulator, tempDir } from '../helpers/emulator.js';

let dir: { path: string; remove(): Promise<void> };
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await dir.remove();
});

describe('folder store', () => {
  test('files, contents and deletes survive a restart, and new files stay newest', async () => {
    const first = await startEmulator({ dataDir: dir.path });
    const a = await rawUpload(first.url, { filename: 'a.txt', body: 'alpha' }, { expiresInSeconds: 3600 });
    const b = await rawUpload(first.url, { filename: 'b.txt', body: 'bravo' });
    const gen = await first.addFile({ filename: 'gen.bin', bytes: Buffer.from([1, 2, 3]), downloadable: true });
    await raw(first.url, `/v1/files/${b.json.id}`, { method: 'DELETE' });
    const before = first.files();
    await first.close();
    await first.close(); // idempotent

    const second = await startEmulator({ dataDir: dir.path });
    try {
      expect(second.storageKind).toBe('folder');
      expect(second.files()).toEqual(before);
      expect(before.map((f) => f.id)).toEqual([gen.id, a.json.id]);
      expect((await second.content(a.json.id))?.toString()).toBe('alpha');
      expect((await raw(second.url, `/v1/files/${gen.id}/content`)).text).toBe('\u0001\u0002\u0003');
      const c = await rawUpload(second.url, { filename: 'c.txt', body: 'charlie' });
      expect(second.files()[0]?.id).toBe(c.json.id);
      expect(c.json.created_at > gen.created_at).toBe(true);
      expect(await readdir(join(dir.path, 'blobs'))).toHaveLength(3);
    } finally {
      await second.close();
    }
  });

  test('a record torn by a crash and stray blobs are dropped on load', async () => {
    const first = await startEmulator({ dataDir: dir.path });
    const kept = await rawUpload(first.url, { filename: 'kept.txt', body: 'k' });
    await first.close();
    await appendFile(join(dir.path, 'files.jsonl'), '{"op":"put","file":{"id":"file_torn');
    await writeFile(join(dir.path, 'blobs', '.tmp-file_x-abc'), 'partial upload');
    await writeFile(join(dir.path, 'blobs', 'file_orphan'), 'no metadata');

    const second = await startEmulator({ dataDir: dir.path });
    try {
      expect(second.files().map((f) => f.id)).toEqual([kept.json.id]);
      expect(await readdir(join(dir.path, 'blobs'))).toEqual([kept.json.id]);
      const journal = await readFile(join(dir.path, 'files.jsonl'), 'utf8');
      expect(journal.trim().split('\n')).toHaveLength(1);
    } finally {
      await second.close();
    }
  });

  test('a refused upload leaves no blob behind', async () => {
    const emu = await startEmulator({ dataDir: dir.path, maxFileBytes: 10 });
    try {
      expect((await rawUpload(emu.url, { filename: 'big.txt', body: 'x'.repeat(100) })).status).toBe(413);
      expect((await rawUpload(emu.url, { filename: 'ok.txt', body: 'x' }, { expiresInSeconds: 5 })).status).toBe(400);
      expect(await readdir(join(dir.path, 'blobs'))).toEqual([]);
    } finally {
      await emu.close();
    }
  });
});

describe('interrupted uploads', () => {
  test('a client that goes away mid-upload leaves no file and no partial blob', async () => {
    const emu = await startEmulator({ dataDir: dir.path });
    try {
      const controller = new AbortController();
      let sentEnough: () => void = () => undefined;
      const midway = new Promise<void>((resolve) => {
        sentEnough = resolve;
      });
      async function* body(): AsyncGenerator<Uint8Array> {
        yield Buffer.from(
          '--b\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\nContent-Type: application/octet-stream\r\n\r\n',
        );
        for (let i = 0; i < 8; i++) yield Buffer.alloc(64 * 1024, 7);
        sentEnough();
        await new Promise((r) => setTimeout(r, 60_000)); // never finishes on its own
      }
      const pending = raw(emu.url, '/v1/files', {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=b' },
        body: body(),
        signal: controller.signal,
      }).catch((err: unknown) => err);
      await midway;
      // Wait until the emulator has seen the bytes, then vanish.
      for (let i = 0; i < 200 && emu.stats().bytesReceived < 8 * 64 * 1024; i++)
        await new Promise((r) => setTimeout(r, 10));
      controller.abort();
      expect(await pending).toBeInstanceOf(Error);
      for (let i = 0; i < 200 && (await readdir(join(dir.path, 'blobs'))).length > 0; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(await readdir(join(dir.path, 'blobs'))).toEqual([]);
      expect(emu.files()).toEqual([]);
    } finally {
      await emu.close();
    }
  });
});
