/**
 * End-to-end: the built CLI, spawned as a user would, against an emulator started here. Every
 * process gets a clean environment (temporary HOME); everything they print is kept, and the last
 * test checks that the key never appears in any of it.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Emulator } from '../../src/emulator/index.js';
import { sandbox, type Sandbox } from '../helpers/cli-sandbox.js';
import { allOutput, cliEnv, MAIN, runCli, startCli, until, type RunningCli } from '../helpers/cli-process.js';
import { spawn } from 'node:child_process';
import { e2eWorld } from '../helpers/e2e.js';

const KEY = 'sk-ant-api03-e2e-SECRET-key-4f9a1c77d2b0e5';

type Entry = {
  path: string;
  fileId: string | null;
  sizeBytes: number;
  sha256: string | null;
  state: string;
  error: string | null;
};

const world = e2eWorld(KEY);
const { running } = world;

const envFor = (s: Sandbox, extra: Record<string, string | undefined> = {}) => world.env(s, extra);

function startDaemon(s: Sandbox, env = envFor(s), extraArgs: string[] = []): RunningCli {
  const p = startCli(['run', ...s.args, '--log-level', 'debug', ...extraArgs], env);
  running.push(p);
  return p;
}

const ready = (p: RunningCli) =>
  p.waitFor((x) => x.logLines().some((l) => l.event === 'ready'), 'the daemon to be ready', 60_000);

async function lsJson(s: Sandbox, env = envFor(s)): Promise<Entry[]> {
  const r = await runCli(['ls', '--json', ...s.args], env);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Entry[];
}

describe('output into a closed pipe', () => {
  const s = sandbox();
  // `claude-filesync ls --json | head -1`, `status --json | true`: the reader stopped reading;
  // that ends the output, it is no crash (it printed an unhandled EPIPE stack trace, exit 1).
  for (const args of [['--help'], ['status', '--json']]) {
    it(`${args.join(' ')} into a pipe closed by its reader exits 0 without a stack trace`, async () => {
      const child = spawn(process.execPath, [MAIN, ...args, ...(args[0] === 'status' ? s.args : [])], {
        env: envFor(s),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      expect(stderr).not.toMatch(/EPIPE|Unhandled/);
      expect(code).toBe(0);
    });
  }
});

describe('run in the background', () => {
  const s = sandbox();
  let daemon: RunningCli;

  it('starts, syncs dropped files, and answers status, ls, id and reconcile while it runs', async () => {
    writeFileSync(join(s.dir, 'before.txt'), 'present at start');
    daemon = startDaemon(s);
    await ready(daemon);
    const first = daemon.logLines()[0]!;
    expect(String(first.msg)).toContain(`watching ${s.dir}, syncing to ${world.emulator.url}`);

    mkdirSync(join(s.dir, 'reports', '2026'), { recursive: true });
    writeFileSync(join(s.dir, 'reports', '2026', 'q3.md'), '# Q3\n');
    writeFileSync(join(s.dir, 'notes.txt'), 'hello');
    const entries = await until(async () => {
      const e = await lsJson(s);
      return e.length === 3 && e.every((x) => x.state === 'synced') ? e : null;
    }, 'three synced files');
    expect(entries.map((e) => e.path).sort()).toEqual(['before.txt', 'notes.txt', 'reports/2026/q3.md']);
    for (const e of entries) {
      expect(e.fileId).toMatch(/^file_/);
      expect(e.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(e.error).toBeNull();
    }
    expect(entries.find((e) => e.path === 'notes.txt')!.sizeBytes).toBe(5);
    const remoteIds = new Set(world.emulator.files().map((f) => f.id));
    for (const e of entries) expect(remoteIds.has(e.fileId!)).toBe(true);

    const status = await runCli(['status', '--json', ...s.args], envFor(s));
    expect(status.code).toBe(0);
    const st = JSON.parse(status.stdout) as {
      running: boolean;
      pid: number;
      target: { kind: string; baseURL: string };
      counts: { synced: number };
    };
    expect(st.running).toBe(true);
    expect(st.pid).toBe(daemon.child.pid);
    expect(st.target.kind).toBe('api');
    expect(st.target.baseURL).toBe(world.emulator.url);
    expect(st.counts.synced).toBe(3);
    const text = await runCli(['status', ...s.args], envFor(s));
    expect(text.stdout).toContain(`running (pid ${daemon.child.pid})`);

    const q3 = entries.find((e) => e.path === 'reports/2026/q3.md')!;
    const id = await runCli(['id', 'reports/2026/q3.md', ...s.args], envFor(s));
    expect(id.code).toBe(0);
    expect(id.stdout.trim()).toBe(q3.fileId);
    const abs = await runCli(['id', join(s.dir, 'reports', '2026', 'q3.md'), ...s.args], envFor(s));
    expect(abs.stdout.trim()).toBe(q3.fileId);
    const missing = await runCli(['id', 'nope.txt', ...s.args], envFor(s));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nope.txt is not synced');

    const rec = await runCli(['reconcile', '--json', ...s.args], envFor(s));
    expect(rec.code).toBe(0);
    const report = JSON.parse(rec.stdout) as { localFiles: number; uploaded: string[]; failed: unknown[] };
    expect(report.localFiles).toBe(3);
    expect(report.uploaded).toEqual([]);
    expect(report.failed).toEqual([]);
    await daemon.waitFor(
      (x) => x.logLines().some((l) => l.event === 'reconcile' && l.reason === 'control'),
      'the daemon to log the control reconcile',
    );
  });

  it('reconcile through the daemon repairs a remote file deleted behind its back; --dry-run changes nothing', async () => {
    const before = (await lsJson(s)).find((e) => e.path === 'notes.txt')!;
    const del = await runCli(['files', 'rm', before.fileId!, ...s.args], envFor(s));
    expect(del.code).toBe(0);
    const dry = await runCli(['reconcile', '--dry-run', '--json', ...s.args], envFor(s));
    expect(dry.code).toBe(0);
    expect((JSON.parse(dry.stdout) as { dryRun: boolean; uploaded: string[] }).uploaded).toEqual(['notes.txt']);
    expect(world.emulator.files().some((f) => f.filename.includes('notes'))).toBe(false);
    const real = await runCli(['reconcile', ...s.args], envFor(s));
    expect(real.code).toBe(0);
    expect(real.stdout).toContain('uploaded (1)');
    expect(real.stdout).toContain('notes.txt');
    const after = await until(
      async () =>
        (await lsJson(s)).find((e) => e.path === 'notes.txt' && e.state === 'synced' && e.fileId !== before.fileId),
      'notes.txt re-uploaded',
    );
    expect(world.emulator.files().some((f) => f.id === after.fileId)).toBe(true);
  });

  it('SIGHUP triggers a reconcile', async () => {
    daemon.signal('SIGHUP');
    await daemon.waitFor(
      (x) => x.logLines().some((l) => l.event === 'reconcile' && l.reason === 'SIGHUP'),
      'a reconcile after SIGHUP',
    );
  });

  it('a second run on the same state directory exits 1 with a clear message', async () => {
    const second = await runCli(['run', ...s.args], envFor(s), 30_000);
    expect(second.code).toBe(1);
    expect(second.stdout).toContain(`Another claude-filesync (pid ${daemon.child.pid}`);
    expect(daemon.child.exitCode).toBeNull();
  });

  it('SIGTERM stops it cleanly: exit 0, socket and lock removed', async () => {
    daemon.signal('SIGTERM');
    const r = await daemon.exited(30_000);
    expect(r.code).toBe(0);
    expect(daemon.logLines().some((l) => l.event === 'stopped')).toBe(true);
    expect(existsSync(join(s.stateDir, 'control.sock'))).toBe(false);
    expect(existsSync(join(s.stateDir, 'daemon.lock'))).toBe(false);
    const st = await runCli(['status', '--json', ...s.args], envFor(s));
    const report = JSON.parse(st.stdout) as { running: boolean; counts: { synced: number }; lastReconcile: unknown };
    expect(report.running).toBe(false);
    expect(report.counts.synced).toBe(3);
  });
});

/** True once the process has a handler for SIGHUP (bit 0 of SigCgt in /proc/<pid>/status). */
function catchesSighup(pid: number): boolean {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('SigCgt:'));
    return line !== undefined && (BigInt(`0x${line.slice(7).trim()}`) & 1n) === 1n;
  } catch {
    return false;
  }
}

