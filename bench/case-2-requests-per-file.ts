/**
 * Case 2: requests per synced file under the emulator's rate limit (a token bucket of 100
 * requests per minute answering 429 with retry-after, like the API). Three phases on one folder,
 * the engine running as the daemon does (watcher on): new files (ideal 1 upload each), every file
 * changed (ideal 2: the upload and the delete of the old copy), a restart over the unchanged
 * folder (ideal 0). The start-up listing is counted on its own line. Run once with the engine's
 * default requestsPerMinute and once with it set under the emulator's limit.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { EmulatorStats } from '../src/emulator/index.js';
import { BENCH_KEY, single, waitFor, type BenchCase, type Metric } from './common.js';
import { buildEngine, type BenchEngine } from './engine-factory.js';
import { prng } from './fixtures.js';
import { EmulatorProcess } from './processes.js';

const EMULATOR_RPM = 100;
const DEFAULT_ENGINE_RPM = 400;
const UNDER_LIMIT_RPM = 90;

interface PhaseCount {
  phase: string;
  total: number;
  byRoute: EmulatorStats['byRoute'];
  r429: number;
  ideal: number;
  wasted: number;
  ms: number;
}

function delta(a: EmulatorStats, b: EmulatorStats): { total: number; byRoute: EmulatorStats['byRoute']; r429: number } {
  const byRoute = { ...b.byRoute };
  for (const k of Object.keys(byRoute) as (keyof typeof byRoute)[]) byRoute[k] -= a.byRoute[k];
  return { total: b.requests - a.requests, byRoute, r429: (b.byStatus[429] ?? 0) - (a.byStatus[429] ?? 0) };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function writeFiles(dir: string, n: number, version: number): Promise<Map<string, string>> {
  const rand = prng(1000 + version);
  const expected = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const rel = `f${String(i).padStart(3, '0')}.txt`;
    const body = Buffer.from(`version ${version} of file ${i}\n${'x'.repeat(Math.floor(rand() * 4096))}\n`);
    await writeFile(path.join(dir, rel), body);
    expected.set(rel, sha(body));
  }
  return expected;
}

function allSynced(b: BenchEngine, expected: Map<string, string>): boolean {
  for (const [rel, digest] of expected) {
    const row = b.index.get(rel);
    if (row?.state !== 'synced' || row.sha256 !== digest || row.remoteSha256 !== digest) return false;
  }
  return b.index.pendingDeletes().length === 0;
}

/**
 * Empties the emulator's token bucket (as another client sharing the key would), so the phases
 * meet the limit instead of a full burst. These requests precede the counts.
 */
async function drainBucket(url: string, max: number): Promise<number> {
  for (let i = 0; i < max; i++) {
    const res = await fetch(`${url}/v1/files?limit=1`, {
      headers: { 'x-api-key': BENCH_KEY, 'anthropic-version': '2023-06-01' },
    });
    await res.arrayBuffer();
    if (res.status === 429) return i;
  }
  return max;
}

async function runConfig(
  workDir: string,
  n: number,
  engineRpm: number,
  emulatorRpm: number,
  label: string,
  drain: boolean,
): Promise<PhaseCount[]> {
  const base = path.join(workDir, `case2-${label}`);
  const dir = path.join(base, 'folder');
  const stateDir = path.join(base, 'state');
  await mkdir(dir, { recursive: true });
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const emulator = await EmulatorProcess.start({ apiKey: BENCH_KEY, faults: { requestsPerMinute: emulatorRpm } });
  const setup = { dir, stateDir, baseURL: emulator.url, watch: true, settleMs: 300, requestsPerMinute: engineRpm };
  if (drain) await drainBucket(emulator.url, emulatorRpm + 10);
  const phases: PhaseCount[] = [];
  const measure = async (phase: string, ideal: number, body: () => Promise<void>) => {
    const before = await emulator.stats();
    const t0 = performance.now();
    await body();
    const d = delta(before, await emulator.stats());
    phases.push({ phase, ...d, ideal, wasted: d.total - d.r429 - ideal, ms: performance.now() - t0 });
  };
  let b: BenchEngine | null = null;
  try {
    let expected = await writeFiles(dir, n, 1);
    b = buildEngine(setup);
    const first = b;
    await measure('new files (start-up sync)', n + 1, async () => {
      await first.engine.start();
      await waitFor(() => allSynced(first, expected), 15 * 60_000, 'new files synced', 50);
      await first.engine.onIdle();
    });
    await measure('every file changed (watcher)', 2 * n, async () => {
      expected = await writeFiles(dir, n, 2);
      await waitFor(
        async () => allSynced(first, expected) && (await emulator.count()) === n,
        15 * 60_000,
        'changes synced',
        50,
      );
      await first.engine.onIdle();
    });
    await first.close();
    b = null;
    await measure('restart over the unchanged folder', 1, async () => {
      b = buildEngine(setup);
      await b.engine.start();
      await b.engine.onIdle();
    });
    if ((await emulator.count()) !== n)
      throw new Error(`${label}: ${await emulator.count()} remote files for ${n} local`);
    return phases;
  } finally {
    await (b as BenchEngine | null)?.close();
    await emulator.close();
  }
}

