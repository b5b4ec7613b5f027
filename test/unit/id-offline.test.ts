import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMain } from '../../src/cli/run-main.js';
import { captureContext } from '../helpers/cli-context.js';

async function setUp() {
  const h = mkdtempSync(join(tmpdir(), 'cfs-id-'));
  mkdirSync(join(h, 'f'));
  for (const name of ['edited.txt', 'same-stat.txt', 'gone.txt', 'kept.txt']) writeFileSync(join(h, 'f', name), name);
  // A whole-second mtime, so that it can be restored exactly after a rewrite.
  utimesSync(join(h, 'f', 'same-stat.txt'), 1_700_000_000, 1_700_000_000);
  const args = ['--dir', join(h, 'f'), '--state-dir', join(h, 's')];
  const run = async (argv: string[]) => {
    const c = captureContext({ home: h });
    const code = await runMain([...argv, ...args], c.ctx);
    return { code, stdout: c.stdout(), stderr: c.stderr() };
  };
  expect((await run(['sync'])).code).toBe(0);
  return { h, run };
}

describe('id without a daemon (issue 21, symptom 13)', () => {
  it('does not hand out the id of a file changed since it was synced: edited, rewritten with the same stat, or removed', async () => {
    const { h, run } = await setUp();
    writeFileSync(join(h, 'f', 'edited.txt'), 'edited since the sync');
    // cp -p / touch -r: same size, mtime and inode; only the ctime tells.
    const file = join(h, 'f', 'same-stat.txt');
    const before = statSync(file);
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(file, 'SAME-STAT.TXT');
    utimesSync(file, 1_700_000_000, 1_700_000_000);
    const after = statSync(file);
    expect([after.size, after.mtimeMs, after.ino]).toEqual([before.size, before.mtimeMs, before.ino]);
    rmSync(join(h, 'f', 'gone.txt'));
    for (const name of ['edited.txt', 'same-stat.txt', 'gone.txt']) {
      for (const extra of [[], ['--block']]) {
        const r = await run(['id', name, ...extra]);
        expect(r.code, `${name} ${extra.join(' ')}`).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(
          new RegExp(
            `${name.replace('.', '\\.')} (changed|is gone) since it was synced, and the daemon is not running`,
          ),
        );
      }
    }
    const kept = await run(['id', 'kept.txt']);
    expect(kept.code).toBe(0);
    expect(kept.stdout).toMatch(/^file_\w+\n$/);
    expect((await run(['id', 'kept.txt', '--block'])).code).toBe(0);
  });
});

describe('id without a daemon, with watch.followSymlinks', () => {
  it('hands out the id of a followed symlink whose target is unchanged (its row holds the target’s stat)', async () => {
    const h = mkdtempSync(join(tmpdir(), 'cfs-id-'));
    mkdirSync(join(h, 'f', 'real'), { recursive: true });
    writeFileSync(join(h, 'f', 'real', 't.txt'), 'target');
    symlinkSync('real/t.txt', join(h, 'f', 'link.txt'));
    writeFileSync(join(h, 'cfg.json'), JSON.stringify({ watch: { followSymlinks: true } }));
    const args = ['--dir', join(h, 'f'), '--state-dir', join(h, 's'), '--config', join(h, 'cfg.json')];
    const run = async (argv: string[]) => {
      const c = captureContext({ home: h });
      const code = await runMain([...argv, ...args], c.ctx);
      return { code, stdout: c.stdout(), stderr: c.stderr() };
    };
    expect((await run(['sync'])).code).toBe(0);
    const linked = await run(['id', 'link.txt']);
    expect(linked.code).toBe(0);
    expect(linked.stdout).toMatch(/^file_\w+\n$/);
    writeFileSync(join(h, 'f', 'real', 't.txt'), 'target, edited');
    expect((await run(['id', 'link.txt'])).code).toBe(1);
  });
});
