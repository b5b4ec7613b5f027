/**
 * Runs one generated sequence against a daemon (in-process or a child that crashes), or two
 * daemons on different folders sharing the emulator, with faults, state losses and target
 * switches; then checks the end state; shrinks a failing sequence to a minimal one.
 */
import { Emulator, type StoredFile } from '../../src/emulator/index.js';
import { TEST_KEY } from '../helpers/engine-harness.js';
import { ChildDriver, InProcessDriver, withTimeout, type DaemonDriver } from './daemon-driver.js';
import { applyFsOp, countFiles, isFsOp, unlockAll, type FsOp } from './executor.js';
import { CLEAR_FAULTS, contentFor, type FaultProfile, type Sequence } from './generator.js';
import { checkHosts, checkOtherTarget, type EndState } from './invariants.js';
import { startUploadCounter, type UploadCounter } from './upload-counter.js';
import { sleep } from '../helpers/time.js';

const uploadsOf = (h: Host) => h.home.uploads + (h.away?.uploads ?? 0);

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
    for (const k of ['error500Rate', 'error529Rate', 'error429Rate'] as const)
      if (typeof out[k] === 'number') out[k] = (out[k] as number) / errors;
  }
  return out;
}

export interface RunCounts {
  ops: number;
  /** Folder ops that no longer applied (their file was gone): expected after shrinking. */
  noops: number;
  /** Ops that could not be made here (an unreadable folder for a daemon running as root). */
  skipped: number;
  crashes: number;
  restarts: number;
  /** State directories deleted (then a restart, sometimes `reconcile --adopt`). */
  stateLosses: number;
  /** Switches of the target to the other emulator and back. */
  targetSwitches: number;
  faultChanges: number;
  injected: { e500: number; e529: number; e429: number; reset: number; lost: number; rateLimited: number };
  uploads: number;
  deletes: number;
  /** Upload requests each host sent (retries included) and the bound each was held to. */
  uploadsByHost: number[];
  uploadBoundByHost: number[];
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
  /** What the run could not do here, and why (logged, not a failure). */
  notes: string[];
  counts: RunCounts;
  durationMs: number;
  logTail: string[];
}

const DAEMON_OP_TIMEOUT_MS = 90_000;
/** The daemon's upload concurrency (test config): what a stop or crash may cut off and redo. */
const IN_FLIGHT = 4;

/**
 * How many uploads one folder op may need at most, ideally: one per file whose bytes or path it
 * changes (a burst and a slow write may be caught between writes: one per write or chunk).
 */
async function uploadAllowance(dir: string, op: FsOp): Promise<number> {
  switch (op.op) {
    case 'write':
    case 'append':
    case 'truncate':
    case 'copy':
    case 'editorSave':
    case 'sameStat':
    case 'rename':
      return 1;
    case 'sameStatEdit':
      return 1;
    case 'quickMove':
      // Created, maybe uploaded before the move (its settle is shorter than the delay), then
      // uploaded under its new name.
      return 2;
    case 'burst':
      return op.writes.length;
    case 'slowWrite':
      return op.chunks + 1;
    case 'mkdirTree':
      return op.files.length;
    case 'renameDir':
      return countFiles(dir, op.from);
    default:
      return 0;
  }
}

interface Host {
  n: number;
  driver: DaemonDriver;
  /** The host's way to each target (home, and the other emulator when the run switches). */
  home: UploadCounter;
  away: UploadCounter | null;
  /** Upper bound of the uploads this host needs, before faults (see uploadAllowance). */
  budget: number;
}

/** Uploads past the bound by this much while waiting for idle: a loop, not a slow sync. */
const LOOP_MARGIN = 100;

/**
 * Waits for the host's daemon to be idle, but gives up early when it keeps uploading far past its
 * bound (issue 14 symptom 7: a file that keeps "changing" is uploaded every 200 ms forever).
 */
async function idleOrLoop(h: Host, bound: () => number, timeoutMs: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const loop = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      const n = uploadsOf(h);
      if (n > bound() + LOOP_MARGIN)
        reject(new Error(`${what}: host ${h.n} is in an upload loop (${n} uploads, bound ${bound()})`));
    }, 250);
  });
  try {
    await Promise.race([withTimeout(h.driver.idle(), timeoutMs, what), loop]);
  } finally {
    clearInterval(timer);
  }
}

function injectedTotal(...emulators: (Emulator | null)[]): number {
  let n = 0;
  for (const e of emulators) if (e) n += Object.values(e.stats().injected).reduce((s, x) => s + x, 0);
  return n;
}