describe('signals during start-up', () => {
  it.skipIf(process.platform !== 'linux')(
    'a SIGHUP during start-up neither kills the daemon nor is lost: it reconciles once started',
    async () => {
      const s = sandbox();
      writeFileSync(join(s.dir, 'a.txt'), 'a');
      const daemon = startDaemon(s);
      const pid = daemon.child.pid!;
      // As early as the process takes the signal over (before that, nothing could catch it).
      const deadline = Date.now() + 30_000;
      while (!catchesSighup(pid) && daemon.child.exitCode === null && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 1));
      daemon.signal('SIGHUP');
      await ready(daemon);
      await daemon.waitFor(
        (x) =>
          x.logLines().some((l) => l.event === 'reconcile' && l.reason === 'SIGHUP') ||
          x.child.exitCode !== null ||
          x.child.signalCode !== null,
        'the queued reconcile after SIGHUP',
        30_000,
      );
      expect(daemon.child.signalCode).toBeNull();
      expect(daemon.child.exitCode).toBeNull();
      const ready_ = daemon.logLines().findIndex((l) => l.event === 'ready');
      const hup = daemon.logLines().findIndex((l) => l.event === 'reconcile' && l.reason === 'SIGHUP');
      expect(hup).toBeGreaterThan(ready_);
      daemon.signal('SIGTERM');
      expect((await daemon.exited(30_000)).code).toBe(0);
    },
  );
});

