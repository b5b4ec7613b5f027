/**
 * Case 4: change-to-remote latency. The engine runs in the bench process as the daemon does
 * (watcher on, default queue settings), the emulator in its own process. Each drop writes a new
 * file; latency runs from the moment writeFile resolved (the end of the write) to the moment the
 * engine logged the upload as committed (the `upload` log line, written right after the index
 * commit). The lower bound is the settle time plus one upload request of the same size, timed
 * separately with our client against the same emulator.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createFilesClient } from '../src/api/index.js';
import { BENCH_KEY, median, percentile, single, sleep, waitFor, type BenchCase, type Metric } from './common.js';
import { buildEngine } from './engine-factory.js';
import { EmulatorProcess } from './processes.js';

/** One drop every this many ms: 240 a minute, under the engine's default 400 requests a minute. */
const GAP_MS = 250;
const BODY = Buffer.from('x'.repeat(1024));

async function oneRequestMs(url: string, samples: number): Promise<number[]> {
  const client = createFilesClient({ apiKey: BENCH_KEY, baseURL: url, maxRetries: 0 });
  const out: number[] = [];
  try {
    // The first request opens the keep-alive connection, as the engine's first upload did.
    await client.upload({ bytes: BODY }, { filename: 'warmup.txt' });
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      await client.upload({ bytes: BODY }, { filename: `probe-${i}.txt` });
      out.push(performance.now() - t0);
    }
  } finally {
    await client.close();
  }
  return out;
}

async function measureSettle(
  ctx: { workDir: string; log: (m: string) => void },
  settleMs: number,
  drops: number,
): Promise<{ latencies: number[]; requestMs: number[] }> {
  const base = path.join(ctx.workDir, `case4-settle-${settleMs}`);
  const dir = path.join(base, 'folder');
  const stateDir = path.join(base, 'state');
  await mkdir(dir, { recursive: true });
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const emulator = await EmulatorProcess.start({ apiKey: BENCH_KEY });
  const done = new Map<string, number>();
  const b = buildEngine({
    dir,
    stateDir,
    baseURL: emulator.url,
    watch: true,
    settleMs,
    onLog: (e) => {
      if ((e.event === 'upload' || e.event === 'replace') && typeof e.path === 'string' && !done.has(e.path))
        done.set(e.path, performance.now());
    },
  });
  try {
    await b.engine.start();
    await b.engine.onIdle();
    const written = new Map<string, number>();
    for (let i = 0; i < drops; i++) {
      const rel = `drop-${String(i).padStart(4, '0')}.txt`;
      await writeFile(path.join(dir, rel), BODY);
      written.set(rel, performance.now());
      await sleep(GAP_MS);
    }
    await waitFor(() => done.size >= drops, 120_000 + settleMs * 4, `${drops} uploads`, 20);
    const latencies = [...written].map(([rel, t]) => (done.get(rel) as number) - t);
    const requestMs = await oneRequestMs(emulator.url, 30);
    return { latencies, requestMs };
  } finally {
    await b.close();
    await emulator.close();
  }
}

export const changeLatency: BenchCase = async (ctx) => {
  const drops = ctx.smoke ? 5 : 200;
  const settles = ctx.smoke ? [100] : [1000, 200];
  const metrics: Metric[] = [];
  let met: boolean | null = null;
  const verdicts: string[] = [];
  for (const settleMs of settles) {
    ctx.log(`case 4: ${drops} drops, settle ${settleMs} ms`);
    const { latencies, requestMs } = await measureSettle(ctx, settleMs, drops);
    const req = median(requestMs) as number;
    const bound = settleMs + req;
    const p50 = percentile(latencies, 50) as number;
    const p99 = percentile(latencies, 99) as number;
    const mk = (name: string, v: number) => ({
      name,
      unit: 'ms',
      ours: v,
      reference: bound,
      ratio: v / bound,
      note: `${(v - bound).toFixed(0)} ms above the lower bound`,
    });
    metrics.push(mk(`settle ${settleMs} ms: p50 latency`, p50), mk(`settle ${settleMs} ms: p99 latency`, p99));
    metrics.push(
      single(
        `settle ${settleMs} ms: one upload request (1 KB, keep-alive)`,
        'ms',
        requestMs,
        'median of 30, our client, same emulator',
      ),
    );
    metrics.push(single(`settle ${settleMs} ms: max latency`, 'ms', [Math.max(...latencies)]));
    const ok = p50 - bound <= 100;
    if (settleMs === settles[0]) met = ok;
    verdicts.push(
      `settle ${settleMs} ms: p50 ${p50.toFixed(0)} ms vs bound ${bound.toFixed(0)} ms (+${(p50 - bound).toFixed(0)} ms), p99 ${p99.toFixed(0)} ms`,
    );
  }
  return {
    title: `Change-to-remote latency over ${drops} drops`,
    setup:
      `The engine in the bench process as the daemon runs it (watcher on, concurrency 4, requestsPerMinute 400), the emulator in its own process. ${drops} new 1 KB files, one every ${GAP_MS} ms ` +
      `(under the default rate limit, so the limiter never delays a drop); latency from the end of each write to the engine's upload log line. ` +
      `Lower bound ("reference" column): the settle time plus the median time of one 1 KB upload request. Percentiles are over the drops of one run per settle time.`,
    runs: 1,
    metrics,
    target: 'p50 within 100 ms of settle + one request (default settle 1000 ms)',
    met,
    verdict: verdicts.join('; '),
    notes: [],
  };
};
