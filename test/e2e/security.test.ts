/**
 * Security checks of issue 5 through the built CLI, spawned as a user would: the key never appears
 * in any output, even from a server that echoes it back or a daemon that dies of a revoked key;
 * the running daemon's control socket is 0600 in a 0700 state directory and it opens no TCP port;
 * a state directory others can write is refused before anything is written in it.
 */
import {
  chmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli-sandbox.js';
import { allOutput, cliEnv, runCli, startCli, type RunningCli } from '../helpers/cli-process.js';
import { e2eWorld } from '../helpers/e2e.js';

const KEY = 'sk-ant-api03-security-e2e-KEY-7d1e0c4b9a';

let echo: Server;
let echoUrl = '';
let echoTurn = 0;
const world = e2eWorld(KEY);
const { running } = world;

beforeAll(async () => {
  // A broken server that puts the key it received into every kind of answer.
  echo = createServer((req, res) => {
    req.resume();
    const key = String(req.headers['x-api-key'] ?? '');
    echoTurn += 1;
    switch (echoTurn % 5) {
      case 4:
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`not json at all, key ${key}`);
        return;
      case 0:
        res.writeHead(401, { 'content-type': 'application/json', 'request-id': `req_${key}` });
        res.end(
          JSON.stringify({
            type: 'error',
            error: { type: 'authentication_error', message: `invalid x-api-key ${key}` },
          }),
        );
        return;
      case 1:
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end(`<html>bad gateway for ${key}</html>`);
        return;
      case 2:
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'permission_error', message: `key ${key} may not` } }));
        return;
      default:
        res.writeHead(400, { 'content-type': 'application/json', 'x-echo': key });
        res.end(
          JSON.stringify({
            type: 'error',
            error: { type: 'invalid_request_error', message: `bad request from ${key}` },
          }),
        );
    }
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (echo ? echo.close(() => resolve()) : resolve()));
});

const envFor = (s: Sandbox, baseURL = world.emulator.url, extra: Record<string, string> = {}) =>
  cliEnv(s.home, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: baseURL, ...extra });

/** TCP sockets in LISTEN state that belong to `pid` (Linux /proc). */
function listeningTcpPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue; // 0A = LISTEN
      if (inodes.has(f[9] ?? '')) ports.push(parseInt((f[1] ?? ':0').split(':')[1] ?? '0', 16));
    }
  }
  return ports;
}

describe.skipIf(process.platform !== 'linux')('the running daemon', () => {
  const s = sandbox('cfs-sec-e2e-');
  let daemon: RunningCli;

  beforeAll(async () => {
    writeFileSync(join(s.dir, 'a.txt'), 'a');
    daemon = startCli(['run', ...s.args, '--log-level', 'debug'], envFor(s));
    running.push(daemon);
    await daemon.waitFor((x) => x.logLines().some((l) => l.event === 'ready'), 'the daemon to be ready', 60_000);
  }, 90_000);

  afterAll(async () => {
    daemon.signal('SIGTERM');
    await daemon.exited(30_000).catch(() => undefined);
  });

  it('its state directory is 0700 and its control socket 0600', () => {
    expect(statSync(s.stateDir).mode & 0o777).toBe(0o700);
    const sockets = readdirSync(s.stateDir).filter((n) => lstatSync(join(s.stateDir, n)).isSocket());
    expect(sockets).toHaveLength(1);
    expect(lstatSync(join(s.stateDir, sockets[0] as string)).mode & 0o777).toBe(0o600);
  });

  it('opens no TCP port (the control channel is the Unix socket only)', () => {
    expect(listeningTcpPorts(daemon.child.pid as number)).toEqual([]);
  });

  it('status, ls, id and reconcile print no key', async () => {
    for (const args of [
      ['status'],
      ['status', '--json'],
      ['ls'],
      ['ls', '--json'],
      ['id', 'a.txt'],
      ['reconcile', '--json'],
      ['reconcile', '--dry-run'],
    ]) {
      const r = await runCli([...args, ...s.args], envFor(s), 60_000);
      expect(`${r.stdout}${r.stderr}`, args.join(' ')).not.toContain(KEY);
    }
    expect(daemon.stdout() + daemon.stderr()).not.toContain(KEY);
  });
});

