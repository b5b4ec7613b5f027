/**
 * The daemon under test, two ways: in-process (the engine harness; restarts are graceful) and in a
 * child process (test/random/child.ts; crashes are a real SIGKILL). The randomized runner drives
 * both through this one interface.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { composeEngine } from '../../src/daemon/compose-engine.js';
import { IndexStore } from '../../src/store/store.js';
import type { SyncEngine } from '../../src/engine/contract.js';
import { testConfig } from '../helpers/engine-harness.js';
import type { ChildArgs, ChildCommand, ChildEvent } from './child.js';
import { indexPathFor } from './index-path.js';

export interface DaemonDriver {
  readonly dir: string;
  readonly stateDir: string;
  /** Whether a folder made mode 000 is unreadable to this daemon (not for root). */
  readonly canLock: boolean;
  /** Starts the daemon; resolves once its start reconcile is done. */
  start(): Promise<void>;
  /** Graceful stop, then a fresh daemon on the same state. */
  restart(): Promise<void>;
  /** SIGKILL and a fresh daemon; waits for it to be ready only when asked. */
  crash(waitReady: boolean): Promise<void>;
  /**
   * Stop, delete the state directory, start again on an empty one; `adoptFirst`: a one-shot
   * `reconcile --adopt` (no watcher) runs before the daemon starts, as a user would run it.
   */
  loseState(adoptFirst: boolean): Promise<void>;
  /** Stop, point the daemon at another API base URL (same key and state dir), start. */
  switchTarget(url: string): Promise<void>;
  /** Resolves when the daemon reports idle. */
  idle(): Promise<void>;
  /** One full reconcile (mass deletes allowed: the user confirmed), then idle. */
  reconcile(): Promise<void>;
  /** Stops the daemon for good (gracefully). */
  stop(): Promise<void>;
  /** The index, opened read-only for checking (close it after use). */
  openIndex(): IndexStore;
  /** The last lines of the daemon's log, for a failure report. */
  logTail(lines: number): Promise<string[]>;
  close(): Promise<void>;
}

const isRoot = process.getuid?.() === 0;

export const NOBODY = 65534;

async function makeBase(): Promise<{ base: string; dir: string; stateDir: string }> {
  const base = await mkdtemp(path.join(os.tmpdir(), 'cfs-random-'));
  const dir = path.join(base, 'folder');
  const stateDir = path.join(base, 'state');
  await mkdir(dir);
  await mkdir(stateDir, { mode: 0o700 });
  return { base, dir, stateDir };
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}

export class InProcessDriver implements DaemonDriver {
  readonly #base: string;
  readonly dir: string;
  readonly stateDir: string;
  readonly #settleMs: number;
  readonly #logs: object[] = [];
  readonly #logger = pino({ level: 'debug' }, { write: (line: string) => this.#logs.push(JSON.parse(line) as object) });
  #url: string;
  #current: { index: IndexStore; engine: SyncEngine } | null = null;
  /** As root, chmod 000 stops nobody: this daemon reads every folder. */
  readonly canLock = !isRoot;

  private constructor(b: { base: string; dir: string; stateDir: string }, url: string, settleMs: number) {
    this.#base = b.base;
    this.dir = b.dir;
    this.stateDir = b.stateDir;
    this.#url = url;
    this.#settleMs = settleMs;
  }

  static async create(target: string | { url: string }, settleMs: number): Promise<InProcessDriver> {
    return new InProcessDriver(await makeBase(), typeof target === 'string' ? target : target.url, settleMs);
  }

