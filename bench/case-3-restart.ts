/**
 * Case 3: a restart over an unchanged tree of tiny files, every one synced and indexed. Ours: a
 * worker process that builds the engine (index, client, watcher off) and runs start() until idle:
 * the start-up listing, the scan against the index, the plan. Reference: a bare recursive walk
 * with lstat of every entry in a worker process (the lower bound of any scan). Bytes read from
 * file contents are counted three ways: opens of any path under the tree through node:fs (the
 * worker wraps fs before claude-filesync's modules load), the scanner's own counter when it has
 * one, and /proc/self/io around the scan alone.
 */
import { median, metric, single, type BenchCase, type Metric } from './common.js';
import { runWorker } from './processes.js';
import { syncedTree } from './synced-tree.js';

/** High enough that the request gate never waits. */
const UNBOUND_RPM = 1_000_000;
const fmtMs = (v: number | null) => (v === null ? '—' : `${(v / 1000).toFixed(2)} s`);

export const restartUnchanged: BenchCase = async (ctx) => {
  const tree = await syncedTree(ctx);
  const walk: number[] = [];
  const walkParallel: number[] = [];
  const walkSync: number[] = [];
  const restart: number[] = [];
  const restartUnbound: number[] = [];
  const scan: number[] = [];
  const listing: number[] = [];
  const opens: number[] = [];
  const scanOpens: number[] = [];
  const scanRchar: number[] = [];
  const restartReadBytes: number[] = [];
  const requests: number[] = [];
  const scanBytesRead: number[] = [];
  const notes: string[] = [];
  // Warm the dentry and inode caches once, so every measured run sees the same cache state.
  await runWorker('bare-walk', { dir: tree.dir });
  for (let run = 0; run < ctx.runs; run++) {
    const wp = await runWorker('bare-walk', { dir: tree.dir, mode: 'parallel' });
    const ws = await runWorker('bare-walk', { dir: tree.dir, mode: 'sync' });
    walkParallel.push(Number(wp.result?.ms));
    walkSync.push(Number(ws.result?.ms));
    // The lower bound of this run: the faster way of walking.
    walk.push(Math.min(Number(wp.result?.ms), Number(ws.result?.ms)));
    const before = await tree.emulator.stats();
    const r = await runWorker(
      'restart',
      { dir: tree.dir, stateDir: tree.stateDir, url: tree.emulator.url },
      { timeoutMs: 30 * 60_000 },
    );
    const after = await tree.emulator.stats();
    requests.push(after.requests - before.requests);
    restart.push(Number(r.result?.ms));
    opens.push(Number(r.result?.opens));
    restartReadBytes.push(Number(r.result?.readBytes));
    const counts = r.result?.counts as { synced?: number } | undefined;
    if (counts?.synced !== tree.files)
      notes.push(`run ${run + 1}: ${counts?.synced} rows synced after the restart, expected ${tree.files}`);
    if (after.byRoute.upload !== before.byRoute.upload)
      notes.push(`run ${run + 1}: the restart uploaded ${after.byRoute.upload - before.byRoute.upload} files`);
    const l = await runWorker('list-all', { url: tree.emulator.url });
    listing.push(Number(l.result?.ms));
    // The same restart with the request limiter out of the way: what the pacing of the listing costs.
    const u = await runWorker(
      'restart',
      { dir: tree.dir, stateDir: tree.stateDir, url: tree.emulator.url, requestsPerMinute: UNBOUND_RPM },
      { timeoutMs: 30 * 60_000 },
    );
    restartUnbound.push(Number(u.result?.ms));
    const s = await runWorker('scan', { dir: tree.dir, stateDir: tree.stateDir });
    scan.push(Number(s.result?.ms));
    scanOpens.push(Number(s.result?.opens));
    scanRchar.push(Number(s.result?.rchar));
    const stats = s.result?.stats as Record<string, unknown> | null | undefined;
    if (stats && typeof stats.bytesRead === 'number') scanBytesRead.push(stats.bytesRead);
  }
  const restartMetric = metric('restart: engine start() until idle (listing + scan + plan)', 'ms', restart, walk);
  const unboundMetric = metric(
    `restart with queue.requestsPerMinute ${UNBOUND_RPM.toLocaleString('en-US')} (limiter not binding)`,
    'ms',
    restartUnbound,
    walk,
  );
  const scanMetric = metric('scan alone (scanTree against the index rows)', 'ms', scan, walk);
  const metrics: Metric[] = [
    restartMetric,
    unboundMetric,
    scanMetric,
    single(
      'listing alone (our client, pages of 1,000)',
      'ms',
      listing,
      'part of the restart; a bare walk has no remote side',
    ),
    single('bare walk, parallel async readdir + lstat', 'ms', walkParallel),
    single('bare walk, readdirSync + lstatSync', 'ms', walkSync),
    single(
      'requests made by the restart',
      '',
      requests,
      `${Math.ceil(tree.files / 1000)} listing pages of 1,000 expected`,
    ),
    single('files under the tree opened through node:fs (restart)', '', opens, 'must be 0'),
    single('files under the tree opened through node:fs (scan)', '', scanOpens, 'must be 0'),
    ...(scanBytesRead.length ? [single('scanner stats.bytesRead', 'B', scanBytesRead, 'must be 0')] : []),
    single(
      '/proc/self/io rchar during the scan alone',
      'B',
      scanRchar,
      'all read() bytes of the process, index lookups excluded (rows preloaded)',
    ),
    single(
      '/proc/self/io read_bytes during the restart',
      'B',
      restartReadBytes,
      'bytes fetched from the block device (page cache misses)',
    ),
  ];
  const zeroRead =
    opens.every((n) => n === 0) && scanOpens.every((n) => n === 0) && scanBytesRead.every((n) => n === 0);
  const within = restartMetric.ratio !== null && restartMetric.ratio <= 1.5;
  const scanWithin = scanMetric.ratio !== null && scanMetric.ratio <= 1.5;
  notes.push(
    `Fixture: ${tree.files.toLocaleString('en-US')} files of about 12 bytes in ${tree.folders.toLocaleString('en-US')} folders, generated once under ${ctx.cacheDir}; ` +
      `remote copies seeded in the emulator's process (${(tree.setupMs.seed / 1000).toFixed(1)} s), the index built by one reconcile with adopt (${(tree.setupMs.adopt / 1000).toFixed(1)} s, which hashes each file once). Neither is timed here.`,
    'The page cache is warm for all sides (one unmeasured walk first); a cold-cache restart is dominated by the disk for both.',
    'rchar counts every read() of the worker between the two readings of /proc/self/io (the index rows are loaded before, so sqlite is outside it); with zero opens under the tree, whatever it shows was read from elsewhere.',
  );
  return {
    title: `Restart over an unchanged tree of ${tree.files.toLocaleString('en-US')} files`,
    setup:
      'Ours: a worker process that opens the index, builds the engine (watcher off; case 8 measures the watcher; default queue.requestsPerMinute 400, and once more with the limiter out of the way) and runs start() until idle, against the emulator process holding the remote copies. ' +
      'Reference: a bare recursive walk with lstat of every file in a worker process, the faster per run of two ways (parallel async readdir withFileTypes + lstat, and readdirSync + lstatSync). Both wall times are measured inside the worker, excluding Node start-up.',
    runs: ctx.runs,
    metrics,
    target: 'within 1.5x of the bare walk, zero bytes read from files',
    met: within && zeroRead,
    verdict:
      `restart ${restartMetric.ratio?.toFixed(2) ?? '—'}x the bare walk (${fmtMs(restartMetric.ours)} vs ${fmtMs(restartMetric.reference)}); scan alone ${scanMetric.ratio?.toFixed(2) ?? '—'}x${scanWithin ? ' (within 1.5x)' : ''}; ` +
      `listing alone ${fmtMs(median(listing))}; with the limiter not binding the restart takes ${fmtMs(unboundMetric.ours)} (${unboundMetric.ratio?.toFixed(2) ?? '—'}x): ` +
      `the rest is the default 400 requests/min pacing the ${Math.ceil(tree.files / 1000)} listing pages (a burst of 13, then one every 150 ms); ` +
      `${zeroRead ? 'no file under the tree was opened (0 bytes read from files)' : 'files were opened: see the metrics'}`,
    notes,
  };
};