export const requestsPerFile: BenchCase = async (ctx) => {
  const n = ctx.smoke ? 6 : 40;
  // The smoke run keeps the limit out of the way (it would cost minutes); the real run hits it.
  const emulatorRpm = ctx.smoke ? 10_000 : EMULATOR_RPM;
  const configs: { label: string; rpm: number }[] = [
    { label: 'engine default', rpm: DEFAULT_ENGINE_RPM },
    { label: 'engine under the limit', rpm: UNDER_LIMIT_RPM },
  ];
  const metrics: Metric[] = [];
  const notes: string[] = [];
  let wastedTotal = 0;
  let exact = true;
  for (const c of configs) {
    ctx.log(`case 2: ${n} files, emulator limit ${emulatorRpm}/min, ${c.label} (${c.rpm}/min)`);
    const phases = await runConfig(ctx.workDir, n, c.rpm, emulatorRpm, c.label.replace(/\s+/g, '-'), !ctx.smoke);
    for (const p of phases) {
      const perFile = (p.byRoute.upload + p.byRoute.delete + p.byRoute.retrieve + p.byRoute.download) / n;
      wastedTotal += Math.max(0, p.wasted);
      const fileIdeal = p.phase.startsWith('new') ? 1 : p.phase.startsWith('every') ? 2 : 0;
      if (p.wasted !== 0) exact = false;
      metrics.push(
        single(
          `${c.label} (${c.rpm}/min): ${p.phase}`,
          'req',
          [p.total],
          `ideal ${p.ideal} (${fileIdeal}/file${p.phase.startsWith('every') ? '' : ' + 1 listing'}); upload ${p.byRoute.upload}, delete ${p.byRoute.delete}, list ${p.byRoute.list}, retrieve ${p.byRoute.retrieve}; ` +
            `per file ${perFile.toFixed(2)} incl. 429s; 429s ${p.r429}; wasted ${p.wasted}; ${(p.ms / 1000).toFixed(1)} s`,
        ),
      );
    }
  }
  notes.push(
    'Counts are deterministic for a given timing of the token bucket, so this case runs once per configuration whatever --runs says.',
    '"wasted" = requests − 429 answers − ideal. A 429 is the request the limit forces; its successful retry is counted in the ideal.',
  );
  return {
    title: `Requests per synced file under a ${emulatorRpm}/min emulator limit (${n} files)`,
    setup:
      `The engine in the bench process as the daemon runs it (watcher on, settle 300 ms, concurrency 4), the emulator in its own process with faults.requestsPerMinute = ${emulatorRpm} ` +
      `(a token bucket of ${emulatorRpm} that answers 429 with retry-after and retry-after-ms)${ctx.smoke ? '' : ', its bucket emptied first by uncounted requests (as another client sharing the key would), so the phases meet the limit rather than a full burst'}. Phases: ${n} new files synced at start-up; every file rewritten with new content; ` +
      `the engine closed and started again over the unchanged folder. Once with the engine's default queue.requestsPerMinute (${DEFAULT_ENGINE_RPM}), once with ${UNDER_LIMIT_RPM}.`,
    runs: 1,
    metrics,
    target:
      'exactly the ideal counts (1 new, 2 changed, 0 unchanged) and no request wasted beyond the 429s the limit forces',
    met: exact && wastedTotal === 0,
    verdict:
      exact && wastedTotal === 0
        ? 'every phase made exactly its ideal requests plus the 429s'
        : `${wastedTotal} request(s) beyond ideal + 429s; see the notes per phase`,
    notes,
  };
};
