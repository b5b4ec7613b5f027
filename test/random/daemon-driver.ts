/**
 * The daemon under test, two ways: in-process (the engine harness; restarts are graceful) and in a
 * child process (test/random/child.ts; crashes are a real SIGKILL). The randomized runner drives
 * both through this one interface.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Emulator } from '../../src/emulator/index.js';
import { IndexStore } from '../../src/index/store.js';
import { createHarness, type Harness } from '../helpers/engine-harness.js';
import type { ChildArgs, ChildCommand, ChildEvent } from './child.js';

export interface DaemonDriver {
  readonly dir: string;
  /** Starts the daemon; resolves once its start reconcile is done. */
  start(): Promise<void>;
  /** Graceful stop, then a fresh daemon on the same state. */
  restart(): Promise<void>;
  /** SIGKILL and a fresh daemon; waits for it to be ready only when asked. */
  crash(waitReady: boolean): Promise<void>;
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
  readonly #h: Harness;
  private constructor(h: Harness) {
    this.#h = h;
  }

  static async create(emulator: Emulator, settleMs: number): Promise<InProcessDriver> {
    return new InProcessDriver(await createHarness({ watch: true, settleMs, emulator }));
  }

  get dir(): string {
    return this.#h.dir;
  }
  start(): Promise<void> {
    return this.#h.engine.start();
  }
  restart(): Promise<void> {
    return this.#h.restart();
  }
  crash(): Promise<void> {
    throw new Error('crashes need the child-process driver (crash mode)');
  }
  idle(): Promise<void> {
    return this.#h.engine.onIdle();
  }
  async reconcile(): Promise<void> {
    await this.#h.engine.reconcile({ allowMassDelete: true });
    await this.#h.engine.onIdle();
  }
  stop(): Promise<void> {
    return this.#h.stopEngine();
  }
  openIndex(): IndexStore {
    return IndexStore.open(path.join(this.#h.stateDir, 'index.sqlite'), { readonly: true });
  }
  async logTail(lines: number): Promise<string[]> {
    return this.#h.logs.slice(-lines).map((l) => JSON.stringify(l));
  }
  close(): Promise<void> {
    return this.#h.close();
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

  private constructor(base: string, args: ChildArgs) {
    this.#base = base;
    this.#args = args;
  }

  static async create(emulator: Emulator, settleMs: number): Promise<ChildDriver> {
    const base = await mkdtemp(path.join(os.tmpdir(), 'cfs-random-'));
    const args: ChildArgs = { url: emulator.url, dir: path.join(base, 'folder'), stateDir: path.join(base, 'state'), settleMs, logFile: path.join(base, 'daemon.log') };
    await mkdir(args.dir);
    await mkdir(args.stateDir, { mode: 0o700 });
    return new ChildDriver(base, args);
  }

  get dir(): string {
    return this.#args.dir;
  }

  #spawn(): void {
    const child = fork(childScript(), [JSON.stringify(this.#args)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
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
          if (signal !== 'SIGKILL' && code !== 0) this.problems.push(`daemon exited by itself (code ${code}, signal ${signal}): ${stderr.slice(-2000)}`);
        }
        // A waiter for this child will never be answered.
        for (const w of this.#waiters.splice(0)) w.resolve({ ev: 'error', message: `daemon exited (code ${code}, signal ${signal})` });
        resolve();
      });
    });
    this.#child = child;
  }

  #request(cmd: ChildCommand, answer: ChildEvent['ev']): Promise<ChildEvent> {
    const child = this.#child;
    if (!child) return Promise.reject(new Error(`daemon is not running (wanted ${cmd.cmd})`));
    const p = new Promise<ChildEvent>((resolve) => this.#waiters.push({ match: (e) => e.ev === answer || e.ev === 'error', resolve }));
    child.send(cmd);
    return p.then((e) => {
      if (e.ev === 'error') throw new Error(e.message);
      return e;
    });
  }

  #ready(): Promise<ChildEvent> {
    return new Promise<ChildEvent>((resolve) => this.#waiters.push({ match: (e) => e.ev === 'ready' || e.ev === 'error', resolve })).then((e) => {
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
    return IndexStore.open(path.join(this.#args.stateDir, 'index.sqlite'), { readonly: true });
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