  #engine(): SyncEngine {
    if (!this.#current) throw new Error('the daemon is not running');
    return this.#current.engine;
  }
  async start(): Promise<void> {
    const config = testConfig(this.dir, this.stateDir, this.#url, { settleMs: this.#settleMs });
    const index = IndexStore.open(indexPathFor(this.stateDir, this.#url));
    // Composed as the daemon composes it; the config points the client at the URL with TEST_KEY.
    const engine = composeEngine(config, index, this.#logger, { watch: true });
    this.#current = { index, engine };
    await engine.start();
  }
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
  crash(): Promise<void> {
    throw new Error('crashes need the child-process driver (crash mode)');
  }
  async loseState(adoptFirst: boolean): Promise<void> {
    await this.stop();
    await rm(this.stateDir, { recursive: true, force: true });
    await mkdir(this.stateDir, { mode: 0o700 });
    if (adoptFirst) {
      const config = testConfig(this.dir, this.stateDir, this.#url, { settleMs: this.#settleMs });
      const index = IndexStore.open(indexPathFor(this.stateDir, this.#url));
      const once = composeEngine(config, index, this.#logger, { watch: false });
      try {
        await once.reconcile({ adopt: true });
        await once.onIdle();
      } finally {
        await once.close(2_000);
        index.close();
      }
    }
    await this.start();
  }
  async switchTarget(url: string): Promise<void> {
    await this.stop();
    this.#url = url;
    await this.start();
  }
  idle(): Promise<void> {
    return this.#engine().onIdle();
  }
  async reconcile(): Promise<void> {
    await this.#engine().reconcile({ allowMassDelete: true });
    await this.#engine().onIdle();
  }
  async stop(): Promise<void> {
    const c = this.#current;
    if (!c) return;
    this.#current = null;
    await c.engine.close(2_000);
    c.index.close();
  }
  openIndex(): IndexStore {
    return IndexStore.open(indexPathFor(this.stateDir, this.#url), { readonly: true });
  }
  async logTail(lines: number): Promise<string[]> {
    return this.#logs.slice(-lines).map((l) => JSON.stringify(l));
  }
  async close(): Promise<void> {
    await this.stop().catch(() => undefined);
    await rm(this.#base, { recursive: true, force: true });
  }
}

/** dist/test/random/child.js next to this file once compiled; from the TS sources, the built copy. */
export function childScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const besideMe = path.join(here, 'child.js');
  if (existsSync(besideMe)) return besideMe;
  const built = path.resolve(here, '../../dist/test/random/child.js');
  if (existsSync(built)) return built;
  throw new Error(`The crash tests run the daemon from ${built}: build it first (npm run build; npm test does).`);
}

export class ChildDriver implements DaemonDriver {
  readonly #base: string;
  readonly #args: ChildArgs;
  #child: ChildProcess | null = null;
  #events: ChildEvent[] = [];
  #waiters: { match: (e: ChildEvent) => boolean; resolve: (e: ChildEvent) => void }[] = [];
  #exited: Promise<void> = Promise.resolve();
  /** Problems seen outside a request: an unexpected exit, an error event. */
  readonly problems: string[] = [];

  readonly #asNobody: boolean;

  private constructor(base: string, args: ChildArgs, asNobody: boolean) {
    this.#base = base;
    this.#args = args;
    this.#asNobody = asNobody;
  }

  /**
   * `asNobody` (root only): the child runs as uid/gid nobody, so that a folder made mode 000 by
   * the test (root) is really unreadable to the daemon (docs/bad-input.md: root reads everything).
   */
  static async create(
    target: string | { url: string },
    settleMs: number,
    options: { asNobody?: boolean } = {},
  ): Promise<ChildDriver> {
    const url = typeof target === 'string' ? target : target.url;
    const b = await makeBase();
    const asNobody = (options.asNobody ?? false) && isRoot;
    const args: ChildArgs = {
      url,
      dir: b.dir,
      stateDir: b.stateDir,
      settleMs,
      logFile: path.join(b.base, 'daemon.log'),
    };
    await writeFile(args.logFile, '');
    const driver = new ChildDriver(b.base, args, asNobody);
    if (asNobody) {
      await chmod(b.base, 0o755);
      for (const p of [b.stateDir, args.logFile]) chownSync(p, NOBODY, NOBODY);
    }
    return driver;
  }

  get dir(): string {
    return this.#args.dir;
  }
  get stateDir(): string {
    return this.#args.stateDir;
  }
  get canLock(): boolean {
    return this.#asNobody || !isRoot;
  }

  #spawn(): void {
    const ids = this.#asNobody ? { uid: NOBODY, gid: NOBODY } : {};
    const child = fork(childScript(), [JSON.stringify(this.#args)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      ...ids,
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('message', (e: ChildEvent) => {
      this.#events.push(e);
      if (e.ev === 'error') this.problems.push(`daemon error: ${e.message}`);
      for (const w of [...this.#waiters]) {
        if (w.match(e)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    });
    this.#exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        if (this.#child === child) {
          this.#child = null;
          if (signal !== 'SIGKILL' && code !== 0)
            this.problems.push(`daemon exited by itself (code ${code}, signal ${signal}): ${stderr.slice(-2000)}`);
        }
        // A waiter for this child will never be answered.
        for (const w of this.#waiters.splice(0))
          w.resolve({ ev: 'error', message: `daemon exited (code ${code}, signal ${signal})` });
        resolve();
      });
    });
    this.#child = child;
  }

  #request(cmd: ChildCommand, answer: ChildEvent['ev']): Promise<ChildEvent> {
    const child = this.#child;
    if (!child) return Promise.reject(new Error(`daemon is not running (wanted ${cmd.cmd})`));
    const p = new Promise<ChildEvent>((resolve) =>
      this.#waiters.push({ match: (e) => e.ev === answer || e.ev === 'error', resolve }),
    );
    child.send(cmd);
    return p.then((e) => {
      if (e.ev === 'error') throw new Error(e.message);
      return e;
    });
  }

  #ready(): Promise<ChildEvent> {
    return new Promise<ChildEvent>((resolve) =>
      this.#waiters.push({ match: (e) => e.ev === 'ready' || e.ev === 'error', resolve }),
    ).then((e) => {
      if (e.ev === 'error') throw new Error(e.message);
      return e;
    });
  }

  async start(): Promise<void> {
    const ready = this.#ready();
    this.#spawn();
    await ready;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async crash(waitReady: boolean): Promise<void> {
    const child = this.#child;
    if (child) {
      this.#child = null;
      child.kill('SIGKILL');
      await this.#exited;
    }
    if (waitReady) await this.start();
    else this.#spawn();
  }

  async loseState(adoptFirst: boolean): Promise<void> {
    await this.stop();
    await rm(this.#args.stateDir, { recursive: true, force: true });
    await mkdir(this.#args.stateDir, { mode: 0o700 });
    if (this.#asNobody) chownSync(this.#args.stateDir, NOBODY, NOBODY);
    this.#args.adoptFirst = adoptFirst;
    try {
      await this.start();
    } finally {
      delete this.#args.adoptFirst;
    }
  }

  async switchTarget(url: string): Promise<void> {
    await this.stop();
    this.#args.url = url;
    await this.start();
  }

  async idle(): Promise<void> {
    await this.#request({ cmd: 'idle' }, 'idle');
  }

  async reconcile(): Promise<void> {
    await this.#request({ cmd: 'reconcile' }, 'reconciled');
  }

  async stop(): Promise<void> {
    if (!this.#child) return;
    const exited = this.#exited;
    await this.#request({ cmd: 'close' }, 'closed').catch(() => undefined);
    await withTimeout(exited, 15_000, 'daemon exit').catch(() => {
      this.#child?.kill('SIGKILL');
    });
    await exited;
  }

  openIndex(): IndexStore {
    return IndexStore.open(indexPathFor(this.#args.stateDir, this.#args.url), { readonly: true });
  }

  async logTail(lines: number): Promise<string[]> {
    const text = await readFile(this.#args.logFile, 'utf8').catch(() => '');
    return text.trimEnd().split('\n').slice(-lines);
  }

  async close(): Promise<void> {
    if (this.#child) {
      this.#child.kill('SIGKILL');
      await this.#exited;
    }
    await rm(this.#base, { recursive: true, force: true });
  }
}
