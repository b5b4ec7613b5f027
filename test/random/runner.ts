/**
 * Runs one generated sequence against a daemon (in-process or a child that crashes) and the
 * emulator with faults, then checks the end state; shrinks a failing sequence to a minimal one.
 */
import { Emulator, type StoredFile } from '../../src/emulator/index.js';
import { TEST_KEY } from '../helpers/engine-harness.js';
import { ChildDriver, InProcessDriver, withTimeout, type DaemonDriver } from './daemon-driver.js';
import { applyFsOp, isFsOp } from './executor.js';
import { CLEAR_FAULTS, contentFor, type FaultProfile, type Sequence } from './generator.js';
import { checkEndState, type EndState } from './invariants.js';

export interface RunOptions {
  /** @default 150 */
  settleMs?: number;
  /** Progress lines (one per op); silent by default. */
  log?: (line: string) => void;
  /** How long the daemon may take to become idle once faults are off. @default 120000 */
  idleTimeoutMs?: number;
  /**
   * Multiplies the fault rates of every `faults` op (capped so that each rate stays <= 1 and the
   * three error rates sum to <= 1); the sequence itself is unchanged, so seeds stay comparable.
   * @default 1
   */
  faultScale?: number;
  /** Count what the live path left for the final reconcile as a failure too. @default false */
  strictLive?: boolean;
}

/** Scales a fault profile's rates (see RunOptions.faultScale). */
export function scaleFaults(set: FaultProfile, scale: number): FaultProfile {
  if (scale === 1) return set;
  const out: { -readonly [K in keyof FaultProfile]: FaultProfile[K] } = { ...set };
  for (const k of ['error500Rate', 'error529Rate', 'error429Rate', 'resetRate', 'lostResponseRate'] as const) {
    const v = out[k];
    if (typeof v === 'number') out[k] = Math.min(1, v * scale);
  }
  const errors = (out.error500Rate ?? 0) + (out.error529Rate ?? 0) + (out.error429Rate ?? 0);
  if (errors > 1) {
    for (const k of ['error500Rate', 'error529Rate', 'error429Rate'] as const) if (typeof out[k] === 'number') out[k] = (out[k] as number) / errors;
  }
  return out;
}

export interface RunCounts {
  ops: number;
  /** Folder ops that no longer applied (their file was gone): expected after shrinking. */
  noops: number;
  crashes: number;
  restarts: number;
  faultChanges: number;
  injected: { e500: number; e529: number; e429: number; reset: number; lost: number; rateLimited: number };
  uploads: number;
  deletes: number;
  localFiles: number;
  remoteFiles: number;
  lost: number;
  duplicated: number;
  leaked: number;
  foreignDeleted: number;
}

