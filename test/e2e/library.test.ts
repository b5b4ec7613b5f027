/**
 * The library entry point, as a Node program uses it: `import { openIndex } from 'claude-filesync'`
 * resolved through package.json `exports` to the built dist/src/lib.js, in a separate process,
 * while an engine (the daemon's part that writes the index) is running on the same state directory.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/cli-process.js';
import { createHarness, type Harness } from '../helpers/engine-harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let h: Harness | null = null;
beforeAll(() => ensureBuilt(), 120_000);
afterEach(async () => {
  await h?.close();
  h = null;
});

/** Runs an ES module snippet in a fresh node whose imports resolve from the package root. */
function runNode(source: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', source], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the library entry point ('claude-filesync')", () => {
  it('package.json exports the built entry with its types', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, { import: string; types: string }>;
    };
    expect(pkg.exports['.']).toEqual({ types: './dist/src/lib-api.d.ts', import: './dist/src/lib.js' });
  });

  it('openIndex gives read-only lookups of file ids, blocks and entries while the engine runs', async () => {
    h = await createHarness({ watch: true, settleMs: 100 });
    await mkdir(path.join(h.dir, 'notes'), { recursive: true });
    await writeFile(path.join(h.dir, 'notes/a.md'), '# a\n');
    await writeFile(path.join(h.dir, 'b.bin'), Buffer.from([0, 1, 2]));
    await h.engine.start();
    await h.engine.onIdle();
    const source = `
      import { openIndex } from 'claude-filesync';
      const index = openIndex(${JSON.stringify(h.stateDir)});
      const out = { id: index.fileIdOf('notes/a.md'), none: index.fileIdOf('missing.md'), block: index.blockOf('notes/a.md'), bin: index.blockOf('b.bin'), paths: index.entries().map((e) => e.path) };
      index.close();
      console.log(JSON.stringify(out));`;
    const r = runNode(source);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { id: string; none: null; block: unknown; bin: unknown; paths: string[] };
    const id = h.engine.fileIdOf('notes/a.md');
    expect(id).not.toBeNull();
    expect(out).toEqual({
      id,
      none: null,
      block: { type: 'document', source: { type: 'file', file_id: id }, title: 'notes/a.md' },
      bin: { type: 'container_upload', file_id: h.engine.fileIdOf('b.bin') },
      paths: ['b.bin', 'notes/a.md'],
    });
    // The engine keeps writing after the reader came and went.
    await writeFile(path.join(h.dir, 'c.txt'), 'c');
    await h.engine.reconcile();
    await h.engine.onIdle();
    expect(h.engine.fileIdOf('c.txt')).not.toBeNull();
  });

  it('openIndex on a state directory without an index throws E_INDEX_MISSING', () => {
    const r = runNode(`
      import { openIndex } from 'claude-filesync';
      try { openIndex('/nonexistent-cfs-state'); } catch (err) { console.log(err.code); }`);
    expect(r.stdout.trim()).toBe('E_INDEX_MISSING');
  });
});
