/**
 * An engine wired to a real temporary folder, a real index file, the real watcher and an
 * emulator on 127.0.0.1 — everything the daemon has except the CLI. Shared by the engine
 * integration tests and the randomized tests.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { Config } from '../../src/config/types.js';
import type { SyncEngine } from '../../src/engine/contract.js';
import { Emulator } from '../../src/emulator/index.js';
import type { FaultConfig } from '../../src/emulator/index.js';
import { IndexStore } from '../../src/store/store.js';
import { createIgnoreMatcher } from '../../src/scan/ignore.js';
import type { OwnFile } from '../../src/scan/own-files.js';
import { composeEngine } from '../../src/daemon/compose-engine.js';
import { ownerTagFor, remoteNameFor } from '../../src/plan/naming.js';

export const TEST_KEY = 'sk-ant-test-key-0123456789';

export interface HarnessOptions {
  watch?: boolean;
  /** The native watching library. @default the daemon's (parcel) */
  nativeBackend?: 'parcel' | 'chokidar';
  settleMs?: number;
  config?: {
    queue?: Partial<Config['queue']>;
    watch?: Partial<Config['watch']>;
    sync?: Partial<Config['sync']>;
    api?: Partial<Config['api']>;
  };
  faults?: Partial<FaultConfig>;
  emulator?: Emulator;
  /** The daemon's own files (Config.ownFiles), given the folder; the state directory is always one. */
  ownFiles?: (dir: string) => OwnFile[];
  /** Runs on the new folder before the engine is composed (files the composition looks at). */
  seed?: (dir: string) => Promise<void>;
}

export interface Harness {
  dir: string;
  stateDir: string;
  emulator: Emulator;
  config: Config;
  engine: SyncEngine;
  index: IndexStore;
  logs: object[];
  /** Starts a fresh engine over the same folder, index file and emulator (a restart). */
  restart(): Promise<void>;
  /** A fresh engine over the same files, not started (for an explicit reconcile). */
  restartWithoutStart(): Promise<void>;
  stopEngine(): Promise<void>;
  close(): Promise<void>;
}

export function testConfig(dir: string, stateDir: string, baseURL: string, o: HarnessOptions = {}): Config {
  return Object.freeze({
    dir,
    stateDir,
    api: {
      target: 'api',
      baseURL,
      shape: 'ga',
      apiKey: TEST_KEY,
      apiKeySource: 'env',
      maxRetries: 4,
      timeoutMs: 30_000,
      ...o.config?.api,
    },
    queue: { concurrency: 4, requestsPerMinute: 100_000, ...o.config?.queue },
    watch: {
      settleMs: o.settleMs ?? 200,
      ignore: [],
      include: [],
      followSymlinks: false,
      usePolling: false,
      pollIntervalMs: 100,
      ...o.config?.watch,
    },
    sync: {
      maxFileBytes: 500 * 1024 * 1024,
      expiresInSeconds: null,
      maxDeletePercent: 50,
      maxDeleteFloor: 10,
      reconcileIntervalMinutes: 0,
      instanceName: null,
      ownerTag: defaultOwnerTag(dir),
      ...o.config?.sync,
    },
    log: { level: 'info' },
    metrics: { listen: null, allowNonLoopback: false },
    configFile: null,
    ...(o.ownFiles ? { ownFiles: o.ownFiles(dir) } : {}),
  }) as Config;
}

/** The owner tag resolveConfig derives for this folder on this host (no sync.instanceName). */
export function defaultOwnerTag(dir: string): string {
  return ownerTagFor({ instanceName: null, hostname: os.hostname(), dir: path.resolve(dir) });
}