export interface RunResult {
  seed: number;
  ok: boolean;
  /** Invariants violated after the final reconcile: a bug. */
  problems: string[];
  /** Violated once idle but before the final reconcile: the live path missed something (reported). */
  beforeReconcile: string[];
  counts: RunCounts;
  durationMs: number;
  logTail: string[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const DAEMON_OP_TIMEOUT_MS = 90_000;

export async function runSequence(seq: Sequence, options: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const settleMs = options.settleMs ?? 150;
  const log = options.log ?? (() => undefined);
  const idleTimeoutMs = options.idleTimeoutMs ?? 120_000;
  const emulator = await Emulator.start({ apiKey: TEST_KEY, faults: { seed: seq.seed } });
  const problems: string[] = [];
  let beforeReconcile: string[] = [];
  const counts: RunCounts = {
    ops: 0,
    noops: 0,
    crashes: 0,
    restarts: 0,
    faultChanges: 0,
    injected: { e500: 0, e529: 0, e429: 0, reset: 0, lost: 0, rateLimited: 0 },
    uploads: 0,
    deletes: 0,
    localFiles: 0,
    remoteFiles: 0,
    lost: 0,
    duplicated: 0,
    leaked: 0,
    foreignDeleted: 0,
  };
  let driver: DaemonDriver | null = null;
  let logTail: string[] = [];
  try {
    const foreign: StoredFile[] = [];
    for (const f of seq.foreign) foreign.push(await emulator.addFile({ filename: f.filename, bytes: contentFor(f.content) }));
    driver = seq.crashes ? await ChildDriver.create(emulator, settleMs) : await InProcessDriver.create(emulator, settleMs);
    const d = driver;
    const daemon = (p: Promise<void>, what: string) => withTimeout(p, DAEMON_OP_TIMEOUT_MS, what);
    await daemon(d.start(), 'daemon start');

    for (const [i, op] of seq.ops.entries()) {
      counts.ops += 1;
      log(`  #${i} @${Date.now()} ${JSON.stringify(op)}`);
      if (isFsOp(op)) {
        if ((await applyFsOp(d.dir, op)) === 'noop') counts.noops += 1;
        continue;
      }
      switch (op.op) {
        case 'wait':
          await sleep(op.ms);
          break;
        case 'faults':
          counts.faultChanges += 1;
          emulator.setFaults({ ...CLEAR_FAULTS, ...scaleFaults(op.set, options.faultScale ?? 1) });
          break;
        case 'clearFaults':
          emulator.setFaults(CLEAR_FAULTS);
          break;
        case 'restart':
          counts.restarts += 1;
          await daemon(d.restart(), `restart at op #${i}`);
          break;
        case 'crash':
          counts.crashes += 1;
          await daemon(d.crash(op.waitReady), `crash and restart at op #${i}`);
          break;
      }
    }

    // The end: faults off, wait for idle; look (report only); one reconcile; the invariants.
    emulator.setFaults(CLEAR_FAULTS);
    try {
      await withTimeout(d.idle(), idleTimeoutMs, 'idle after the sequence');
      // Let the watcher deliver the last events before judging the live path.
      await sleep(settleMs * 3);
      await withTimeout(d.idle(), idleTimeoutMs, 'idle after the sequence');
      const index = d.openIndex();
      try {
        beforeReconcile = (await checkEndState(d.dir, emulator, index, foreign)).problems;
        for (const it of index.intents()) beforeReconcile.push(`intent left: ${JSON.stringify(it)}`);
      } finally {
        index.close();
      }
    } catch (err) {
      problems.push(`the daemon did not become idle with faults off: ${(err as Error).message}`);
    }
    await daemon(d.reconcile(), 'final reconcile');
    await daemon(d.stop(), 'daemon stop');
    const index = d.openIndex();
    let end: EndState;
    try {
      end = await checkEndState(d.dir, emulator, index, foreign);
    } finally {
      index.close();
    }
    problems.push(...end.problems);
    if (d instanceof ChildDriver) problems.push(...d.problems);
    Object.assign(counts, {
      localFiles: end.localFiles,
      remoteFiles: end.remoteFiles,
      lost: end.lost.length,
      duplicated: end.duplicated.length,
      leaked: end.leaked.length,
      foreignDeleted: end.foreignDeleted.length,
    });
  } catch (err) {
    problems.push(`run aborted: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    const stats = emulator.stats();
    counts.injected = stats.injected;
    counts.uploads = stats.byRoute.upload;
    counts.deletes = stats.byRoute.delete;
    if ((problems.length || beforeReconcile.length) && driver) logTail = await driver.logTail(400).catch(() => []);
    await driver?.close().catch(() => undefined);
    await emulator.close();
  }
  if (options.strictLive) problems.push(...beforeReconcile.map((p) => `live path (before the final reconcile): ${p}`));
  return { seed: seq.seed, ok: problems.length === 0, problems, beforeReconcile, counts, durationMs: Date.now() - started, logTail };
}

export function totalInjected(c: RunCounts): number {
  return Object.values(c.injected).reduce((s, n) => s + n, 0);
}

/**
 * Greedy shrinking (ddmin-like): drop chunks of ops, halving the chunk size, keeping every removal
 * after which the sequence still fails. `run` is runSequence in practice (each try a full run).
 */
export async function shrink<R extends { ok: boolean }>(
  seq: Sequence,
  run: (s: Sequence) => Promise<R>,
  onStep: (ops: number, tries: number) => void = () => undefined,
): Promise<{ seq: Sequence; result: R; tries: number }> {
  let best = seq;
  let bestResult = await run(seq);
  let tries = 1;
  if (bestResult.ok) return { seq, result: bestResult, tries };
  let chunk = Math.max(1, Math.floor(best.ops.length / 2));
  for (;;) {
    let removedAny = false;
    for (let start = 0; start < best.ops.length; ) {
      const candidate: Sequence = { ...best, ops: [...best.ops.slice(0, start), ...best.ops.slice(start + chunk)] };
      const r = await run(candidate);
      tries += 1;
      if (!r.ok) {
        best = candidate;
        bestResult = r;
        removedAny = true;
        onStep(best.ops.length, tries);
      } else start += chunk;
    }
    if (chunk === 1 && !removedAny) break;
    if (chunk > 1) chunk = Math.max(1, Math.floor(chunk / 2));
  }
  return { seq: best, result: bestResult, tries };
}
