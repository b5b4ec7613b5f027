/**
 * Child processes of the bench: the emulator (forked, driven over IPC) and measured programs
 * (spawned; wall time from spawn to exit, peak RSS from what the child reports or from
 * /proc/<pid>/status VmHWM, sampled until it exits).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { EmulatorOptions, EmulatorStats, FaultConfig, StormSettings, StormState } from '../src/emulator/index.js';
import { BENCH_DIST_DIR } from './common.js';

export class EmulatorProcess {
  readonly #child: ChildProcess;
  readonly url: string;
  readonly pid: number;
  #next = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(child: ChildProcess, url: string, pid: number) {
    this.#child = child;
    this.url = url;
    this.pid = pid;
    child.on('message', (raw) => {
      const m = raw as { id?: number; ok?: boolean; value?: unknown; error?: string };
      if (m.id === undefined) return;
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(`emulator process: ${m.error ?? 'failed'}`));
    });
    child.on('exit', () => {
      for (const p of this.#pending.values()) p.reject(new Error('emulator process exited'));
      this.#pending.clear();
    });
  }

  static async start(options: EmulatorOptions): Promise<EmulatorProcess> {
    const child = fork(path.join(BENCH_DIST_DIR, 'emulator-process.js'), [JSON.stringify(options)], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      // Seeding 100,000 files keeps their metadata in this process.
      execArgv: ['--max-old-space-size=4096'],
    });
    const ready = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`emulator process exited with ${code} before it was ready`)));
      child.once('message', (m) => resolve(m as { url: string; pid: number }));
    });
    return new EmulatorProcess(child, ready.url, ready.pid);
  }

  #call<T>(msg: Record<string, unknown>): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#child.send({ ...msg, id });
    });
  }

  stats(): Promise<EmulatorStats> {
    return this.#call({ cmd: 'stats' });
  }
  resetStats(): Promise<void> {
    return this.#call({ cmd: 'resetStats' });
  }
  setFaults(faults: Partial<FaultConfig>): Promise<FaultConfig> {
    return this.#call({ cmd: 'setFaults', faults });
  }
  /** Every /v1 request is answered 429 for settings.durationMs from now. */
  startStorm(settings: StormSettings): Promise<StormState> {
    return this.#call({ cmd: 'startStorm', settings });
  }
  count(): Promise<number> {
    return this.#call({ cmd: 'count' });
  }
  /** Every stored file's name and sha256 (to count lost and duplicated files). */
  contents(): Promise<{ filename: string; sha256: string }[]> {
    return this.#call({ cmd: 'contents' });
  }
  /** Adds every file under root, named as the engine names it (see emulator-process.ts). */
  seedTree(root: string): Promise<number> {
    return this.#call({ cmd: 'seedTree', root });
  }
  seedCount(count: number, prefix = 'seed'): Promise<number> {
    return this.#call({ cmd: 'seedCount', count, prefix });
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.disconnect();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

export interface ChildRun {
  wallMs: number;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Peak RSS in bytes: the child's own report (maxRSS) when it gives one, else VmHWM sampled. */
  peakRssBytes: number | null;
  /** The last line of stdout parsed as JSON, when it is JSON. */
  result: Record<string, unknown> | null;
}

function readVmHwmBytes(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(status);
    return m?.[1] ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Runs `node script args` (or any command when `command` is given) to its end. Fails when it
 * exits non-zero unless `allowFailure`.
 */
export async function runChild(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; command?: string; allowFailure?: boolean; timeoutMs?: number; cwd?: string } = {},
): Promise<ChildRun> {
  const command = options.command ?? process.execPath;
  const started = performance.now();
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: options.cwd,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    // Keep only the tail: a chatty child must not fill the bench's memory.
    stderr = (stderr + d).slice(-64 * 1024);
  });
  let hwm: number | null = null;
  const sampler = setInterval(() => {
    if (child.pid === undefined) return;
    const v = readVmHwmBytes(child.pid);
    if (v !== null) hwm = Math.max(hwm ?? 0, v);
  }, 20);
  const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : null;
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  const wallMs = performance.now() - started;
  clearInterval(sampler);
  if (timer) clearTimeout(timer);
  const lastLine = stdout.trim().split('\n').pop() ?? '';
  let result: Record<string, unknown> | null = null;
  try {
    const parsed = JSON.parse(lastLine) as unknown;
    if (parsed && typeof parsed === 'object') result = parsed as Record<string, unknown>;
  } catch {
    result = null;
  }
  const reported = typeof result?.maxRssBytes === 'number' ? result.maxRssBytes : null;
  if (exitCode !== 0 && !options.allowFailure) {
    throw new Error(
      `${path.basename(args[0] ?? command)} exited with ${exitCode}: ${stderr.slice(-2000) || stdout.slice(-2000)}`,
    );
  }
  return { wallMs, exitCode, stdout, stderr, peakRssBytes: reported ?? hwm, result };
}

/** Runs one task of worker.js (see there) and returns its JSON result with wall time and RSS. */
export function runWorker(
  task: string,
  params: object,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; allowFailure?: boolean } = {},
): Promise<ChildRun> {
  return runChild([path.join(BENCH_DIST_DIR, 'worker.js'), task, JSON.stringify(params)], options);
}