describe('after a crash', () => {
  it('a daemon killed with SIGKILL leaves a stale socket and lock that the next start replaces', async () => {
    const s = sandbox();
    writeFileSync(join(s.dir, 'a.txt'), 'a');
    const first = startDaemon(s);
    await ready(first);
    first.signal('SIGKILL');
    await first.exited(30_000);
    expect(existsSync(join(s.stateDir, 'control.sock'))).toBe(true);
    const st = await runCli(['status', '--json', ...s.args], envFor(s));
    expect((JSON.parse(st.stdout) as { running: boolean }).running).toBe(false);
    const second = startDaemon(s);
    await ready(second);
    const live = await runCli(['status', '--json', ...s.args], envFor(s));
    expect((JSON.parse(live.stdout) as { pid: number }).pid).toBe(second.child.pid);
    second.signal('SIGTERM');
    expect((await second.exited(30_000)).code).toBe(0);
  });
});

describe('SIGTERM mid-upload', () => {
  it('stops within the grace period and a later sync leaves one remote copy per file', async () => {
    const s = sandbox();
    const slow = await Emulator.start({ apiKey: KEY, faults: { latencyMs: 1500 } });
    try {
      const env = cliEnv(s.home, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: slow.url });
      const daemon = startDaemon(s, env, ['--grace-ms', '20000']);
      await ready(daemon);
      for (let i = 0; i < 6; i++) writeFileSync(join(s.dir, `f${i}.txt`), `content ${i}`);
      await until(async () => slow.stats().byRoute.upload > 0, 'an upload in flight');
      daemon.signal('SIGTERM');
      const r = await daemon.exited(60_000);
      expect(r.code).toBe(0);
      slow.setFaults({ latencyMs: 0 });
      const sync = await runCli(['sync', ...s.args], env);
      expect(sync.code).toBe(0);
      const entries = await lsJson(s, env);
      expect(
        entries
          .filter((e) => e.state === 'synced')
          .map((e) => e.path)
          .sort(),
      ).toEqual(['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt', 'f4.txt', 'f5.txt']);
      const remote = slow.files();
      expect(remote).toHaveLength(6);
      expect(new Set(remote.map((f) => f.id))).toEqual(new Set(entries.map((e) => e.fileId)));
    } finally {
      await slow.close();
    }
  });
});