describe('a server that echoes the key back', () => {
  it('files list/get/rm/upload and sync never print it', async () => {
    const s = sandbox('cfs-sec-e2e-');
    writeFileSync(join(s.dir, 'a.txt'), 'a');
    const outputs: string[] = [];
    for (const args of [
      ['files', 'list'],
      ['files', 'list', '--json'],
      ['files', 'get', 'file_abc'],
      ['files', 'rm', 'file_abc'],
      ['files', 'upload', join(s.dir, 'a.txt')],
      ['sync', ...s.args],
      ['sync', ...s.args],
      ['reconcile', ...s.args],
    ]) {
      const r = await runCli(args, envFor(s, echoUrl), 60_000);
      expect(r.code, args.join(' ')).not.toBe(0);
      outputs.push(`${r.stdout}${r.stderr}`);
    }
    expect(echoTurn).toBeGreaterThanOrEqual(8);
    for (const o of outputs) expect(o).not.toMatch(/sk-ant-api03-security/);
    for (const o of outputs) expect(o).not.toContain(KEY);
  });

  it('a daemon whose key is refused mid-run dies with a message that does not print it', async () => {
    const s = sandbox('cfs-sec-e2e-');
    writeFileSync(join(s.dir, 'a.txt'), 'a');
    const r = await runCli(['run', ...s.args], envFor(s, echoUrl), 60_000);
    expect(r.code).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`.length).toBeGreaterThan(0);
    expect(`${r.stdout}${r.stderr}`).not.toContain(KEY);
  });

  it('a key read from a key file is not printed either, nor written into the state directory', async () => {
    const s = sandbox('cfs-sec-e2e-');
    const keyFile = join(s.home, 'key');
    writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
    const cfg = join(s.home, 'config.json');
    writeFileSync(cfg, JSON.stringify({ api: { apiKeyFile: keyFile, baseURL: world.emulator.url, target: 'api' } }));
    writeFileSync(join(s.dir, 'b.txt'), 'b');
    const env = cliEnv(s.home, {});
    const r = await runCli(['sync', ...s.args, '--config', cfg], env, 60_000);
    expect(`${r.stdout}${r.stderr}`).not.toContain(KEY);
    expect(r.code).toBe(0);
    for (const name of readdirSync(s.stateDir)) {
      const p = join(s.stateDir, name);
      if (lstatSync(p).isFile()) expect(readFileSync(p).includes(KEY), name).toBe(false);
    }
  });
});

describe("the daemon's own files inside the watched folder (issue 21, symptom 1)", () => {
  /** Every remote copy's bytes, to look for the key in. */
  async function remoteBytes(): Promise<string> {
    const bodies = await Promise.all(
      world.emulator.files().map(async (f) => (await world.emulator.content(f.id))?.toString('utf8') ?? ''),
    );
    return bodies.join('\n');
  }

  it('the key file, a hard link to it, the configuration file and the state directory are never uploaded, and status says why', async () => {
    const s = sandbox('cfs-sec-e2e-');
    const before = new Set(world.emulator.files().map((f) => f.id));
    writeFileSync(join(s.dir, 'api-key'), `${KEY}\n`, { mode: 0o600 });
    mkdirSync(join(s.dir, 'notes'));
    linkSync(join(s.dir, 'api-key'), join(s.dir, 'notes', 'key-backup'));
    const cfg = join(s.dir, 'claude-filesync.json');
    // Relative paths in the file are relative to the file: the key and the state directory both
    // sit in the watched folder.
    writeFileSync(
      cfg,
      JSON.stringify({
        api: { apiKeyFile: 'api-key', baseURL: world.emulator.url, target: 'api' },
        stateDir: '.cfs-state',
      }),
      { mode: 0o600 },
    );
    writeFileSync(join(s.dir, 'doc.txt'), 'a document');
    const env = cliEnv(s.home, {});
    const args = ['--dir', s.dir, '--config', cfg];
    const r = await runCli(['sync', ...args], env, 60_000);
    expect(r.code, r.stderr).toBe(0);
    const ours = world.emulator.files().filter((f) => !before.has(f.id));
    expect(ours.map((f) => f.filename)).toEqual([expect.stringContaining('doc')]);
    expect(await remoteBytes()).not.toContain(KEY);
    const status = await runCli(['status', '--json', ...args], env, 30_000);
    const skipped = (JSON.parse(status.stdout) as { skipped: { path: string; reason: string }[] }).skipped;
    expect(skipped).toEqual(
      expect.arrayContaining([
        { path: 'api-key', reason: 'ignored: it is the API key file of claude-filesync' },
        { path: 'notes/key-backup', reason: 'ignored: it is the API key file of claude-filesync' },
        { path: 'claude-filesync.json', reason: 'ignored: it is the configuration file of claude-filesync' },
      ]),
    );
  });

  it('a key file uploaded before it became the key file has its remote copy deleted', async () => {
    const s = sandbox('cfs-sec-e2e-');
    // First an ordinary file that happens to hold a key (synced, as any file is)...
    writeFileSync(join(s.dir, 'api-key'), `${KEY}\n`, { mode: 0o600 });
    writeFileSync(join(s.dir, 'doc.txt'), 'a document');
    const first = await runCli(['sync', ...s.args], envFor(s), 60_000);
    expect(first.code, first.stderr).toBe(0);
    expect(await remoteBytes()).toContain(KEY);
    // ...then the configuration names it as the key file: its copy must go.
    const cfg = join(s.home, 'config.json');
    writeFileSync(
      cfg,
      JSON.stringify({ api: { apiKeyFile: join(s.dir, 'api-key'), baseURL: world.emulator.url, target: 'api' } }),
      { mode: 0o600 },
    );
    const second = await runCli(['sync', ...s.args, '--config', cfg], cliEnv(s.home, {}), 60_000);
    expect(second.code, second.stderr).toBe(0);
    expect(await remoteBytes()).not.toContain(KEY);
  });
});

describe('a state directory others can write', () => {
  it('run refuses it with the chmod hint and writes nothing in it', async () => {
    const s = sandbox('cfs-sec-e2e-');
    mkdirSync(s.stateDir);
    chmodSync(s.stateDir, 0o777);
    const r = await runCli(['run', ...s.args], envFor(s), 30_000);
    // 2, not 1: systemd (RestartPreventExitStatus=2) must not restart into the same refusal.
    expect(r.code).toBe(2);
    // `run` reports it as its fatal log line (stdout, JSON); either stream will do.
    expect(`${r.stdout}${r.stderr}`).toContain(`chmod 700 '${s.stateDir}'`);
    expect(readdirSync(s.stateDir)).toEqual([]);
  });
});

describe('the key, across every command of this file', () => {
  it('never appears in any output', () => {
    expect(allOutput.length).toBeGreaterThan(5);
    expect(allOutput.join('')).not.toContain(KEY);
  });
});
