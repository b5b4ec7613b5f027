/**
 * Case 5: sha256 throughput of src/scan/hash.ts (hashFile, in a worker process) against
 * `sha256sum` on the same file. Each side runs twice in a row per run and the second (warm page
 * cache) run counts, so both read from memory and the figure is the hashing path, not the disk.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { MB, metric, type BenchCase } from './common.js';
import { bigFile } from './fixtures.js';
import { runChild, runWorker } from './processes.js';

export const hashThroughput: BenchCase = async (ctx) => {
  const bytes = ctx.smoke ? MB : 1024 * MB;
  const file = path.join(ctx.workDir, 'hash-input.bin');
  ctx.log(`case 5: writing a ${bytes / MB} MB file`);
  await bigFile(file, bytes);
  const ours: number[] = [];
  const ref: number[] = [];
  const notes: string[] = [];
  try {
    for (let run = 0; run < ctx.runs; run++) {
      let o = await runWorker('hash', { file });
      o = await runWorker('hash', { file });
      await runChild([file], { command: 'sha256sum' });
      const s = await runChild([file], { command: 'sha256sum' });
      const ourDigest = String(o.result?.sha256);
      const refDigest = s.stdout.split(/\s+/)[0];
      if (ourDigest !== refDigest) throw new Error(`digests differ: ours ${ourDigest}, sha256sum ${refDigest}`);
      ours.push(bytes / MB / (Number(o.result?.ms) / 1000));
      ref.push(bytes / MB / (s.wallMs / 1000));
    }
  } finally {
    await rm(file, { force: true });
  }
  const m = metric(
    'throughput (warm page cache)',
    'MiB/s',
    ours,
    ref,
    'ours: hashFile inside the worker; sha256sum: process wall time',
  );
  const met = m.ratio !== null && m.ratio >= 0.9;
  return {
    title: `Hashing throughput on a ${bytes >= 1024 * MB ? `${bytes / 1024 / MB} GiB` : `${bytes / MB} MiB`} file`,
    setup:
      'Ours: `hashFile` from src/scan/hash.ts (1 MiB reads, double-buffered, node:crypto) in a worker process. Reference: coreutils `sha256sum` on the same file. Digests are checked equal.',
    runs: ctx.runs,
    metrics: [m],
    target: 'at least 0.9x the throughput of sha256sum',
    met,
    verdict: `${m.ratio?.toFixed(2) ?? '—'}x sha256sum (${m.ours?.toFixed(0)} vs ${m.reference?.toFixed(0)} MiB/s)`,
    notes,
  };
};