describe('files', () => {
  it('upload, get, list (both shapes) and rm through the raw API', async () => {
    const s = sandbox();
    const local = join(s.home, 'raw upload.txt');
    writeFileSync(local, 'raw bytes');
    const up = await runCli(['files', 'upload', local, '--json', ...s.args], envFor(s));
    expect(up.code).toBe(0);
    const file = JSON.parse(up.stdout) as { id: string; filename: string; size_bytes: number };
    expect(file.filename).toBe('raw upload.txt');
    expect(file.size_bytes).toBe(9);
    const get = await runCli(['files', 'get', file.id, '--json', ...s.args], envFor(s));
    expect((JSON.parse(get.stdout) as { id: string }).id).toBe(file.id);
    for (let i = 0; i < 25; i++)
      await world.emulator.addFile({ filename: `bulk-${i}.txt`, bytes: new Uint8Array([i]) });
    const list = await runCli(['files', 'list', '--json', ...s.args], envFor(s));
    const all = JSON.parse(list.stdout) as { id: string }[];
    expect(all.length).toBe(world.emulator.files().length);
    expect(all.some((f) => f.id === file.id)).toBe(true);
    const beta = await runCli(
      ['files', 'list', '--json', ...s.args],
      envFor(s, { CLAUDE_FILESYNC_CONFIG: writeConfig(s, { api: { shape: 'beta' } }) }),
    );
    expect((JSON.parse(beta.stdout) as unknown[]).length).toBe(all.length);
    const rm = await runCli(['files', 'rm', file.id, ...s.args], envFor(s));
    expect(rm.code).toBe(0);
    expect(rm.stdout).toContain(`deleted ${file.id}`);
    const gone = await runCli(['files', 'get', file.id, ...s.args], envFor(s));
    expect(gone.code).toBe(1);
  });
});

function writeConfig(s: Sandbox, content: unknown): string {
  const file = join(s.home, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(content));
  return file;
}

describe('one-shot sync', () => {
  it('exits 0 when all is in sync, and 1 listing the files that failed', async () => {
    const s = sandbox();
    writeFileSync(join(s.dir, 'a.txt'), 'a');
    writeFileSync(join(s.dir, 'b.txt'), 'b');
    const ok = await runCli(['sync', ...s.args], envFor(s));
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('uploaded (2)');
    const again = await runCli(['sync', '--json', ...s.args], envFor(s));
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as { uploaded: string[] }).uploaded).toEqual([]);
    if (process.getuid?.() === 0) return; // root reads a mode-000 file: no failure to provoke
    writeFileSync(join(s.dir, 'locked.txt'), 'secret');
    chmodSync(join(s.dir, 'locked.txt'), 0o000);
    const bad = await runCli(['sync', ...s.args], envFor(s));
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('locked.txt');
  });
});