export async function createHarness(o: HarnessOptions = {}): Promise<Harness> {
  const base = await mkdtemp(path.join(os.tmpdir(), 'cfs-engine-'));
  const dir = path.join(base, 'folder');
  const stateDir = path.join(base, 'state');
  await import('node:fs/promises').then((fs) => Promise.all([fs.mkdir(dir), fs.mkdir(stateDir, { mode: 0o700 })]));
  const ownEmulator = !o.emulator;
  const emulator =
    o.emulator ?? (await Emulator.start({ apiKey: TEST_KEY, ...(o.faults ? { faults: o.faults } : {}) }));
  const config = testConfig(dir, stateDir, emulator.url, o);
  await o.seed?.(dir);
  const logs: object[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as object) });
  const make = () => {
    const index = IndexStore.open(path.join(stateDir, 'index.sqlite'));
    // Composed as the daemon composes it; the config points the client at the emulator.
    const engine = composeEngine(config, index, logger, {
      watch: o.watch ?? true,
      ...(o.nativeBackend ? { nativeBackend: o.nativeBackend } : {}),
    });
    return { index, engine };
  };
  let current = make();
  const h: Harness = {
    dir,
    stateDir,
    emulator,
    config,
    logs,
    get engine() {
      return current.engine;
    },
    get index() {
      return current.index;
    },
    async restart() {
      await h.stopEngine();
      current = make();
      await current.engine.start();
    },
    async restartWithoutStart() {
      await h.stopEngine().catch(() => undefined);
      current = make();
    },
    async stopEngine() {
      await current.engine.close(2_000);
      current.index.close();
    },
    async close() {
      await h.stopEngine().catch(() => undefined);
      if (ownEmulator) await emulator.close();
      await rm(base, { recursive: true, force: true });
    },
  };
  return h;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Every syncable file under dir (default ignores applied), relative path -> sha256. */
export async function localFiles(dir: string): Promise<Map<string, string>> {
  const matcher = createIgnoreMatcher({ ignore: [], include: [] });
  const out = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(path.join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (matcher.check(r, e.isDirectory()) !== null) continue;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) out.set(r, sha256(await readFile(path.join(dir, r))));
    }
  };
  if (
    await stat(dir).then(
      () => true,
      () => false,
    )
  )
    await walk('');
  return out;
}

/**
 * The invariants after the engine is idle: the remote equals the folder (exactly one remote file
 * per local file, same bytes), no remote file outside the index, nothing queued or pending.
 * Returns a list of violations (empty when all hold).
 */
export async function checkInvariants(
  h: Pick<Harness, 'dir' | 'emulator' | 'index'> & { config?: Config },
): Promise<string[]> {
  const owner = h.config?.sync.ownerTag ?? defaultOwnerTag(h.dir);
  const problems: string[] = [];
  const local = await localFiles(h.dir);
  const remote = h.emulator.files();
  const byName = new Map<string, typeof remote>();
  for (const f of remote) byName.set(f.filename, [...(byName.get(f.filename) ?? []), f]);
  const expectedIds = new Set<string>();
  for (const [p, digest] of local) {
    const name = remoteNameFor(p, digest, owner);
    const copies = byName.get(name) ?? [];
    if (copies.length !== 1) problems.push(`${p}: ${copies.length} remote copies named ${name}`);
    const row = h.index.get(p);
    if (!row) problems.push(`${p}: no index row`);
    else {
      if (row.state !== 'synced') problems.push(`${p}: state ${row.state} (${row.lastError ?? row.skipReason ?? ''})`);
      if (row.sha256 !== digest) problems.push(`${p}: index sha ${row.sha256} != local ${digest}`);
      const f = remote.find((x) => x.id === row.fileId);
      if (!f) problems.push(`${p}: index file id ${row.fileId} not on the remote`);
      else if (f.sha256 !== digest) problems.push(`${p}: remote bytes differ`);
      if (row.fileId) expectedIds.add(row.fileId);
    }
  }
  for (const f of remote)
    if (!expectedIds.has(f.id)) problems.push(`remote ${f.id} (${f.filename}) is not the copy of any local file`);
  for (const r of h.index.all())
    if (!local.has(r.path) && r.state !== 'skipped') problems.push(`index row ${r.path} has no local file`);
  if (h.index.pendingDeletes().length) problems.push(`${h.index.pendingDeletes().length} deletes still queued`);
  if (h.index.intents().length) problems.push(`${h.index.intents().length} intents left`);
  return problems;
}

/** The captured log lines of one event (`{ event: name }`), in order. */
export function events(x: Pick<Harness, 'logs'>, name: string): Record<string, unknown>[] {
  return x.logs.filter((l) => (l as { event?: string }).event === name) as Record<string, unknown>[];
}

/** Polls `fn` until it returns true (no fixed sleeps in assertions). */
export async function waitUntil(
  fn: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}
