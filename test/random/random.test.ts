/**
 * Randomized sync testing for CI: a fixed set of seeds, each a random sequence of folder edits,
 * emulator faults, graceful restarts and (crash seeds) SIGKILLs of a daemon in a child process,
 * checked against the invariants once idle. A failing seed prints its whole sequence; replay it
 * with `npm run test:random -- --seed N [--crashes]`. More seeds: `npm run test:random -- --runs N`.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Emulator } from '../../src/emulator/index.js';
import { IndexStore } from '../../src/index/store.js';
import { remoteNameFor } from '../../src/sync/naming.js';
import { TEST_KEY } from '../helpers/engine-harness.js';
import { applyFsOp, isFsOp } from './executor.js';
import { contentFor, formatSequence, generateSequence, ISSUE14_SEEDS_FROM, mulberry32, type Op, type Sequence } from './generator.js';
import { checkEndState } from './invariants.js';
import { runSequence, scaleFaults, shrink, type RunResult } from './runner.js';

const IN_PROCESS_SEEDS = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233];
const CRASH_SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
/** Seeds that also draw quick moves and same-stat edits (issue 14, symptoms 1 and 8). */
const ISSUE14_SEEDS = [0, 1, 2, 3].map((i) => ISSUE14_SEEDS_FROM + i);
const OPS = 30;

function explain(seq: Sequence, r: RunResult): string {
  return [
    `seed ${seq.seed} failed; replay: npm run test:random -- --seed ${seq.seed}${seq.crashes ? ' --crashes' : ''} --ops ${OPS}`,
    ...r.problems.map((p) => `problem: ${p}`),
    formatSequence(seq),
    ...r.logTail,
  ].join('\n');
}

describe('randomized sync: edits and faults, in-process daemon with restarts', () => {
  it.each(IN_PROCESS_SEEDS)('seed %i: remote equals the folder, nothing lost, duplicated or leaked', async (seed) => {
    const seq = generateSequence(seed, { ops: OPS });
    const r = await runSequence(seq);
    expect(r.problems, explain(seq, r)).toEqual([]);
    expect(r.counts.lost + r.counts.duplicated + r.counts.leaked + r.counts.foreignDeleted).toBe(0);
    expect(r.counts.ops).toBe(seq.ops.length);
  }, 180_000);
});

describe('randomized sync: quick moves and same-stat edits among the rest', () => {
  it.each(ISSUE14_SEEDS)('seed %i: remote equals the folder, also before the final reconcile', async (seed) => {
    const seq = generateSequence(seed, { ops: OPS });
    const r = await runSequence(seq, { strictLive: true });
    expect(r.problems, explain(seq, r)).toEqual([]);
    expect(r.counts.lost + r.counts.duplicated + r.counts.leaked + r.counts.foreignDeleted).toBe(0);
  }, 180_000);
});

describe('randomized sync: edits, faults and SIGKILLs of the daemon process', () => {
  it.each(CRASH_SEEDS)('seed %i: after crashes and restarts the remote equals the folder', async (seed) => {
    const seq = generateSequence(seed, { ops: OPS, crashes: true });
    expect(seq.ops.some((o) => o.op === 'crash')).toBe(true);
    const r = await runSequence(seq);
    expect(r.problems, explain(seq, r)).toEqual([]);
    expect(r.counts.crashes).toBeGreaterThan(0);
  }, 240_000);
});

describe('the generator', () => {
  it('gives the same sequence for the same seed and a different one for another seed', () => {
    expect(generateSequence(42, { ops: 40 })).toEqual(generateSequence(42, { ops: 40 }));
    expect(JSON.stringify(generateSequence(42))).not.toBe(JSON.stringify(generateSequence(43)));
  });

  it('prints sequences as JSON that replays to the same ops', () => {
    const seq = generateSequence(7, { ops: 50, crashes: true });
    expect(JSON.parse(formatSequence(seq))).toEqual(seq);
  });

  it('covers every kind of operation over a few seeds, with unicode, spaces and deep paths', () => {
    const ops: Op[] = [];
    for (let s = 1; s <= 30; s += 1) ops.push(...generateSequence(s, { ops: 60, crashes: true }).ops);
    const kinds = new Set(ops.map((o) => o.op));
    for (const k of ['write', 'append', 'truncate', 'delete', 'rename', 'copy', 'touch', 'burst', 'slowWrite', 'editorSave', 'mkdirTree', 'rmTree', 'renameDir', 'wait', 'faults', 'clearFaults', 'restart', 'crash']) {
      expect(kinds, k).toContain(k);
    }
    const paths = ops.flatMap((o) => ('path' in o ? [o.path] : []));
    expect(paths.some((p) => /[^\x00-\x7f]/.test(p))).toBe(true);
    expect(paths.some((p) => p.includes(' '))).toBe(true);
    // Deep enough that the flattened remote name needs the path tag.
    expect(paths.some((p) => /~p[0-9a-f]{8}~/.test(remoteNameFor(p, '0'.repeat(64))))).toBe(true);
    const sizes = ops.flatMap((o) => (o.op === 'write' ? [o.content.size] : []));
    expect(sizes).toContain(0);
    expect(Math.max(...sizes)).toBeGreaterThan(1_000_000);
  });

  it('draws quick moves and same-stat edits only from the issue 14 seeds on, leaving older seeds as they were', () => {
    const kindsOf = (from: number) => new Set(Array.from({ length: 20 }, (_, i) => generateSequence(from + i, { ops: 60 }).ops.map((o) => o.op)).flat());
    expect(kindsOf(1)).not.toContain('quickMove');
    expect(kindsOf(1)).not.toContain('sameStatEdit');
    expect(kindsOf(ISSUE14_SEEDS_FROM)).toContain('quickMove');
    expect(kindsOf(ISSUE14_SEEDS_FROM)).toContain('sameStatEdit');
    for (const s of ISSUE14_SEEDS) expect(generateSequence(s, { ops: OPS }).ops.some((o) => o.op === 'quickMove' || o.op === 'sameStatEdit'), `seed ${s}`).toBe(true);
  });

  it('makes content from its description, the same bytes every time', () => {
    expect(contentFor({ size: 10_000, fill: 5 })).toEqual(contentFor({ size: 10_000, fill: 5 }));
    expect(contentFor({ size: 10_000, fill: 5 })).not.toEqual(contentFor({ size: 10_000, fill: 6 }));
    expect(contentFor({ size: 0, fill: 5 }).length).toBe(0);
    expect(contentFor({ size: 3_000_001, fill: 9 }).length).toBe(3_000_001);
    const r = mulberry32(1);
    expect([r(), r()]).toEqual([mulberry32(1)(), (() => { const x = mulberry32(1); x(); return x(); })()]);
  });
});

