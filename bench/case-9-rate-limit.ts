/**
 * Case 9: the rate limit (issue 9). The emulator in its own process limits one key per minute
 * (token bucket or strict sliding window, with `anthropic-ratelimit-requests-*` headers); the
 * engines run in the bench process as `sync` runs them (no watcher), configured far above the
 * server's limit. Measured: how much of the server's rate a job gets, how many of its requests
 * are answered 429, and how fast it comes back after a 429 storm; one daemon, three daemons on
 * one key, and the official SDK script on the same files side by side.
 *
 * "% of the server's rate" = the least time the server's limiter needs to accept the job's
 * requests (from a full bucket or an empty window, as the job starts) / the job's wall time.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { EmulatorStats } from '../src/emulator/index.js';
import type { RateLimitMode } from '../src/emulator/faults/server-limiter.js';
import { BENCH_KEY, metric, single, sleep, type BenchCase, type BenchContext, type Metric } from './common.js';
import { buildEngine, type BenchEngine } from './engine-factory.js';
import { EmulatorProcess, runWorker } from './processes.js';

const DAEMON_RPM = 400;
const CONCURRENCY = 4;
/** Stats are sampled this often to time the return after a storm. */
const SAMPLE_MS = 250;
/** The window the rate after a storm is measured over. */
const RECOVERY_WINDOW_MS = 5_000;

interface DaemonSpec {
  files: number;
}

interface JobOptions {
  label: string;
  limit: number;
  mode: RateLimitMode;
  daemons: DaemonSpec[];
  storm?: { afterMs: number; durationMs: number; retryAfterSeconds: number };
}

interface JobResult {
  stats: EmulatorStats;
  /** ms from the start of the job, per daemon. */
  finishMs: number[];
  wallMs: number;
  failed: number;
  remoteFiles: number;
  expectedFiles: number;
  /** (ms from the start, accepted so far), sampled. */
  samples: { t: number; accepted: number }[];
  /** ms from the start to the end of the storm, when there was one. */
  stormEndMs: number | null;
}

/** The least time (ms) the limiter needs to accept `n` requests, from a full bucket or an empty window. */
export function leastTimeMs(n: number, limit: number, mode: RateLimitMode): number {
  if (mode === 'token-bucket') return (Math.max(0, n - limit) / limit) * 60_000;
  return Math.floor(Math.max(0, n - 1) / limit) * 60_000;
}

async function writeFolder(dir: string, prefix: string, n: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    await writeFile(
      path.join(dir, `${prefix}-${String(i).padStart(4, '0')}.txt`),
      `${prefix} file ${i}\n${'x'.repeat(200 + (i % 700))}\n`,
    );
  }
}

async function runJob(ctx: BenchContext, o: JobOptions): Promise<JobResult> {
  const base = path.join(ctx.workDir, `case9-${o.label}`);
  const emulator = await EmulatorProcess.start({
    apiKey: BENCH_KEY,
    faults: { requestsPerMinute: o.limit, rateLimitMode: o.mode },
  });
  const engines: BenchEngine[] = [];
  try {
    for (let k = 0; k < o.daemons.length; k++) {
      const dir = path.join(base, `d${k}`, 'folder');
      const stateDir = path.join(base, `d${k}`, 'state');
      await writeFolder(dir, `d${k}`, o.daemons[k]!.files);
      await mkdir(stateDir, { recursive: true, mode: 0o700 });
      engines.push(
        buildEngine({
          dir,
          stateDir,
          baseURL: emulator.url,
          watch: false,
          concurrency: CONCURRENCY,
          requestsPerMinute: DAEMON_RPM,
        }),
      );
    }
    await emulator.resetStats();
    const samples: { t: number; accepted: number }[] = [];
    const t0 = performance.now();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const s = await emulator.stats();
        samples.push({ t: performance.now() - t0, accepted: s.accepted });
        await sleep(SAMPLE_MS);
      }
    })();
    let stormEndMs: number | null = null;
    const storm = o.storm
      ? (async () => {
          await sleep(o.storm!.afterMs);
          const at = performance.now() - t0;
          await emulator.startStorm({ durationMs: o.storm!.durationMs, retryAfterSeconds: o.storm!.retryAfterSeconds });
          stormEndMs = at + o.storm!.durationMs;
        })()
      : Promise.resolve();
    const finishMs = await Promise.all(
      engines.map(async (b) => {
        await b.engine.start();
        await b.engine.onIdle();
        return performance.now() - t0;
      }),
    );
    const wallMs = performance.now() - t0;
    await storm;
    sampling = false;
    await sampler;
    const stats = await emulator.stats();
    let failed = 0;
    for (const b of engines) failed += b.index.countByState().failed ?? 0;
    const expectedFiles = o.daemons.reduce((a, d) => a + d.files, 0);
    return { stats, finishMs, wallMs, failed, remoteFiles: await emulator.count(), expectedFiles, samples, stormEndMs };
  } finally {
    for (const b of engines) await b.close();
    await emulator.close();
  }
}

