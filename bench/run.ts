/**
 * `npm run bench`: every case against the emulator on 127.0.0.1, side by side with its
 * reference, and bench/RESULTS.md (plus a JSON twin) with the machine and the figures.
 *
 *   node dist/bench/run.js [--smoke] [--only 1,3] [--runs K] [--out FILE] [--cache DIR]
 *
 * --smoke: tiny sizes (seconds, for `npm test`); --runs: repetitions per case (default 3; the
 * figures are medians); --out: where to write the Markdown (default bench/RESULTS.md, or a
 * temporary file with --smoke); the JSON goes beside it with the .json extension. --merge keeps
 * the results of the cases not run this time from that JSON (to run the cases one by one);
 * --render runs nothing and rewrites the Markdown from that JSON.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
import { rateLimit } from './case-9-rate-limit.js';
import { faults } from './case-10-faults.js';
import { liveRestart } from './case-11-live-restart.js';
import { millionFiles } from './case-12-million.js';
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
  { id: 9, title: 'Rate limit: one daemon, three on one key, a 429 storm', run: rateLimit },
  { id: 10, title: 'Faults: 500s, 529s, 429s and resets', run: faults },
  { id: 11, title: 'Live from the first second: a change during a restart', run: liveRestart },
  { id: 12, title: 'Restart scan at a million files', run: millionFiles },
];

export interface RunOptions {
  smoke: boolean;
  only: number[] | null;
  runs: number;
  out: string;
  cacheDir: string;
  /** Keep the other cases' results already in the JSON beside `out`. */
  merge: boolean;
}

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: node dist/bench/run.js [--smoke] [--only 1,3] [--runs K] [--out FILE] [--cache DIR] [--merge] [--render]\n`,
  );
  process.exit(2);
}

export function parseArgs(argv: string[]): RunOptions {
  let smoke = false;
  let only: number[] | null = null;
  let runs: number | null = null;
  let out: string | null = null;
  let cacheDir = defaultCacheDir();
  let merge = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => argv[++i] ?? usage(`${a} needs a value`);
    if (a === '--smoke') smoke = true;
    else if (a === '--only') {
      only = value()
        .split(',')
        .map((s) => Number(s.trim()));
      if (only.some((n) => !CASES.some((c) => c.id === n)))
        usage(`--only takes case numbers ${CASES.map((c) => c.id).join(', ')}`);
    } else if (a === '--runs') {
      runs = Number(value());
      if (!Number.isInteger(runs) || runs < 1) usage('--runs must be a positive integer');
    } else if (a === '--out') out = path.resolve(value());
    else if (a === '--cache') cacheDir = path.resolve(value());
    else if (a === '--merge') merge = true;
    else if (a === '--render') {
      // Run nothing: rewrite the Markdown from the JSON beside it.
      only = [];
      merge = true;
    } else usage(`unknown option ${a}`);
  }
  return {
    smoke,
    only,
    runs: runs ?? (smoke ? 1 : 3),
    out:
      out ??
      (smoke
        ? path.join(os.tmpdir(), `claude-filesync-bench-smoke-${process.pid}.md`)
        : path.join(REPO_ROOT, 'bench', 'RESULTS.md')),
    cacheDir,
    merge,
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
  const commit = codeCommit();
  const results: CaseResult[] = [];
  try {
    for (const c of CASES) {
      if (options.only && !options.only.includes(c.id)) continue;
      ctx.log(`case ${c.id}: ${c.title}`);
      const t0 = performance.now();
      const load = os.loadavg()[0] ?? 0;
      try {
        const r = await c.run(ctx);
        r.notes.push(
          `1-minute load average when the case started: ${load.toFixed(2)} on ${os.cpus().length} cores (other work on the machine shares them).`,
        );
        results.push({ ...r, id: c.id, durationMs: performance.now() - t0, at: new Date().toISOString(), commit });
        ctx.log(`case ${c.id}: ${r.met === null ? 'no verdict' : r.met ? 'met' : 'NOT met'}: ${r.verdict}`);
      } catch (err) {
        const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
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
          at: new Date().toISOString(),
          commit,
          error,
        });
      }
      ctx.log(`case ${c.id} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    await closeSharedFixtures();
    await rm(workDir, { recursive: true, force: true });
  }
  // What reproduces the whole file: the flags that change what is measured, not where it goes.
  const flags = [
    ...(options.smoke ? ['--smoke'] : []),
    ...(argv.includes('--runs') ? ['--runs', String(options.runs)] : []),
  ];
  const command = flags.length ? `npm run bench -- ${flags.join(' ')}` : 'npm run bench';
  const jsonOut = `${options.out.replace(/\.md$/, '')}.json`;
  const all = options.merge ? await mergeWith(jsonOut, results) : results;
  const markdown = renderMarkdown(all, machine, command, options.smoke);
  await ensureDir(path.dirname(options.out));
  await writeFile(options.out, markdown);
  await writeFile(
    jsonOut,
    `${JSON.stringify({ machine, smoke: options.smoke, runs: options.runs, results: all }, null, 2)}\n`,
  );
  ctx.log(`wrote ${options.out} and ${jsonOut}`);
  return results;
}

/** The commit the measured code comes from: BENCH_COMMIT, else `git rev-parse`, else null. */
function codeCommit(): string | null {
  if (process.env.BENCH_COMMIT) return process.env.BENCH_COMMIT;
  try {
    return (
      execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() || null
    );
  } catch {
    return null;
  }
}

async function mergeWith(jsonFile: string, fresh: CaseResult[]): Promise<CaseResult[]> {
  let previous: CaseResult[] = [];
  try {
    previous = (JSON.parse(await readFile(jsonFile, 'utf8')) as { results: CaseResult[] }).results;
  } catch {
    previous = [];
  }
  const byId = new Map(previous.map((r) => [r.id, r]));
  for (const r of fresh) byId.set(r.id, r);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

const argv = process.argv.slice(2);
runBench(parseArgs(argv), argv).then(
  (results) => process.exit(results.some((r) => r.error) ? 1 : 0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