export async function runSequence(seq: Sequence, options: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const settleMs = options.settleMs ?? 150;
  const log = options.log ?? (() => undefined);
  const idleTimeoutMs = options.idleTimeoutMs ?? 120_000;
  const emulator = await Emulator.start({ apiKey: TEST_KEY, faults: { seed: seq.seed } });
  const needsOther = seq.ops.some((o) => o.op === 'switchTarget');
  const other = needsOther ? await Emulator.start({ apiKey: TEST_KEY, faults: { seed: seq.seed + 1 } }) : null;
  const problems: string[] = [];
  const notes: string[] = [];
  let beforeReconcile: string[] = [];
  const counts: RunCounts = {
    ops: 0,
    noops: 0,
    skipped: 0,
    crashes: 0,
    restarts: 0,
    stateLosses: 0,
    targetSwitches: 0,
    faultChanges: 0,
    injected: { e500: 0, e529: 0, e429: 0, reset: 0, lost: 0, rateLimited: 0 },
    uploads: 0,
    deletes: 0,
    uploadsByHost: [],
    uploadBoundByHost: [],
    localFiles: 0,
    remoteFiles: 0,
    lost: 0,
    duplicated: 0,
    leaked: 0,
    foreignDeleted: 0,
  };
  const hosts: Host[] = [];
  const logTail: string[] = [];
  try {
    const foreign: StoredFile[] = [];
    const otherForeign: StoredFile[] = [];
    for (const f of seq.foreign)
      foreign.push(await emulator.addFile({ filename: f.filename, bytes: contentFor(f.content) }));
    if (other)
      for (const f of seq.foreign)
        otherForeign.push(await other.addFile({ filename: f.filename, bytes: contentFor(f.content) }));
    // An unreadable folder needs a daemon that chmod 000 stops: as root, a child running as nobody.
    const locks = seq.ops.some((o) => o.op === 'lockDir');
    const asNobody = locks && process.getuid?.() === 0;
    const makeHost = async (n: number): Promise<Host> => {
      const home = await startUploadCounter(emulator.url);
      const away = other ? await startUploadCounter(other.url) : null;
      const driver =
        seq.crashes || asNobody
          ? await ChildDriver.create(home.url, settleMs, { asNobody })
          : await InProcessDriver.create(home.url, settleMs);
      return { n, driver, home, away, budget: 0 };
    };
    hosts.push(await makeHost(1));
    if (seq.second) {
      const h2 = await makeHost(2);
      for (const f of seq.second.files)
        await applyFsOp(h2.driver.dir, { op: 'write', path: f.path, content: f.content });
      h2.budget += seq.second.files.length;
      hosts.push(h2);
    }
    const daemon = <T>(p: Promise<T>, what: string) => withTimeout(p, DAEMON_OP_TIMEOUT_MS, what);
    for (const h of hosts) await daemon(h.driver.start(), `host ${h.n} start`);
    let away = false;

    for (const [i, op] of seq.ops.entries()) {
      counts.ops += 1;
      log(`  #${i} @${Date.now()} ${JSON.stringify(op)}`);
      const h = hosts[(op.host ?? 1) - 1];
      if (!h) {
        counts.noops += 1;
        continue;
      }
      const d = h.driver;
      if (isFsOp(op)) {
        if ((op.op === 'lockDir' || op.op === 'unlockDir') && !d.canLock) {
          counts.skipped += 1;
          const why =
            'unreadable folders skipped: the daemon runs as root in this process, and chmod 000 does not stop root';
          if (!notes.includes(why)) notes.push(why);
          continue;
        }
        const allowance = await uploadAllowance(d.dir, op);
        if ((await applyFsOp(d.dir, op)) === 'noop') counts.noops += 1;
        else h.budget += allowance;
        continue;
      }
      switch (op.op) {
        case 'wait':
          await sleep(op.ms);
          break;
        case 'faults':
          counts.faultChanges += 1;
          for (const e of [emulator, other])
            e?.setFaults({ ...CLEAR_FAULTS, ...scaleFaults(op.set, options.faultScale ?? 1) });
          break;
        case 'clearFaults':
          for (const e of [emulator, other]) e?.setFaults(CLEAR_FAULTS);
          break;
        case 'restart':
          counts.restarts += 1;
          h.budget += IN_FLIGHT;
          await daemon(d.restart(), `restart at op #${i}`);
          break;
        case 'crash':
          counts.crashes += 1;
          h.budget += IN_FLIGHT;
          await daemon(d.crash(op.waitReady), `crash and restart at op #${i}`);
          break;
        case 'loseState': {
          counts.stateLosses += 1;
          h.budget += IN_FLIGHT;
          const bound = () => h.budget + injectedTotal(emulator, other);
          if (op.settled) await idleOrLoop(h, bound, DAEMON_OP_TIMEOUT_MS, `idle before losing the state at op #${i}`);
          const u0 = uploadsOf(h);
          const f0 = injectedTotal(emulator, other);
          await daemon(d.loseState(op.adopt), `state loss at op #${i}`);
          if (op.settled) {
            // Everything was remote before the loss: the new index must adopt it, not upload it.
            await idleOrLoop(h, bound, DAEMON_OP_TIMEOUT_MS, `idle after losing the state at op #${i}`);
            const redone = uploadsOf(h) - u0;
            const faults = injectedTotal(emulator, other) - f0;
            if (redone > faults)
              problems.push(
                `host ${h.n}: the state dir lost at op #${i} (all synced), ${op.adopt ? 'reconcile --adopt and ' : ''}the restart uploaded ${redone} files again (${faults} faults in that time)`,
              );
          }
          break;
        }
        case 'switchTarget': {
          if (!h.away || (op.to === 'other') === away) {
            counts.noops += 1;
            break;
          }
          counts.targetSwitches += op.to === 'other' ? 1 : 0;
          // The other target starts empty: everything is uploaded there once. Back home, nothing
          // but what changed meanwhile (already counted by those ops).
          h.budget += IN_FLIGHT + (op.to === 'other' ? await countFiles(d.dir, '') : 0);
          await daemon(
            d.switchTarget(op.to === 'other' ? h.away.url : h.home.url),
            `switch to the ${op.to} target at op #${i}`,
          );
          away = op.to === 'other';
          break;
        }
      }
    }

    // The end: every folder readable, back on the home target, faults off, wait for idle; look
    // (a failure only with strictLive); one reconcile per host; the invariants.
    for (const h of hosts) await unlockAll(h.driver.dir);
    if (away) {
      const h1 = hosts[0] as Host;
      h1.budget += IN_FLIGHT;
      await daemon(h1.driver.switchTarget(h1.home.url), 'switch back to the home target');
    }
    for (const e of [emulator, other]) e?.setFaults(CLEAR_FAULTS);
    const views = () => hosts.map((h) => ({ dir: h.driver.dir, index: h.driver.openIndex() }));
    const boundOf = (h: Host) => () => h.budget + injectedTotal(emulator, other);
    try {
      for (const h of hosts) await idleOrLoop(h, boundOf(h), idleTimeoutMs, `host ${h.n} idle after the sequence`);
      // Let the watcher deliver the last events before judging the live path.
      await sleep(settleMs * 3);
      for (const h of hosts) await idleOrLoop(h, boundOf(h), idleTimeoutMs, `host ${h.n} idle after the sequence`);
      const v = views();
      try {
        beforeReconcile = (await checkHosts(v, emulator, foreign)).problems;
      } finally {
        for (const x of v) x.index.close();
      }
    } catch (err) {
      // A daemon that never settles would only time out again in the reconcile: stop here.
      throw new Error(`the daemon did not become idle with faults off: ${(err as Error).message}`);
    }
    for (const h of hosts) await daemon(h.driver.reconcile(), `host ${h.n} final reconcile`);
    for (const h of hosts) await daemon(h.driver.stop(), `host ${h.n} stop`);
    const v = views();
    let end: EndState;
    try {
      end = await checkHosts(v, emulator, foreign);
    } finally {
      for (const x of v) x.index.close();
    }
    problems.push(...end.problems);
    if (other) problems.push(...checkOtherTarget(other, otherForeign));
    for (const h of hosts) if (h.driver instanceof ChildDriver) problems.push(...h.driver.problems);
    // Efficiency: no host uploads more than its ops need plus one per injected fault (each fault
    // can cost one more attempt; faults are counted over both emulators and every route).
    const faults = injectedTotal(emulator, other);
    for (const h of hosts) {
      const sent = uploadsOf(h);
      counts.uploadsByHost.push(sent);
      counts.uploadBoundByHost.push(h.budget + faults);
      if (sent > h.budget + faults)
        problems.push(
          `host ${h.n} sent ${sent} uploads, more than its bound ${h.budget + faults} (${h.budget} its ops and restarts may need + ${faults} injected faults)`,
        );
    }
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
    const otherStats = other?.stats();
    for (const k of Object.keys(counts.injected) as (keyof RunCounts['injected'])[])
      counts.injected[k] = stats.injected[k] + (otherStats?.injected[k] ?? 0);
    counts.uploads = stats.byRoute.upload + (otherStats?.byRoute.upload ?? 0);
    counts.deletes = stats.byRoute.delete + (otherStats?.byRoute.delete ?? 0);
    if (counts.uploadsByHost.length === 0) counts.uploadsByHost = hosts.map(uploadsOf);
    if (problems.length || beforeReconcile.length) {
      for (const h of hosts) {
        const tail = await h.driver.logTail(hosts.length > 1 ? 200 : 400).catch(() => []);
        logTail.push(...(hosts.length > 1 ? tail.map((l) => `host${h.n} ${l}`) : tail));
      }
    }
    for (const h of hosts) {
      await h.driver.close().catch(() => undefined);
      await h.home.close();
      await h.away?.close();
    }
    await emulator.close();
    await other?.close();
  }
  if (options.strictLive) problems.push(...beforeReconcile.map((p) => `live path (before the final reconcile): ${p}`));
  return {
    seed: seq.seed,
    ok: problems.length === 0,
    problems,
    beforeReconcile,
    notes,
    counts,
    durationMs: Date.now() - started,
    logTail,
  };
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
