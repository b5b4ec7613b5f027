/**
 * Case 8: the watcher (src/watch/watcher.ts) over a big tree, in a worker process: time from
 * createWatcher() to ready(), and the process's peak RSS (getrusage maxRSS). The inotify limit is
 * read from /proc and reported with the number of watches the process held once ready (native
 * mode watches directories: about one per folder).
 */
import { readFileSync } from 'node:fs';
import { MB, single, type BenchCase } from './common.js';
import { tinyTree } from './fixtures.js';
import { runWorker } from './processes.js';
import { treeSize } from './synced-tree.js';

function readLimit(): number | null {
  try {
    return Number(readFileSync('/proc/sys/fs/inotify/max_user_watches', 'utf8').trim());
  } catch {
    return null;
  }
}

export const watchBig: BenchCase = async (ctx) => {
  const { files, folders } = ctx.smoke ? { files: 500, folders: 5 } : treeSize(ctx);
  const dir = await tinyTree(ctx.cacheDir, files, folders);
  const limit = readLimit();
  const ms: number[] = [];
  const rss: number[] = [];
  const watches: number[] = [];
  const notes: string[] = [];
  let mode = 'native';
  let backend = 'parcel';
  for (let run = 0; run < ctx.runs; run++) {
    const r = await runWorker('watch', { dir }, { timeoutMs: 30 * 60_000 });
    ms.push(Number(r.result?.ms));
    rss.push((r.peakRssBytes ?? NaN) / MB);
    watches.push(Number(r.result?.inotifyWatches));
    mode = String(r.result?.mode);
    backend = String(r.result?.backend);
    const warnings = r.result?.warnings as string[] | undefined;
    if (warnings?.length) notes.push(`run ${run + 1}: ${warnings.join('; ')}`);
  }
  notes.push(
    `fs.inotify.max_user_watches on this machine: ${limit ?? 'unknown'} (left as it was). The watcher ran in ${mode} mode (${backend}) and held the inotify watches counted above ` +
      `(from /proc/self/fdinfo); one watch per directory would be ${folders + 1}.`,
  );
  const rssMetric = single('peak RSS of the watching process', 'MiB', rss);
  const readyMetric = single('start-up: createWatcher() to ready()', 'ms', ms);
  const watchMetric = single('inotify watches held when ready', '', watches, `limit ${limit ?? 'unknown'}`);
  // About one watch per folder: the folders, the root, and a little slack.
  const watchesOk = watchMetric.ours !== null && watchMetric.ours <= (folders + 1) * 1.1;
  const met = ctx.smoke
    ? null
    : rssMetric.ours !== null &&
      rssMetric.ours * MB < 250e6 &&
      watchesOk &&
      readyMetric.ours !== null &&
      readyMetric.ours < 3000;
  return {
    title: `Watching ${files.toLocaleString('en-US')} files in ${folders.toLocaleString('en-US')} folders`,
    setup:
      'A worker process runs createWatcher() with the default ignore rules over the tree (native mode: @parcel/watcher, one inotify watch per folder) and waits for ready(). No reference: the target is absolute.',
    runs: ctx.runs,
    metrics: [readyMetric, rssMetric, watchMetric],
    target: 'peak RSS under 250 MB, about one inotify watch per folder, ready in under 3 s',
    met,
    verdict: `peak RSS ${rssMetric.ours?.toFixed(0)} MiB, ${watchMetric.ours ?? '?'} watches for ${folders + 1} folders, ready after ${((readyMetric.ours ?? 0) / 1000).toFixed(1)} s, ${mode} mode (${backend})`,
    notes,
  };
};
