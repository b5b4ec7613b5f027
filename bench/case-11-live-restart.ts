/**
 * Case 11: live from the first second. A restart over the synced tree of case 3 (bench/synced-tree.ts)
 * with the watcher on and the default 400 requests/min, so the start-up listing is paced (100
 * pages for 100,000 files). One file is changed 1 s after start() and another 1 s after the engine
 * is live (its watcher ready); each is timed until its new content is remote, and the start-up
 * reconcile's phase is read at the change and at arrival.
 */
import { median, single, type BenchCase, type Metric } from './common.js';
import { runWorker } from './processes.js';
import { syncedTree, treeSize } from './synced-tree.js';

const SETTLE_MS = 1000;

interface Phase {
  phase: string;
  listing: { pages: number; files: number; done: boolean };
}
interface Change {
  atMs: number;
  toRemoteMs: number;
  /** Whether the watcher was ready (the engine live) at the change, and at its arrival. */
  liveAtChange: boolean;
  liveAtRemote: boolean;
  reconcileAtChange: Phase | null;
  reconcileAtRemote: Phase | null;
}

/** tinyTree's name for file i (bench/fixtures.ts). */
function fixturePath(i: number, files: number, folders: number): string {
  const perFolder = Math.ceil(files / folders);
  const width = String(folders - 1).length;
  return `d${String(Math.floor(i / perFolder)).padStart(width, '0')}/f${String(i).padStart(6, '0')}.txt`;
}

/** The start-up reconcile begins once the watcher is ready: before that it has not started. */
const phaseText = (r: Phase | null, live: boolean) =>
  r ? `${r.phase} (${r.listing.pages} pages listed)` : live ? 'done' : 'not started (watcher not ready)';

export const liveRestart: BenchCase = async (ctx) => {
  const tree = await syncedTree(ctx);
  const { files, folders } = treeSize(ctx);
  const live: number[] = [];
  const startup: number[] = [];
  const early: number[] = [];
  const afterLive: number[] = [];
  const listingAtChange: boolean[] = [];
  const notes: string[] = [];
  for (let run = 0; run < ctx.runs; run++) {
    const r = await runWorker(
      'live-restart',
      {
        dir: tree.dir,
        stateDir: tree.stateDir,
        url: tree.emulator.url,
        settleMs: SETTLE_MS,
        early: fixturePath(7, files, folders),
        afterLive: fixturePath(files - 7, files, folders),
      },
      { timeoutMs: 30 * 60_000 },
    );
    const res = r.result as
      | { liveMs: number; startupMs: number; early: Change; afterLive: Change; counts: { synced: number } }
      | undefined;
    if (!res?.early) throw new Error(`live-restart failed: ${r.stdout.slice(-800)}`);
    live.push(res.liveMs);
    startup.push(res.startupMs);
    early.push(res.early.toRemoteMs);
    afterLive.push(res.afterLive.toRemoteMs);
    listingAtChange.push(res.afterLive.reconcileAtChange?.phase === 'listing');
    notes.push(
      `run ${run + 1}: live at ${(res.liveMs / 1000).toFixed(1)} s, start-up reconcile done at ${(res.startupMs / 1000).toFixed(1)} s; ` +
        `change at 1 s: remote after ${(res.early.toRemoteMs / 1000).toFixed(2)} s (reconcile at the change: ${phaseText(res.early.reconcileAtChange, res.early.liveAtChange)}, at arrival: ${phaseText(res.early.reconcileAtRemote, res.early.liveAtRemote)}); ` +
        `change 1 s after live: remote after ${(res.afterLive.toRemoteMs / 1000).toFixed(2)} s (at the change: ${phaseText(res.afterLive.reconcileAtChange, true)}, at arrival: ${phaseText(res.afterLive.reconcileAtRemote, true)})`,
    );
    if (res.counts.synced !== files)
      notes.push(`run ${run + 1}: ${res.counts.synced} rows synced after, expected ${files}`);
  }
  const target = SETTLE_MS + 1000;
  const earlyMed = median(early);
  const liveMed = median(afterLive);
  const metrics: Metric[] = [
    single(
      'change made 1 s after start(): until its new content is remote',
      'ms',
      early,
      `target: within settle (${SETTLE_MS} ms) + 1 s`,
    ),
    single(
      'change made 1 s after the engine is live: until its new content is remote',
      'ms',
      afterLive,
      'the watcher path while the start-up reconcile runs',
    ),
    single(
      'engine live (watcher ready) after start()',
      'ms',
      live,
      '@parcel/watcher: one watch per folder, ready after its crawl of the tree',
    ),
    single(
      'start-up reconcile done after start()',
      'ms',
      startup,
      `${Math.ceil(files / 1000)} listing pages at 400 requests/min`,
    ),
  ];
  const met = earlyMed !== null && earlyMed <= target && listingAtChange.every(Boolean);
  notes.push(
    `Fixture: case 3's tree (${files.toLocaleString('en-US')} files in ${folders.toLocaleString('en-US')} folders) and its emulator process; both changed files are put back after each run.`,
    'Remote means the engine committed the answered upload of the new content (its index row holds the new copy).',
  );
  return {
    title: `Live from the first second: a change during a restart over ${files.toLocaleString('en-US')} files`,
    setup:
      `A worker process builds the engine with the watcher on (settle ${SETTLE_MS} ms, default 400 requests/min) over the synced tree and calls start(); ` +
      'one file is changed 1 s after start(), another 1 s after the engine is live. No reference: the figure is against the target.',
    runs: ctx.runs,
    metrics,
    target: `a change made 1 s after start() is remote within settle + 1 s (${target} ms), while the start-up reconcile is still listing`,
    met,
    verdict:
      `change at 1 s: ${earlyMed === null ? '—' : `${(earlyMed / 1000).toFixed(2)} s`} to remote; change 1 s after live: ${liveMed === null ? '—' : `${(liveMed / 1000).toFixed(2)} s`} ` +
      `(${listingAtChange.every(Boolean) ? 'the start-up reconcile was still listing' : 'the start-up reconcile had stopped listing'} at that change); live after ${((median(live) ?? 0) / 1000).toFixed(1)} s`,
    notes,
  };
};
