/**
 * Security checks of issue 5: the API key never appears in logs, errors, status or listings; the
 * control socket is 0600 in a 0700 directory and a state directory others can write is refused;
 * nothing outside the watched folder is ever read or sent, whatever the symlinks.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createFilesClient } from '../../src/api/index.js';
import { startControlServer } from '../../src/control/server.js';
import { openSession } from '../../src/daemon/open-session.js';
import { Emulator } from '../../src/emulator/index.js';
import { describeError } from '../../src/errors.js';
import { ensureStateDir } from '../../src/state-dir/lock.js';
import { createLogger } from '../../src/log/create-logger.js';
import { behind, startRecordingProxy } from '../helpers/recording-proxy.js';
import {
  checkInvariants,
  createHarness,
  TEST_KEY,
  testConfig,
  waitUntil,
  type Harness,
} from '../helpers/engine-harness.js';
import { put } from '../helpers/fs.js';
import { harnessTeardown } from '../helpers/teardown.js';

let h: Harness | null = null;
const cleanups = harnessTeardown(() => {
  const x = h;
  h = null;
  return x;
});

async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), prefix));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

/** Everything a person or a log collector could see of an error. */
function everythingOf(err: unknown): string {
  const parts: string[] = [describeError(err), inspect(err, { depth: 10 })];
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    parts.push(String((e as Error).message), String((e as Error).stack));
    try {
      parts.push(JSON.stringify(e));
    } catch {
      // circular: inspect above has it
    }
  }
  return parts.join('\n');
}

async function keyNeverSeen(modes: number[]): Promise<void> {
  const seen: string[] = [];
  const errors: unknown[] = [];

  // 1. A sync through 500s, 429s and resets.
  h = await createHarness({
    watch: false,
    faults: { error500Rate: 0.2, error429Rate: 0.1, retryAfterMs: 20, resetRate: 0.1, seed: 3 },
    config: { api: { maxRetries: 6 } },
  });
  for (let i = 0; i < 15; i += 1) await put(h, `d/f${i}.txt`, `content ${i}`);
  await h.engine.start().catch((e: unknown) => errors.push(e));
  await h.engine.onIdle();
  seen.push(
    JSON.stringify(h.logs),
    JSON.stringify(h.engine.status()),
    JSON.stringify(h.engine.files()),
    inspect(h.engine, { depth: 6 }),
    inspect((h.engine as unknown as { client: unknown }).client, { depth: 6 }),
  );
  await h.close();

  // 2. A server that echoes the key it received in every way a broken proxy might.
  const emulator = await Emulator.start({ apiKey: TEST_KEY });
  cleanups.push(() => emulator.close());
  const proxy = await startRecordingProxy(emulator.url);
  cleanups.push(() => proxy.close());
  let turn = 0;
  proxy.handler = (req, res) => {
    const key = String(req.headers['x-api-key'] ?? '');
    turn += 1;
    switch (modes[turn % modes.length]) {
      case 0:
        res.writeHead(401, { 'content-type': 'application/json', 'request-id': `req_${key}` });
        res.end(
          JSON.stringify({
            type: 'error',
            error: { type: 'authentication_error', message: `invalid x-api-key ${key}` },
          }),
        );
        return true;
      case 1:
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end(`<html>bad gateway for key=${key}</html>`);
        return true;
      case 2:
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`not json, key ${key}`);
        return true;
      case 3:
        res.writeHead(400, { 'content-type': 'application/json', 'x-echo': key });
        res.end(
          JSON.stringify({
            type: 'error',
            error: { type: 'invalid_request_error', message: `bad request from ${key}` },
          }),
        );
        return true;
      default:
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            type: 'error',
            error: { type: 'permission_error', message: `key ${key} may not do this`, details: { key } },
          }),
        );
        return true;
    }
  };
  h = await createHarness({ watch: false, emulator: behind(emulator, proxy.url), config: { api: { maxRetries: 0 } } });
  await put(h, 'a.txt', 'a');
  for (let i = 0; i < 5; i += 1) await h.engine.reconcile().catch((e: unknown) => errors.push(e));
  const client = createFilesClient({ apiKey: TEST_KEY, baseURL: proxy.url, maxRetries: 0 });
  cleanups.push(() => client.close());
  for (let i = 0; i < 5; i += 1) {
    await client.retrieve('file_x').catch((e: unknown) => errors.push(e));
    await client.delete('file_x').catch((e: unknown) => errors.push(e));
    await client.upload({ bytes: Buffer.from('x') }, { filename: 'x.txt' }).catch((e: unknown) => errors.push(e));
    await client.listPage().catch((e: unknown) => errors.push(e));
  }
  seen.push(
    JSON.stringify(h.logs),
    JSON.stringify(h.engine.status()),
    JSON.stringify(h.engine.files()),
    inspect(client, { depth: 6 }),
  );
  for (const e of errors) seen.push(everythingOf(e));

  expect(errors.length).toBeGreaterThan(10);
  const leaks = seen
    .filter((s) => s.includes(TEST_KEY))
    .map((s) => s.slice(Math.max(0, s.indexOf(TEST_KEY) - 120), s.indexOf(TEST_KEY) + 40));
  expect(leaks).toEqual([]);
}

