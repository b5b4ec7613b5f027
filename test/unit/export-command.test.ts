import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMain } from '../../src/cli/run-main.js';
import { IndexStore } from '../../src/store/store.js';
import { captureContext } from '../helpers/cli-context.js';

/** A state directory whose index holds `n` synced files (no daemon runs). */
function stateWith(n: number) {
  const home = mkdtempSync(join(tmpdir(), 'cfs-export-'));
  const dir = join(home, 'folder');
  const stateDir = join(home, 'state');
  mkdirSync(dir);
  mkdirSync(stateDir, { mode: 0o700 });
  const index = IndexStore.open(join(stateDir, 'index.sqlite'));
  const sha = 'a'.repeat(64);
  index.transaction(() => {
    for (let i = 0; i < n; i += 1) {
      const path = `f${String(i).padStart(4, '0')}.txt`;
      index.observe({ path, size: 1, mtimeMs: 1, ino: i + 1, sha256: sha });
      index.adopt(path, {
        fileId: `file_${i}`,
        remoteName: path,
        size: 1,
        sha256: sha,
        createdAt: 1,
        expiresAt: null,
        mimeType: 'text/plain; charset=utf-8',
      });
    }
  });
  index.close();
  return { home, args: ['--dir', dir, '--state-dir', stateDir] };
}

async function exportCli(s: ReturnType<typeof stateWith>, extra: string[]) {
  const c = captureContext({ home: s.home });
  const code = await runMain(['export', ...extra, ...s.args], c.ctx);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

describe('export --format resources and the 500 files a session mounts', () => {
  it('refuses more than 500 with exit 2 and the way out; --part and --split cut them into sessions', async () => {
    const s = stateWith(501);
    const refused = await exportCli(s, ['--format', 'resources']);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      /501 synced files, but a Managed Agents session mounts at most 500: .*--part K \(K from 1 to 2\)/,
    );
    const part1 = JSON.parse((await exportCli(s, ['--format', 'resources', '--part', '1'])).stdout) as unknown[];
    const part2 = JSON.parse((await exportCli(s, ['--format', 'resources', '--part', '2'])).stdout) as {
      file_id: string;
      mount_path: string;
    }[];
    expect(part1).toHaveLength(500);
    expect(part2).toEqual([{ type: 'file', file_id: 'file_500', mount_path: '/mnt/session/uploads/f0500.txt' }]);
    const all = await exportCli(s, ['--format', 'resources', '--split', '500']);
    expect((JSON.parse(all.stdout) as unknown[][]).map((p) => p.length)).toEqual([500, 1]);
    // The manifest has no such limit.
    expect((JSON.parse((await exportCli(s, [])).stdout) as { files: unknown[] }).files).toHaveLength(501);
  });

  it('refuses a --split over 500 and --split/--part with the json format', async () => {
    const s = stateWith(1);
    expect((await exportCli(s, ['--format', 'resources', '--split', '501'])).stderr).toMatch(
      /--split must be an integer from 1 to 500/,
    );
    const mixed = await exportCli(s, ['--format', 'json', '--part', '1']);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/apply to --format resources only/);
  });
});
