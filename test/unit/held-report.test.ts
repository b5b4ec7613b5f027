/**
 * Held deletes as the CLI shows them without a daemon (src/cli/offline.ts): a held path is
 * `held` in `ls`, counted in `status`, and `id` exits 1 with "held:" instead of its old id.
 */
import { existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMain } from '../../src/cli/run-main.js';
import { startControlServer } from '../../src/control/server.js';
import type { StatusReport } from '../../src/engine/contract.js';
import { BUILTIN_EMULATOR_TARGET, indexFile } from '../../src/state-dir/state-files.js';
import { IndexStore } from '../../src/store/store.js';
import { HELD_DELETES_META } from '../../src/plan/held-deletes.js';
import { captureContext } from '../helpers/cli-context.js';

async function cli(argv: string[], h: string) {
  const c = captureContext({ home: h, env: {} });
  const code = await runMain(argv, c.ctx);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

/** Rows for `paths`; a path that exists under `dir` gets its real stat, as `id` checks it offline. */
function syncedIndex(stateDir: string, paths: string[], dir?: string): void {
  const index = IndexStore.open(indexFile(stateDir, BUILTIN_EMULATOR_TARGET));
  paths.forEach((p, i) => {
    const sha = String(i).padStart(64, '0');
    const file = dir === undefined ? null : join(dir, p);
    const st = file && existsSync(file) ? statSync(file) : null;
    index.observe(
      st
        ? { path: p, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, ctimeMs: st.ctimeMs, sha256: sha }
        : { path: p, size: 1, mtimeMs: 1, ino: i + 1, sha256: sha },
    );
    const intent = index.recordIntent({ path: p, remoteName: `${p}~x`, size: 1, sha256: sha, startedAt: 1 });
    index.commitUpload(intent.id, {
      path: p,
      fileId: `file_${i}`,
      remoteName: `${p}~x`,
      size: 1,
      sha256: sha,
      createdAt: 1,
      expiresAt: null,
    });
  });
  index.setMeta(HELD_DELETES_META, JSON.stringify(['gone.txt']));
  index.close();
}

describe('held deletes without a daemon', () => {
  it('ls shows held, status counts it apart from synced, id exits 1 with held', async () => {
    const h = mkdtempSync(join(tmpdir(), 'cfs-held-'));
    const args = ['--dir', join(h, 'f'), '--state-dir', join(h, 's')];
    mkdirSync(join(h, 'f'));
    mkdirSync(join(h, 's'), { mode: 0o700 });
    // kept.txt is on disk as indexed: id without a daemon checks it (issue 21, symptom 13).
    writeFileSync(join(h, 'f', 'kept.txt'), 'k');
    syncedIndex(join(h, 's'), ['gone.txt', 'kept.txt'], join(h, 'f'));

    const ls = await cli(['ls', '--json', ...args], h);
    expect(ls.code).toBe(0);
    const entries = JSON.parse(ls.stdout) as { path: string; state: string }[];
    expect(entries.map((e) => [e.path, e.state])).toEqual([
      ['gone.txt', 'held'],
      ['kept.txt', 'synced'],
    ]);

    const status = JSON.parse((await cli(['status', '--json', ...args], h)).stdout) as {
      counts: Record<string, number>;
      heldDeletes: { count: number; message: string } | null;
    };
    expect(status.counts).toMatchObject({ synced: 1, held: 1 });
    expect(status.heldDeletes?.count).toBe(1);
    expect(status.heldDeletes?.message).toMatch(/--allow-mass-delete/);

    const id = await cli(['id', 'gone.txt', ...args], h);
    expect(id.code).toBe(1);
    expect(id.stdout).toBe('');
    expect(id.stderr).toMatch(/held: gone\.txt/);
    const kept = await cli(['id', 'kept.txt', ...args], h);
    expect(kept.code).toBe(0);
    expect(kept.stdout.trim()).toBe('file_1');
  });
});

describe('held deletes through the daemon', () => {
  it('id asks the daemon and exits 1 with held for a held path', async () => {
    const h = mkdtempSync(join(tmpdir(), 'cfs-held-'));
    mkdirSync(join(h, 'f'));
    mkdirSync(join(h, 's'), { mode: 0o700 });
    const server = await startControlServer({
      stateDir: join(h, 's'),
      handler: {
        status: () => ({ running: true }) as unknown as StatusReport,
        reconcile: () => Promise.reject(new Error('not asked')),
        files: () => [],
        fileIdOf: () => null,
        stateOf: (p) => (p === 'gone.txt' ? 'held' : null),
      },
    });
    try {
      const id = await cli(['id', 'gone.txt', '--dir', join(h, 'f'), '--state-dir', join(h, 's')], h);
      expect(id.code).toBe(1);
      expect(id.stderr).toMatch(/held: gone\.txt/);
      const unknown = await cli(['id', 'nope.txt', '--dir', join(h, 'f'), '--state-dir', join(h, 's')], h);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/nope\.txt is not synced \(not in the index\)/);
    } finally {
      await server.close();
    }
  });
});