describe('security: the API key', () => {
  it('never appears in the engine logs, errors, status or file listings, even when a server echoes it in error answers', () =>
    keyNeverSeen([0, 1, 3, 4]));

  // The excerpt of a body that is not JSON is redacted like any error text: the key never reaches errors or status.
  it('never appears in errors or status when a 200 answer that is not JSON echoes it', () => keyNeverSeen([2]));

  it('the logger scrubs the key from every line, whatever field or message carries it', () => {
    const key = `sk-ant-api03-${randomBytes(16).toString('hex')}`;
    const lines: string[] = [];
    const logger = createLogger({
      level: 'debug',
      destination: { write: (l: string) => lines.push(l) },
      redact: [key],
      pretty: false,
    });
    logger.info(
      { config: { api: { apiKey: key } }, headers: { 'x-api-key': key, authorization: `Bearer ${key}` } },
      'config',
    );
    logger.warn({ nested: { deeper: [`in an array ${key}`] } }, `in the message ${key}`);
    logger.error({ err: new Error(`an error that quotes ${key}`) }, 'failed');
    logger.child({ bound: key }).info('child binding');
    expect(lines.length).toBe(4);
    for (const l of lines) expect(l).not.toContain(key);
    // The pretty form (a terminal) too.
    const pretty: string[] = [];
    const p = createLogger({
      level: 'info',
      destination: { write: (l: string) => pretty.push(l) },
      redact: [key],
      pretty: true,
    });
    p.info({ apiKey: key }, `pretty ${key}`);
    expect(pretty.join('')).not.toContain(key);
  });
});

describe('security: the state directory and the control socket', () => {
  it('the control socket is 0600, in a 0700 directory created by ensureStateDir', async () => {
    const base = await tempDir('cfs-sec-');
    const stateDir = path.join(base, 's');
    ensureStateDir(stateDir);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    const server = await startControlServer({
      stateDir,
      handler: {
        status: () => ({}) as never,
        reconcile: async () => ({}) as never,
        files: () => [],
        fileIdOf: () => null,
      },
    });
    try {
      const st = lstatSync(server.path);
      expect(st.isSocket()).toBe(true);
      expect(st.mode & 0o777).toBe(0o600);
      expect(path.dirname(server.path)).toBe(stateDir);
    } finally {
      await server.close();
    }
    expect(existsSync(server.path)).toBe(false);
  });

  it.each([0o777, 0o770, 0o757, 0o722])(
    'a state directory others can write (mode %o) is refused with a chmod hint',
    async (mode) => {
      const base = await tempDir('cfs-sec-');
      const stateDir = path.join(base, 's');
      mkdirSync(stateDir);
      chmodSync(stateDir, mode);
      let err: unknown;
      try {
        ensureStateDir(stateDir);
      } catch (e) {
        err = e;
      }
      expect((err as { code?: string }).code).toBe('E_STATE_DIR');
      expect((err as Error).message).toContain(stateDir);
      expect((err as { hint?: string }).hint).toContain(`chmod 700 '${stateDir}'`);
    },
  );

  it.each([0o700, 0o750, 0o755])('a state directory only its owner can write (mode %o) is accepted', async (mode) => {
    const base = await tempDir('cfs-sec-');
    const stateDir = path.join(base, 's');
    mkdirSync(stateDir);
    chmodSync(stateDir, mode);
    expect(() => ensureStateDir(stateDir)).not.toThrow();
  });

  it('the daemon refuses a state directory others can write before it takes the lock or writes anything', async () => {
    const base = await tempDir('cfs-sec-');
    const stateDir = path.join(base, 'state');
    const dir = path.join(base, 'folder');
    mkdirSync(stateDir);
    mkdirSync(dir);
    chmodSync(stateDir, 0o777);
    const config = testConfig(dir, stateDir, 'http://127.0.0.1:9');
    const logger = pino({ level: 'silent' });
    await expect(openSession(config, logger, { watch: false })).rejects.toMatchObject({ code: 'E_STATE_DIR' });
    expect(readdirSync(stateDir)).toEqual([]);
  });
});