describe('the executor', () => {
  let base: string | null = null;
  afterEach(async () => {
    if (base) await rm(base, { recursive: true, force: true });
    base = null;
  });

  it('applies any subsequence of a sequence without throwing (ops that no longer apply are no-ops)', async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'cfs-random-exec-'));
    const seq = generateSequence(11, { ops: 60 });
    const pick = mulberry32(3);
    const ops = seq.ops.filter((o) => isFsOp(o) && pick() < 0.6);
    let noops = 0;
    for (const op of ops) if (isFsOp(op) && (await applyFsOp(base, op)) === 'noop') noops += 1;
    expect(noops).toBeGreaterThan(0);
    expect((await readdir(base)).length).toBeGreaterThan(0);
  });
});

describe('the end-state check', () => {
  let emulator: Emulator | null = null;
  let base: string | null = null;
  afterEach(async () => {
    await emulator?.close();
    if (base) await rm(base, { recursive: true, force: true });
    emulator = null;
    base = null;
  });

  it('reports a lost file, a duplicate, a leaked remote file and a deleted foreign file', async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'cfs-random-check-'));
    emulator = await Emulator.start({ apiKey: TEST_KEY });
    const dir = path.join(base, 'folder');
    await applyFsOp(dir, { op: 'write', path: 'a.txt', content: { size: 10, fill: 1 } });
    await applyFsOp(dir, { op: 'write', path: 'b/c.txt', content: { size: 10, fill: 2 } });
    const index = IndexStore.open(':memory:');
    const sha = (fill: number) => createHash('sha256').update(contentFor({ size: 10, fill })).digest('hex');
    const a1 = await emulator.addFile({ filename: remoteNameFor('a.txt', sha(1)), bytes: contentFor({ size: 10, fill: 1 }) });
    await emulator.addFile({ filename: remoteNameFor('a.txt', sha(1)), bytes: contentFor({ size: 10, fill: 1 }) });
    await emulator.addFile({ filename: 'stray~0123456789.txt', bytes: Buffer.from('x') });
    const foreign = await emulator.addFile({ filename: 'theirs.pdf', bytes: Buffer.from('theirs') });
    const gone = { ...foreign, id: 'file_gone' };
    index.observe({ path: 'a.txt', size: 10, mtimeMs: 1, ino: 1, sha256: sha(1) });
    void a1;
    const end = await checkEndState(dir, emulator, index, [foreign, gone]);
    index.close();
    expect(end.lost).toEqual(['b/c.txt']);
    expect(end.duplicated).toEqual(['a.txt']);
    expect(end.leaked.length).toBe(3);
    expect(end.foreignDeleted).toEqual(['file_gone theirs.pdf']);
    expect(end.problems.length).toBeGreaterThan(3);
  });
});

describe('shrinking', () => {
  it('finds the minimal failing subsequence', async () => {
    const seq = generateSequence(5, { ops: 40 });
    const culprits = [seq.ops[7], seq.ops[23]];
    const run = async (s: Sequence) => ({ ok: !culprits.every((c) => s.ops.includes(c as Op)) });
    const out = await shrink(seq, run);
    expect(out.seq.ops).toEqual(culprits);
    expect(out.result.ok).toBe(false);
  });

  it('returns the sequence unchanged when it passes', async () => {
    const seq = generateSequence(5, { ops: 10 });
    const out = await shrink(seq, async () => ({ ok: true }));
    expect(out.seq).toBe(seq);
    expect(out.tries).toBe(1);
  });
});

describe('fault scaling', () => {
  it('multiplies rates, caps each at 1 and keeps the error rates summing to at most 1', () => {
    expect(scaleFaults({ error500Rate: 0.2, latencyMs: 50 }, 1)).toEqual({ error500Rate: 0.2, latencyMs: 50 });
    expect(scaleFaults({ resetRate: 0.3, latencyMs: 50, retryAfterMs: 20 }, 2)).toEqual({ resetRate: 0.6, latencyMs: 50, retryAfterMs: 20 });
    expect(scaleFaults({ lostResponseRate: 0.5 }, 4)).toEqual({ lostResponseRate: 1 });
    const s = scaleFaults({ error500Rate: 0.3, error529Rate: 0.3, error429Rate: 0.2 }, 3);
    expect((s.error500Rate ?? 0) + (s.error529Rate ?? 0) + (s.error429Rate ?? 0)).toBeCloseTo(1);
  });
});