/** ms from the storm's end until a RECOVERY_WINDOW_MS window accepts ≥ 90 % of the limit's rate; null if never. */
function backTo90(r: JobResult, limit: number): number | null {
  if (r.stormEndMs === null) return null;
  const need = 0.9 * limit * (RECOVERY_WINDOW_MS / 60_000);
  const s = r.samples;
  for (let i = 0; i < s.length; i++) {
    if (s[i]!.t < r.stormEndMs) continue;
    const end = s.find((x) => x.t >= s[i]!.t + RECOVERY_WINDOW_MS);
    if (end === undefined) return null;
    if (end.accepted - s[i]!.accepted >= need) return s[i]!.t - r.stormEndMs;
  }
  return null;
}

const pct = (a: number, b: number) => (b > 0 ? (100 * a) / b : 0);

export const rateLimit: BenchCase = async (ctx) => {
  const smoke = ctx.smoke;
  // The smoke run keeps the limit out of the way (meeting it costs minutes); the real run hits it.
  const limit1 = smoke ? 600 : 120;
  const n1 = smoke ? 20 : 240;
  const n1big = smoke ? null : 480;
  const limit3 = smoke ? 600 : 180;
  const n3 = smoke ? 10 : 120;
  // BENCH_STORM_MS shortens the storm for a quicker look.
  const stormMs = Number(process.env.BENCH_STORM_MS ?? (smoke ? 2_000 : 90_000));
  const stormRetryAfters = smoke ? [1] : [30, 1];
  const metrics: Metric[] = [];
  const notes: string[] = [];
  const checks: { ok: boolean; what: string }[] = [];

  // One daemon above the server's limit.
  const singles: { mode: RateLimitMode; n: number }[] = [{ mode: 'token-bucket', n: n1 }];
  if (n1big !== null) singles.push({ mode: 'token-bucket', n: n1big });
  if (!smoke) singles.push({ mode: 'sliding-window', n: n1 });
  let sdkCompare: JobResult | null = null;
  for (const s of singles) {
    ctx.log(`case 9: one daemon at ${DAEMON_RPM}/min, server ${limit1}/min ${s.mode}, ${s.n} files`);
    const r = await runJob(ctx, {
      label: `one-${s.mode}-${s.n}`,
      limit: limit1,
      mode: s.mode,
      daemons: [{ files: s.n }],
    });
    if (s.mode === 'token-bucket' && s.n === n1) sdkCompare = r;
    const share = pct(leastTimeMs(r.stats.accepted, limit1, s.mode), r.wallMs);
    const r429 = pct(r.stats.rejected429, r.stats.requests);
    metrics.push(
      single(
        `one daemon, ${s.n} files, ${s.mode}: % of the server's rate`,
        '%',
        [share],
        `${r.stats.accepted} accepted in ${(r.wallMs / 1000).toFixed(1)} s`,
      ),
      single(
        `one daemon, ${s.n} files, ${s.mode}: % of requests answered 429`,
        '%',
        [r429],
        `${r.stats.rejected429} of ${r.stats.requests}`,
      ),
      single(
        `one daemon, ${s.n} files, ${s.mode}: wall time`,
        'ms',
        [r.wallMs],
        `${r.failed} failed, ${r.remoteFiles}/${r.expectedFiles} remote`,
      ),
    );
    if (!smoke) {
      checks.push({ ok: share >= 95, what: `one daemon ${s.n} ${s.mode}: ${share.toFixed(1)} % of the rate (≥ 95)` });
      checks.push({ ok: r429 <= 1, what: `one daemon ${s.n} ${s.mode}: ${r429.toFixed(2)} % 429s (≤ 1)` });
    }
    checks.push({
      ok: r.failed === 0 && r.remoteFiles === r.expectedFiles,
      what: `one daemon ${s.n} ${s.mode}: every file synced`,
    });
  }

  // Three daemons on one key.
  ctx.log(`case 9: three daemons at ${DAEMON_RPM}/min each, server ${limit3}/min token-bucket, ${n3} files each`);
  const three = await runJob(ctx, {
    label: 'three',
    limit: limit3,
    mode: 'token-bucket',
    daemons: [{ files: n3 }, { files: n3 }, { files: n3 }],
  });
  const share3 = pct(leastTimeMs(three.stats.accepted, limit3, 'token-bucket'), three.wallMs);
  const r4293 = pct(three.stats.rejected429, three.stats.requests);
  const spread = pct(Math.max(...three.finishMs) - Math.min(...three.finishMs), Math.max(...three.finishMs));
  metrics.push(
    single(
      `three daemons, ${n3} files each: % of the limit together`,
      '%',
      [share3],
      `${three.stats.accepted} accepted in ${(three.wallMs / 1000).toFixed(1)} s`,
    ),
    single(
      `three daemons: % of requests answered 429`,
      '%',
      [r4293],
      `${three.stats.rejected429} of ${three.stats.requests}`,
    ),
    single(
      `three daemons: finish-time spread`,
      '%',
      [spread],
      `finished at ${three.finishMs.map((m) => (m / 1000).toFixed(1)).join(', ')} s; ${three.failed} failed`,
    ),
  );
  if (!smoke) {
    checks.push({ ok: share3 >= 95, what: `three daemons: ${share3.toFixed(1)} % of the limit (≥ 95)` });
    checks.push({ ok: r4293 <= 2, what: `three daemons: ${r4293.toFixed(2)} % 429s (≤ 2)` });
    checks.push({ ok: spread <= 15, what: `three daemons: finish spread ${spread.toFixed(1)} % (≤ 15)` });
  }
  checks.push({
    ok: three.failed === 0 && three.remoteFiles === three.expectedFiles,
    what: 'three daemons: every file synced',
  });

  // A 429 storm in the middle of a job.
  const stormFiles = smoke ? 30 : 330;
  const stormAfter = smoke ? 1_000 : 20_000;
  for (const retryAfterSeconds of stormRetryAfters) {
    ctx.log(
      `case 9: a ${stormMs / 1000}-s storm (retry-after ${retryAfterSeconds} s) ${stormAfter / 1000} s into ${stormFiles} files, server ${limit1}/min`,
    );
    const r = await runJob(ctx, {
      label: `storm-${retryAfterSeconds}`,
      limit: limit1,
      mode: 'token-bucket',
      daemons: [{ files: stormFiles }],
      storm: { afterMs: stormAfter, durationMs: stormMs, retryAfterSeconds },
    });
    const back = backTo90(r, limit1);
    const facts = `${r.stats.injected.storm} storm 429s; ${r.failed} failed; ${r.remoteFiles}/${r.expectedFiles} remote; wall ${(r.wallMs / 1000).toFixed(1)} s`;
    // Never back to 90 % means the job ended first (a smoke run's few files): no figure to report.
    if (back !== null)
      metrics.push(
        single(
          `${stormMs / 1000}-s storm, retry-after ${retryAfterSeconds} s: back to 90 % of the rate after its end`,
          'ms',
          [back],
          facts,
        ),
      );
    else
      notes.push(
        `${stormMs / 1000}-s storm, retry-after ${retryAfterSeconds} s: the job ended before a window reached 90 % of the rate (${facts}).`,
      );
    if (!smoke)
      checks.push({
        ok: back !== null && back <= 15_000,
        what: `storm (retry-after ${retryAfterSeconds} s): back to 90 % in ${back === null ? 'never' : `${(back / 1000).toFixed(1)} s`} (≤ 15)`,
      });
    checks.push({
      ok: r.failed === 0 && r.remoteFiles === r.expectedFiles,
      what: `storm (retry-after ${retryAfterSeconds} s): every file synced, none failed at the end`,
    });
  }

  // The official SDK script on the same job as the first single run.
  ctx.log(
    `case 9: the SDK script (${CONCURRENCY} workers, default retries), ${n1} files, server ${limit1}/min token-bucket`,
  );
  const sdkDir = path.join(ctx.workDir, 'case9-sdk', 'folder');
  await writeFolder(sdkDir, 'd0', n1);
  const emulator = await EmulatorProcess.start({
    apiKey: BENCH_KEY,
    faults: { requestsPerMinute: limit1, rateLimitMode: 'token-bucket' },
  });
  try {
    const r = await runWorker(
      'sdk-sync-tolerant',
      { dir: sdkDir, url: emulator.url, concurrency: CONCURRENCY },
      { timeoutMs: 30 * 60_000 },
    );
    const s = await emulator.stats();
    const lost = Number(r.result?.lost ?? NaN);
    const ours = sdkCompare!;
    metrics.push(
      metric(`${n1} files at ${limit1}/min: files lost`, '', [ours.expectedFiles - ours.remoteFiles], [lost]),
      metric(
        `${n1} files at ${limit1}/min: wall time`,
        'ms',
        [ours.wallMs],
        [r.wallMs],
        'the SDK script stops early: its lost files are never sent again',
      ),
      metric(
        `${n1} files at ${limit1}/min: % of requests answered 429`,
        '%',
        [pct(ours.stats.rejected429, ours.stats.requests)],
        [pct(s.rejected429, s.requests)],
      ),
    );
    notes.push(
      `SDK script: ${r.result?.uploaded} uploaded, ${lost} lost, ${s.requests} requests, ${s.rejected429} answered 429.`,
    );
  } finally {
    await emulator.close();
  }

  notes.push(
    `"% of the server's rate" = the least time the limiter needs to accept the job's accepted requests (token bucket: (accepted − limit) / limit minutes from a full bucket; sliding window: ⌊(accepted − 1) / limit⌋ minutes) / the job's wall time (engine start to idle, start-up listing included).`,
    `"back to 90 %" = from the storm's end to the first ${RECOVERY_WINDOW_MS / 1000}-s window in which the emulator accepted ≥ 90 % of the limit's rate (stats sampled every ${SAMPLE_MS} ms). A daemon obeys the last retry-after it was given, so with retry-after 30 s it may rest up to 30 s into the storm's end.`,
    ...checks.filter((c) => !c.ok).map((c) => `not met: ${c.what}`),
  );
  const failedChecks = checks.filter((c) => !c.ok);
  return {
    title: `Rate limit: one daemon above the limit, three on one key, a 429 storm, the SDK script (server ${limit1}/min)`,
    setup:
      `Engines as \`sync\` runs them (no watcher, concurrency ${CONCURRENCY}, queue.requestsPerMinute ${DAEMON_RPM}) in the bench process; the emulator in its own process with faults.requestsPerMinute and rateLimitMode (rate-limit headers on every answer, 429 with retry-after and retry-after-ms). ` +
      `One daemon: ${singles.map((s) => `${s.n} files ${s.mode}`).join(', ')} at ${limit1}/min. Three daemons: ${n3} files each on one key at ${limit3}/min. Storm: every request answered 429 for ${stormMs / 1000} s, ${stormAfter / 1000} s into ${stormFiles} files, retry-after ${stormRetryAfters.join(' s and ')} s. ` +
      `Reference: a plain script with the official @anthropic-ai/sdk (${CONCURRENCY} workers, default retries, a try/catch per file) on the same ${n1} files at ${limit1}/min.`,
    runs: 1,
    metrics,
    target:
      'one daemon ≥ 95 % of the rate and ≤ 1 % 429s; three daemons ≥ 95 % together, ≤ 2 % 429s, finish within 15 %; back to 90 % within 15 s of a storm; no file failed or lost',
    met: smoke ? null : failedChecks.length === 0,
    verdict:
      failedChecks.length === 0
        ? checks.map((c) => c.what).join('; ')
        : `${failedChecks.length} of ${checks.length} not met: ${failedChecks.map((c) => c.what).join('; ')}`,
    notes,
  };
};
