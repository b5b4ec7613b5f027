import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startManifestWriter, type ManifestWriter } from '../../src/daemon/manifest-writer.js';
import { IndexStore } from '../../src/store/store.js';
import { toEntry } from '../../src/engine/report.js';

const sha = (c: string) => c.repeat(64);
let writer: ManifestWriter | null = null;
let index: IndexStore | null = null;
afterEach(async () => {
  await writer?.close();
  index?.close();
  writer = null;
  index = null;
});

async function waitFor<T>(fn: () => Promise<T | null>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v !== null) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function synced(store: IndexStore, p: string, id: string, mimeType: string): void {
  store.observe({ path: p, size: 1, mtimeMs: 1, ino: 1, sha256: sha('a') });
  store.adopt(p, { fileId: id, remoteName: p, size: 1, sha256: sha('a'), createdAt: 1, expiresAt: null, mimeType });
}

describe('the manifest file the daemon keeps', () => {
  it('is written once changes settle, replaced atomically with every change, with no temp file left', async () => {
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'cfs-manifest-'));
    index = IndexStore.open(path.join(stateDir, 'index.sqlite'));
    const store = index;
    synced(store, 'a.md', 'file_a', 'text/plain; charset=utf-8');
    writer = startManifestWriter({
      stateDir,
      dir: '/folder',
      index: store,
      files: () => store.all().map((r) => toEntry(r)),
      logger: pino({ level: 'silent' }),
      tickMs: 20,
    });
    const file = path.join(stateDir, 'manifest.json');
    type M = { version: number; dir: string; files: { path: string; fileId: string; block: string }[] };
    const first = await waitFor(async () => JSON.parse(await readFile(file, 'utf8')) as M);
    expect(first).toMatchObject({
      version: 1,
      dir: '/folder',
      files: [{ path: 'a.md', fileId: 'file_a', block: 'document' }],
    });
    synced(store, 'b.png', 'file_b', 'image/png');
    const second = await waitFor(async () => {
      const m = JSON.parse(await readFile(file, 'utf8')) as M;
      return m.files.length === 2 ? m : null;
    });
    expect(second.files[1]).toMatchObject({ path: 'b.png', fileId: 'file_b', block: 'image' });
    expect((await readdir(stateDir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