describe('security: nothing outside the watched folder is read or sent', () => {
  // Every attempt of an upload reads the file opened once inside the root, never re-opened by path through a link.
  it('a folder swapped for a symlink to outside during an upload attempt: the retry never sends the outside bytes', async () => {
    const outside = await tempDir('cfs-outside-');
    const secret = `SECRET-${randomBytes(8).toString('hex')}`;
    writeFileSync(path.join(outside, 'x.txt'), secret);
    const emulator = await Emulator.start({ apiKey: TEST_KEY });
    cleanups.push(() => emulator.close());
    const proxy = await startRecordingProxy(emulator.url);
    cleanups.push(() => proxy.close());
    h = await createHarness({
      watch: true,
      settleMs: 100,
      emulator: behind(emulator, proxy.url),
      config: { api: { maxRetries: 2 } },
    });
    await h.engine.start();
    const dir = h.dir;
    let swapped = false;
    proxy.handler = (req, res) => {
      if (swapped || req.method !== 'POST' || !req.body.includes('AAAA')) return false;
      // While this attempt is in flight: the folder becomes a link to outside; the attempt fails.
      swapped = true;
      renameSync(path.join(dir, 'sub'), path.join(outside, '..', `${path.basename(outside)}-moved`));
      symlinkSync(outside, path.join(dir, 'sub'));
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'Internal server error' } }));
      return true;
    };
    cleanups.push(() =>
      rm(path.join(outside, '..', `${path.basename(outside)}-moved`), { recursive: true, force: true }),
    );
    await put(h, 'sub/x.txt', 'A'.repeat(secret.length));
    await waitUntil(() => swapped, 20_000, 'the first attempt');
    // The client's retry of that upload (after its backoff), or the upload given up: no fixed wait.
    const uploads = () => proxy.seen.filter((r) => r.method === 'POST' && r.url.startsWith('/v1/files')).length;
    await waitUntil(() => uploads() >= 2 || h!.index.get('sub/x.txt')?.state === 'failed', 20_000, 'the retry');
    await h.engine.onIdle();
    expect(proxy.seen.some((r) => r.body.includes(secret))).toBe(false);
  });

  it('links to outside created while running, with followSymlinks on, are never read', async () => {
    const outside = await tempDir('cfs-outside-');
    const secret = `SECRET-${randomBytes(8).toString('hex')}`;
    writeFileSync(path.join(outside, 'x.txt'), secret);
    mkdirSync(path.join(outside, 'd'));
    writeFileSync(path.join(outside, 'd', 'y.txt'), secret);
    const emulator = await Emulator.start({ apiKey: TEST_KEY });
    cleanups.push(() => emulator.close());
    const proxy = await startRecordingProxy(emulator.url);
    cleanups.push(() => proxy.close());
    h = await createHarness({
      watch: true,
      settleMs: 100,
      emulator: behind(emulator, proxy.url),
      config: { watch: { followSymlinks: true } },
    });
    await put(h, 'inside/real.txt', 'inside');
    await h.engine.start();
    await h.engine.onIdle();
    symlinkSync(path.join(outside, 'x.txt'), path.join(h.dir, 'to-file.txt'));
    symlinkSync(path.join(outside, 'd'), path.join(h.dir, 'to-dir'));
    symlinkSync('../../', path.join(h.dir, 'inside', 'up-up'));
    // Writes behind the links while watched.
    writeFileSync(path.join(outside, 'd', 'z.txt'), secret);
    writeFileSync(path.join(outside, 'x.txt'), `${secret} again`);
    await put(h, 'marker.txt', 'marker');
    await waitUntil(() => h!.engine.fileIdOf('marker.txt') !== null, 20_000, 'marker synced');
    await h.engine.reconcile();
    await h.engine.onIdle();
    for (const r of proxy.seen) expect(r.body.includes(secret)).toBe(false);
    expect(await checkInvariants(h)).toEqual([]);
  });
});

