/**
 * Case 6: one big upload. Each side uploads the same file from its own worker process, whose
 * peak RSS is the kernel's (getrusage maxRSS, reported by the worker itself). The emulator runs
 * in another process with a folder store (so it does not hold the file in memory) and a size
 * limit raised above the file (the API's own limit is 500 MB; the emulator's is configurable).
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { BENCH_KEY, MB, metric, type BenchCase } from './common.js';
import { bigFile } from './fixtures.js';
import { EmulatorProcess, runWorker, type ChildRun } from './processes.js';

export const bigUpload: BenchCase = async (ctx) => {
  const bytes = ctx.smoke ? 2 * MB : 1024 * MB;
  const file = path.join(ctx.workDir, 'upload-input.bin');
  ctx.log(`case 6: writing a ${bytes / MB} MB file`);
  await bigFile(file, bytes, 3 * bytes + 1024 * MB);
  const ours = { ms: [] as number[], rss: [] as number[] };
  const sdk = { ms: [] as number[], rss: [] as number[] };
  const notes: string[] = [];
  const once = async (task: 'client-upload' | 'sdk-upload-one', run: number): Promise<ChildRun> => {
    const dataDir = path.join(ctx.workDir, `case6-store-${task}-${run}`);
    await mkdir(dataDir, { recursive: true });
    const emulator = await EmulatorProcess.start({ apiKey: BENCH_KEY, dataDir, maxFileBytes: bytes + MB });
    try {
      const r = await runWorker(task, { file, url: emulator.url }, { timeoutMs: 20 * 60_000 });
      const stored = await emulator.stats();
      if (Number(r.result?.bytes) !== bytes)
        throw new Error(`${task} stored ${String(r.result?.bytes)} bytes of ${bytes}`);
      if (stored.byRoute.upload !== 1) notes.push(`${task} run ${run + 1}: ${stored.byRoute.upload} upload requests`);
      return r;
    } finally {
      await emulator.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  };
  try {
    for (let run = 0; run < ctx.runs; run++) {
      const o = await once('client-upload', run);
      ours.ms.push(Number(o.result?.ms));
      ours.rss.push((o.peakRssBytes ?? NaN) / MB);
      const s = await once('sdk-upload-one', run);
      sdk.ms.push(Number(s.result?.ms));
      sdk.rss.push((s.peakRssBytes ?? NaN) / MB);
    }
  } finally {
    await rm(file, { force: true });
  }
  const rss = metric('peak RSS of the uploading process', 'MiB', ours.rss, sdk.rss);
  const wall = metric('wall time of the upload', 'ms', ours.ms, sdk.ms);
  const limit = ctx.smoke ? null : 150;
  return {
    title: `One ${bytes >= 1024 * MB ? `${bytes / 1024 / MB} GiB` : `${bytes / MB} MiB`} upload`,
    setup:
      'Ours: `createFilesClient().upload({ path })` (streamed from disk) in a worker process. Reference: the official SDK, `client.files.upload({ file: fs.createReadStream(path) })`, in a worker process. ' +
      'The emulator runs in its own process with a folder store (dataDir) and maxFileBytes just above the file size; a fresh store per upload, removed after. Wall time is measured inside the worker around the upload call.',
    runs: ctx.runs,
    metrics: [rss, wall],
    target: 'peak RSS under 150 MB',
    met: limit === null ? null : rss.ours !== null && rss.ours * MB < limit * 1e6,
    verdict: `peak RSS ${rss.ours?.toFixed(0)} MiB (${(((rss.ours ?? 0) * MB) / 1e6).toFixed(0)} MB) vs the SDK's ${rss.reference?.toFixed(0)} MiB; upload ${wall.ratio?.toFixed(2) ?? '—'}x the SDK's wall time`,
    notes,
  };
};
