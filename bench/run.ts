/**
 * `npm run bench`: every case against the emulator on 127.0.0.1, side by side with its
 * reference, and bench/RESULTS.md (plus a JSON twin) with the machine and the figures.
 *
 *   node dist/bench/run.js [--smoke] [--only 1,3] [--runs K] [--out FILE] [--cache DIR]
 *
 * --smoke: tiny sizes (seconds, for `npm test`); --runs: repetitions per case (default 3; the
 * figures are medians); --out: where to write the Markdown (default bench/RESULTS.md, or a
 * temporary file with --smoke); the JSON goes beside it with the .json extension.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { REPO_ROOT, defaultCacheDir, ensureDir, type BenchCase, type BenchContext, type CaseResult } from './common.js';
import { describeMachine, renderMarkdown } from './report.js';
import { initialSync } from './case-1-initial-sync.js';
import { requestsPerFile } from './case-2-requests-per-file.js';
import { restartUnchanged } from './case-3-restart.js';
import { changeLatency } from './case-4-latency.js';
import { hashThroughput } from './case-5-hash.js';
import { bigUpload } from './case-6-big-upload.js';
import { reconcileBig } from './case-7-reconcile.js';
import { watchBig } from './case-8-watch.js';
import { closeSharedFixtures } from './synced-tree.js';

export const CASES: ReadonlyArray<{ id: number; title: string; run: BenchCase }> = [
  { id: 1, title: 'Initial sync of small files', run: initialSync },
  { id: 2, title: 'Requests per synced file under a rate limit', run: requestsPerFile },
  { id: 3, title: 'Restart over an unchanged tree', run: restartUnchanged },
  { id: 4, title: 'Change-to-remote latency', run: changeLatency },
  { id: 5, title: 'Hashing throughput', run: hashThroughput },
  { id: 6, title: 'One big upload', run: bigUpload },
  { id: 7, title: 'Reconcile of many remote files', run: reconcileBig },
  { id: 8, title: 'Watching many files', run: watchBig },
];

export interface RunOptions {
  smoke: boolean;
  only: number[] | null;
  runs: number;
  out: string;
  cacheDir: string;
}

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: node dist/bench/run.js [--smoke] [--only 1,3] [--runs K] [--out FILE] [--cache DIR]\n`);
  process.exit(2);
}

export function parseArgs(argv: string[]): RunOptions {
  let smoke = false;
  let only: number[] | null = null;
  let runs: number | null = null;
  let out: string | null = null;
  let cacheDir = defaultCacheDir();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => argv[++i] ?? usage(`${a} needs a value`);
    if (a === '--smoke') smoke = true;
    else if (a === '--only') {
      only = value()
        .split(',')
        .map((s) => Number(s.trim()));
      if (only.some((n) => !CASES.some((c) => c.id === n))) usage(`--only takes case numbers 1-${CASES.length}`);
    } else if (a === '--runs') {
      runs = Number(value());
      if (!Number.isInteger(runs) || runs < 1) usage('--runs must be a positive integer');
    } else if (a === '--out') out = path.resolve(value());
    else if (a === '--cache') cacheDir = path.resolve(value());
    else usage(`unknown option ${a}`);
  }
  return {
    smoke,
    only,
    runs: runs ?? (smoke ? 1 : 3),
    out: out ?? (smoke ? path.join(os.tmpdir(), `claude-filesync-bench-smoke-${process.pid}.md`) : path.join(REPO_ROOT, 'bench', 'RESULTS.md')),
    cacheDir,
  };
}

export async function runBench(options: RunOptions, argv: string[]): Promise<CaseResult[]> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'claude-filesync-bench-'));
  await ensureDir(options.cacheDir);
  const ctx: BenchContext = {
    smoke: options.smoke,
    runs: options.runs,
    cacheDir: options.cacheDir,
    workDir,
    log: (m) => process.stderr.write(`[bench] ${m}\n`),
  };
  const machine = describeMachine();
  const results: CaseResult[] = [];
  try {
    for (const c of CASES) {
      if (options.only && !options.only.includes(c.id)) continue;
      ctx.log(`case ${c.id}: ${c.title}`);
      const t0 = performance.now();
      try {
        const r = await c.run(ctx);
        results.push({ ...r, id: c.id, durationMs: performance.now() - t0 });
      } catch (err) {
        const error = err instanceof Error ? err.stack ?? err.message : String(err);
        ctx.log(`case ${c.id} failed: ${error}`);
        results.push({
          id: c.id,
          title: c.title,
          setup: '',
          runs: 0,
          metrics: [],
          target: '',
          met: null,
          verdict: 'the case failed',
          notes: [],
          durationMs: performance.now() - t0,
          error,
        });
      }
      ctx.log(`case ${c.id} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    await closeSharedFixtures();
    await rm(workDir, { recursive: true, force: true });
  }
  const shown: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') i++;
    else shown.push(argv[i] as string);
  }
  const command = shown.length ? `npm run bench -- ${shown.join(' ')}` : 'npm run bench';
  const markdown = renderMarkdown(results, machine, command, options.smoke);
  await writeFile(options.out, markdown);
  const jsonOut = options.out.replace(/\.md$/, '') + '.json';
  await writeFile(jsonOut, `${JSON.stringify({ machine, smoke: options.smoke, runs: options.runs, results }, null, 2)}\n`);
  ctx.log(`wrote ${options.out} and ${jsonOut}`);
  return results;
}

const argv = process.argv.slice(2);
runBench(parseArgs(argv), argv).then(
  (results) => process.exit(results.some((r) => r.error) ? 1 : 0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