describe("the daemon's own files while it watches (issue 21, symptom 1)", () => {
  it('a hard link to the service env file, to the index, or to a key replaced while running is never uploaded', async () => {
    const key = 'sk-ant-api03-own-file-rotated-0123456789';
    const cfg = await tempDir('cfs-own-cfg-');
    await writeFile(path.join(cfg, 'env'), `ANTHROPIC_API_KEY=${key}-env\n`, { mode: 0o600 });
    await writeFile(path.join(cfg, 'api-key'), `${key}-old\n`, { mode: 0o600 });
    h = await createHarness({
      settleMs: 100,
      ownFiles: () => [
        { path: path.join(cfg, 'api-key'), what: 'the API key file', dir: false },
        { path: cfg, what: 'the configuration folder', dir: true },
      ],
    });
    await h.engine.start();
    await h.engine.onIdle();
    const { link, rename: mv, readdir } = await import('node:fs/promises');
    const index = (await readdir(h.stateDir)).find((n) => n.endsWith('.sqlite'))!;
    await link(path.join(cfg, 'env'), path.join(h.dir, 'env-copy.txt'));
    await link(path.join(h.stateDir, index), path.join(h.dir, 'index-copy.db'));
    // The key rotated as an editor saves it (a new inode), then linked into the folder.
    await writeFile(path.join(cfg, 'new-key'), `${key}-new\n`);
    await mv(path.join(cfg, 'new-key'), path.join(cfg, 'api-key'));
    await link(path.join(cfg, 'api-key'), path.join(h.dir, 'key-after-rotate.txt'));
    await put(h, 'doc.txt', 'a document');
    await waitUntil(() => h!.index.get('doc.txt')?.state === 'synced', 20_000, 'doc.txt synced');
    await waitUntil(() => h!.index.get('key-after-rotate.txt')?.state === 'skipped', 20_000, 'the rotated key skipped');
    await h.engine.onIdle();
    const bodies = await Promise.all(
      h.emulator.files().map(async (f) => (await h!.emulator.content(f.id)) ?? Buffer.alloc(0)),
    );
    expect(bodies.map((b) => b.toString('latin1')).join('\n')).not.toContain(key);
    expect(h.emulator.files()).toHaveLength(1);
    for (const p of ['env-copy.txt', 'index-copy.db', 'key-after-rotate.txt'])
      expect(h.index.get(p), p).toMatchObject({
        state: 'skipped',
        skipReason: expect.stringMatching(/^ignored: it is the /),
      });
  });

  it('a key file written, hard-linked or saved over inside the folder while the daemon runs is never uploaded', async () => {
    const key = 'sk-ant-api03-own-file-live-0123456789';
    h = await createHarness({
      settleMs: 100,
      seed: (dir) => writeFile(path.join(dir, 'api-key'), `${key}\n`, { mode: 0o600 }),
      ownFiles: (dir) => [
        { path: path.join(dir, 'api-key'), what: 'the API key file', dir: false },
        { path: path.join(dir, 'cfg', 'config.json'), what: 'the configuration file', dir: false },
      ],
    });
    await h.engine.start();
    await h.engine.onIdle();
    // Live: a hard link to the key, the key saved over by an editor, the configuration created.
    const { link } = await import('node:fs/promises');
    await link(path.join(h.dir, 'api-key'), path.join(h.dir, 'key-link'));
    await put(h, 'api-key', `${key}\n# rotated\n`);
    await put(h, 'cfg/config.json', '{"api":{"apiKeyFile":"../api-key"}}');
    await put(h, 'doc.txt', 'a document');
    await waitUntil(() => h!.index.get('doc.txt')?.state === 'synced', 20_000, 'doc.txt synced');
    await h.engine.onIdle();
    const bodies = await Promise.all(
      h.emulator.files().map(async (f) => (await h!.emulator.content(f.id))?.toString('utf8') ?? ''),
    );
    expect(bodies.join('\n')).not.toContain(key);
    expect(bodies.join('\n')).not.toContain('apiKeyFile');
    expect(h.emulator.files()).toHaveLength(1);
    expect(h.index.get('key-link')).toMatchObject({
      state: 'skipped',
      skipReason: 'ignored: it is the API key file of claude-filesync',
    });
  });
});
