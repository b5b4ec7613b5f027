import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { blockTypeOf, chooseMimeType, isTextLike, TEXT_PLAIN_UTF8, typeIsStale } from '../../src/plan/mime-policy.js';
import { manifestOf, sessionResourcesOf, splitResources } from '../../src/engine/manifest.js';
import { contentBlockFor } from '../../src/engine/report.js';
import { isUtf8File } from '../../src/jobs/is-utf8-file.js';

describe('the MIME policy by use', () => {
  it('sends text-like files as text/plain; charset=utf-8 so that they work as document blocks', () => {
    for (const p of [
      'notes/a.md',
      'data.csv',
      'data.tsv',
      'x.json',
      'c.yaml',
      'c.yml',
      'page.html',
      'feed.xml',
      'app.log',
      'src/main.py',
      'src/a.ts',
      'lib.rs',
      'README',
      'Makefile',
      'UPPER.MD',
    ]) {
      expect(chooseMimeType(p), p).toEqual({ mimeType: TEXT_PLAIN_UTF8, block: 'document', note: null });
    }
  });

  it('sends PDF as application/pdf (document) and the four image types as images', () => {
    expect(chooseMimeType('r/q3.pdf')).toEqual({ mimeType: 'application/pdf', block: 'document', note: null });
    expect(chooseMimeType('a.jpg').mimeType).toBe('image/jpeg');
    expect(chooseMimeType('a.jpeg').block).toBe('image');
    expect(chooseMimeType('a.png')).toEqual({ mimeType: 'image/png', block: 'image', note: null });
    expect(chooseMimeType('a.gif').block).toBe('image');
    expect(chooseMimeType('a.webp')).toEqual({ mimeType: 'image/webp', block: 'image', note: null });
  });

  it('sends anything else with its registered type, for container_upload', () => {
    expect(chooseMimeType('a.zip')).toEqual({ mimeType: 'application/zip', block: 'container_upload', note: null });
    expect(chooseMimeType('a.xlsx').block).toBe('container_upload');
    expect(chooseMimeType('a.bmp').block).toBe('container_upload');
    expect(chooseMimeType('blob.unknownext')).toEqual({
      mimeType: 'application/octet-stream',
      block: 'container_upload',
      note: null,
    });
  });

  it('keeps the registered type of a text-like file that is not UTF-8 and says why it is not a document', () => {
    const c = chooseMimeType('legacy.csv', { isUtf8: false });
    expect(c.mimeType).toBe('text/csv');
    expect(c.block).toBe('container_upload');
    expect(c.note).toMatch(/not valid UTF-8.*cannot be a document/);
  });

  it('takes a per-extension override from the configuration; the block follows the type', () => {
    expect(chooseMimeType('a.md', { overrides: { '.md': 'text/markdown' } })).toEqual({
      mimeType: 'text/markdown',
      block: 'container_upload',
      note: null,
    });
    expect(chooseMimeType('a.dat', { overrides: { '.dat': 'text/plain' } }).block).toBe('document');
    // An overridden extension is not checked for UTF-8: the configured type is sent as it is.
    expect(isTextLike('a.md', { '.md': 'text/markdown' })).toBe(false);
  });

  it('reads the block from a type with parameters and any case', () => {
    expect(blockTypeOf('Text/Plain; charset=utf-8')).toBe('document');
    expect(blockTypeOf('image/svg+xml')).toBe('container_upload');
  });

  it('calls a copy stale only when its block is not the one the file should have now', () => {
    expect(typeIsStale({ path: 'a.md', mimeType: null })).toBe(true); // an older version sent text/markdown
    expect(typeIsStale({ path: 'a.pdf', mimeType: null })).toBe(false);
    expect(typeIsStale({ path: 'a.md', mimeType: 'text/plain;charset=UTF-8' })).toBe(false); // spelled another way
    expect(typeIsStale({ path: 'a.csv', mimeType: 'text/csv', mimeNote: 'not valid UTF-8' })).toBe(false);
    expect(typeIsStale({ path: 'a.md', mimeType: TEXT_PLAIN_UTF8 }, { '.md': 'text/markdown' })).toBe(true);
  });

  it('checks UTF-8 on the bytes, across chunk boundaries', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cfs-utf8-'));
    const good = path.join(dir, 'good.txt');
    const bad = path.join(dir, 'bad.txt');
    await writeFile(good, 'é€😀'.repeat(100_000));
    await writeFile(bad, Buffer.from([0x61, 0xff, 0xfe, 0x62]));
    expect(await isUtf8File(good)).toBe(true);
    expect(await isUtf8File(bad)).toBe(false);
  });
});

describe('blocks, manifest and session resources', () => {
  const entry = (
    p: string,
    block: 'document' | 'image' | 'container_upload',
    state: 'synced' | 'pending' = 'synced',
  ) => ({
    path: p,
    fileId: `file_${p.length}`,
    sizeBytes: 3,
    sha256: 'ab',
    state,
    error: null,
    mimeType: null,
    block,
    note: null,
  });

  it('builds the content block for each block type', () => {
    expect(contentBlockFor(entry('n/a.md', 'document'))).toEqual({
      type: 'document',
      source: { type: 'file', file_id: 'file_6' },
      title: 'n/a.md',
    });
    expect(contentBlockFor(entry('i.png', 'image'))).toEqual({
      type: 'image',
      source: { type: 'file', file_id: 'file_5' },
    });
    expect(contentBlockFor(entry('z.zip', 'container_upload'))).toEqual({
      type: 'container_upload',
      file_id: 'file_5',
    });
    expect(contentBlockFor(entry('p.md', 'document', 'pending'))).toBeNull();
  });

  it('lists only synced files in the manifest, and mounts each under /mnt/session/uploads by its relative path', () => {
    const m = manifestOf(
      [entry('b/c.md', 'document'), entry('a.png', 'image'), entry('p.md', 'document', 'pending')],
      '/f',
      0,
    );
    expect(m.files.map((f) => f.path)).toEqual(['a.png', 'b/c.md']);
    expect(sessionResourcesOf(m)).toEqual([
      { type: 'file', file_id: 'file_5', mount_path: '/mnt/session/uploads/a.png' },
      { type: 'file', file_id: 'file_6', mount_path: '/mnt/session/uploads/b/c.md' },
    ]);
    expect(splitResources(sessionResourcesOf(m), 1)).toHaveLength(2);
  });
});