describe('first run without a key', () => {
  it('uses the built-in emulator and says so on the first line and in status', async () => {
    const s = sandbox();
    const folder = join(s.home, 'NewFolder');
    // Named folders are not created (issue 21, symptom 8): only the default one is.
    mkdirSync(folder);
    const args = ['--dir', folder, '--state-dir', s.stateDir];
    const env = cliEnv(s.home);
    const daemon = startCli(['run', ...args], env);
    running.push(daemon);
    await ready(daemon);
    const first = daemon.logLines()[0]!;
    expect(String(first.msg)).toContain('nothing leaves this machine; set ANTHROPIC_API_KEY to sync to Claude');
    expect(String(first.msg)).toContain(folder);
    expect(existsSync(folder)).toBe(true);
    writeFileSync(join(folder, 'x.txt'), 'x');
    await until(async () => {
      const r = await runCli(['ls', '--json', ...args], env);
      return (JSON.parse(r.stdout) as Entry[]).some((e) => e.path === 'x.txt' && e.state === 'synced');
    }, 'x.txt synced to the built-in emulator');
    const st = await runCli(['status', ...args], env);
    expect(st.stdout).toContain('nothing leaves this machine; set ANTHROPIC_API_KEY to sync to Claude');
    daemon.signal('SIGINT');
    expect((await daemon.exited(30_000)).code).toBe(0);
  });

  it('with the real API named and no key, exits 2 with that message', async () => {
    const s = sandbox();
    const cfg = join(s.home, 'config.json');
    writeFileSync(cfg, JSON.stringify({ api: { target: 'api' } }));
    const r = await runCli(['run', ...s.args, '--config', cfg], cliEnv(s.home), 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no API key');
    expect(r.stderr).toContain('set ANTHROPIC_API_KEY to sync to Claude');
  });
});

describe('a wrong key', () => {
  it('exits promptly with an authentication message, without a retry storm', async () => {
    const s = sandbox();
    writeFileSync(join(s.dir, 'a.txt'), 'a');
    world.emulator.resetStats();
    const started = Date.now();
    const r = await runCli(['run', ...s.args], envFor(s, { ANTHROPIC_API_KEY: 'sk-ant-wrong-key-000000' }), 30_000);
    expect(r.code).toBe(1);
    expect(`${r.stdout}${r.stderr}`.toLowerCase()).toContain('authentication');
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(world.emulator.stats().requests).toBeLessThanOrEqual(3);
    expect(world.emulator.stats().byRoute.upload).toBe(0);
  });
});

describe('bad configuration', () => {
  const cases: [unknown, string][] = [
    [{ queue: { requestsPerMinute: 'fast' } }, 'queue.requestsPerMinute must be a positive integer, got "fast"'],
    [{ queue: { concurrency: 0 } }, 'queue.concurrency must be an integer from 1 to 64, got 0'],
    [{ api: { shape: 'v2' } }, 'api.shape must be one of "ga", "beta", got "v2"'],
    [{ api: { baseURL: 'nowhere' } }, 'api.baseURL must be an http or https URL, got "nowhere"'],
    [{ api: { maxRetries: 99 } }, 'api.maxRetries must be an integer from 0 to 10, got 99'],
    [{ api: { timeoutMs: 0 } }, 'api.timeoutMs must be a positive integer'],
    [{ api: { target: 'cloud' } }, 'api.target must be one of'],
    [{ watch: { settleMs: 'slow' } }, 'watch.settleMs must be a non-negative integer'],
    [{ watch: { ignore: [1] } }, 'watch.ignore[0] must be a string'],
    [{ watch: { followSymlinks: 'no' } }, 'watch.followSymlinks must be true or false, got "no"'],
    [{ sync: { maxFileBytes: -1 } }, 'sync.maxFileBytes must be a positive integer'],
    [{ sync: { expiresInSeconds: 10 } }, 'sync.expiresInSeconds must be null or an integer from 3600 to 7776000'],
    [{ sync: { maxDeletePercent: 101 } }, 'sync.maxDeletePercent must be a number from 0 to 100, got 101'],
    [{ sync: { reconcileIntervalMinutes: 1.5 } }, 'sync.reconcileIntervalMinutes must be a non-negative integer'],
    [{ log: { level: 'verbose' } }, 'log.level must be one of'],
    [{ unknownField: true }, 'unknownField is not a known configuration field'],
    [{ api: { apiKey: KEY } }, 'api.apiKey is not a configuration field'],
  ];
  for (const [content, message] of cases) {
    it(`run exits 2: ${message}`, async () => {
      const s = sandbox();
      const cfg = join(s.home, 'config.json');
      writeFileSync(cfg, JSON.stringify(content));
      const r = await runCli(['run', ...s.args, '--config', cfg], envFor(s), 30_000);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stderr).toContain(cfg);
    });
  }
});

describe('the key', () => {
  it('never appears in any output of any command above', () => {
    expect(allOutput.length).toBeGreaterThan(10);
    const everything = allOutput.join('');
    expect(everything).not.toContain(KEY);
  });
});
