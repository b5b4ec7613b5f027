/**
 * The daemon (`run`, in-process) and issue 12: it keeps manifest.json current in the state
 * directory, and under a service manager a key refused at start keeps it running (no restart loop)
 * until the key is fixed.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runMain } from '../../src/cli/run-main.js';
import { Emulator } from '../../src/emulator/index.js';
import { captureContext } from '../helpers/cli-context.js';
import { waitUntil } from '../helpers/engine-harness.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function sandbox() {
  const home = mkdtempSync(join(tmpdir(), 'cfs-daemon12-'));
  const dir = join(home, 'folder');
  const stateDir = join(home, 'state');
  mkdirSync(dir);
  return { home, dir, stateDir };
}

const readJson = (file: string): unknown => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
};

describe('the daemon and Messages-ready files', () => {
  it('keeps manifest.json in the state directory current as files come and go', async () => {
    const s = sandbox();
    writeFileSync(join(s.dir, 'a.md'), '# a\n');
    const c = captureContext({ home: s.home });
    const running = runMain(['run', '--dir', s.dir, '--state-dir', s.stateDir, '--log-level', 'warn'], c.ctx);
    cleanups.push(async () => {
      c.signals.emit('SIGTERM');
      await running;
    });
    const manifest = join(s.stateDir, 'manifest.json');
    type M = { files: { path: string; block: string; mimeType: string }[] };
    await waitUntil(() => (readJson(manifest) as M | null)?.files.length === 1, 20_000, 'the manifest with a.md');
    expect((readJson(manifest) as M).files[0]).toMatchObject({
      path: 'a.md',
      block: 'document',
      mimeType: 'text/plain; charset=utf-8',
    });
    writeFileSync(join(s.dir, 'b.png'), Buffer.from('89504e47', 'hex'));
    await waitUntil(() => (readJson(manifest) as M | null)?.files.length === 2, 20_000, 'the manifest with b.png');
    expect((readJson(manifest) as M).files[1]).toMatchObject({ path: 'b.png', block: 'image' });
  }, 60_000);

  it('under systemd, a key refused at start keeps the daemon running and says how to fix it', async () => {
    const emulator = await Emulator.start({ apiKey: 'sk-ant-the-right-key-000000' });
    cleanups.push(() => emulator.close());
    const s = sandbox();
    writeFileSync(join(s.dir, 'a.txt'), 'a');
    const env = {
      ANTHROPIC_API_KEY: 'sk-ant-a-wrong-key-0000000',
      ANTHROPIC_BASE_URL: emulator.url,
      INVOCATION_ID: 'abc123',
    };
    const c = captureContext({ home: s.home, env });
    let exited: number | null = null;
    const running = runMain(['run', '--dir', s.dir, '--state-dir', s.stateDir], c.ctx).then((code) => (exited = code));
    await waitUntil(() => /key-refused/.test(c.stdout()), 20_000, 'the key-refused line');
    await new Promise((r) => setTimeout(r, 1500));
    expect(exited).toBeNull();
    expect(c.stdout()).toMatch(/still running: fix the key, then send SIGHUP/);
    expect(emulator.stats().requests).toBeLessThanOrEqual(2);
    // `status` beside it shows the problem and the fix.
    const st = captureContext({ home: s.home, env });
    await runMain(['status', '--json', '--dir', s.dir, '--state-dir', s.stateDir], st.ctx);
    const status = JSON.parse(st.stdout()) as { running: boolean; apiProblem: { kind: string; hint: string } | null };
    expect(status.running).toBe(true);
    expect(status.apiProblem?.kind).toBe('key-refused');
    expect(status.apiProblem?.hint).toMatch(/ANTHROPIC_API_KEY/);
    c.signals.emit('SIGTERM');
    expect(await running).toBe(0);
  }, 60_000);
});
