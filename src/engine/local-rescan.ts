/**
 * A look at the whole folder against the index, for when the watcher knows that something
 * changed but not what: @parcel/watcher coalesces a create and a delete of one path in a batch
 * into nothing, and takes an editor's rename over a file for a create, so an edited-then-deleted
 * file can leave an empty batch and no event (random seed 611). The files found changed, and the
 * indexed files found gone, go to the watcher path as if it had been told of them.
 *
 * Rescans run after the settle time, one at a time, and take at most a tenth of the time: after
 * one that took t, the next waits at least 10 t (a 100,000-file folder, walked in about 1.5 s,
 * is looked at again at most every 15 s however many empty batches come).
 */
import type { IndexStore } from '../store/store.js';
import type { IgnoreMatcher } from '../scan/ignore.js';
import { scanTree } from '../scan/scanner.js';
import { rescannedPaths } from '../plan/rescanned-paths.js';
import { scanChanges } from '../plan/plan-concurrent.js';
import type { EngineCallbacks } from './engine-link.js';

/** The share of time rescans may take at most. */
export const RESCAN_TIME_SHARE = 0.1;

export interface LocalRescanDeps {
  /** The rescan itself (the engine's: scan, then hand over). */
  run(): Promise<void>;
  later(key: string, delayMs: number, run: () => void): void;
  /** Counts the running rescan as work in progress (onIdle waits for it). */
  track(work: Promise<void>): void;
  now(): number;
  settleMs: number;
}

export class LocalRescan {
  readonly #deps: LocalRescanDeps;
  #scheduled = false;
  #running = false;
  #again = false;
  #earliest = 0;

  constructor(deps: LocalRescanDeps) {
    this.#deps = deps;
  }

  /** Asks for a rescan: soon, or after the one running, within the time share. */
  request(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#scheduled) return;
    this.#scheduled = true;
    const delay = Math.max(this.#deps.settleMs, this.#earliest - this.#deps.now());
    this.#deps.later('rescan', delay, () => {
      this.#scheduled = false;
      this.#start();
    });
  }

  #start(): void {
    this.#running = true;
    const started = this.#deps.now();
    const work = this.#deps.run().finally(() => {
      this.#running = false;
      this.#earliest = this.#deps.now() + (this.#deps.now() - started) / RESCAN_TIME_SHARE;
      if (this.#again) {
        this.#again = false;
        this.request();
      }
    });
    this.#deps.track(work);
  }
}

export interface RescanOptions {
  dir: string;
  matcher: IgnoreMatcher;
  followSymlinks: boolean;
  maxFileBytes: number;
  index: IndexStore;
}

/**
 * Walks the folder against the index (reading only files whose stat changed) and returns the
 * paths for the watcher path; 'many' past EARLY_CHANGES_LIMIT changes (a reconcile judges those
 * better); null when the folder could not be looked at.
 */
export async function rescanFolder(o: RescanOptions): Promise<string[] | 'many' | null> {
  const lookup = o.index.localLookup();
  const scan = await scanTree(o.dir, {
    matcher: o.matcher,
    followSymlinks: o.followSymlinks,
    maxFileBytes: o.maxFileBytes,
    lookup,
    unchangedAsRows: true,
  });
  const changed = scanChanges(scan.files, lookup);
  if (changed === null) return 'many';
  return rescannedPaths(
    scan,
    changed,
    o.index.planRows().map((r) => r.path),
  );
}

/**
 * A rescan whose findings go back to the engine: the paths to its watcher path, or, past
 * EARLY_CHANGES_LIMIT changes, a reconcile (which judges many changes better).
 */
export async function rescanAndRecheck(
  o: RescanOptions,
  engine: Pick<EngineCallbacks, 'recheck' | 'reconcileInBackground'>,
): Promise<void> {
  const paths = await rescanFolder(o);
  if (paths === 'many') engine.reconcileInBackground('many changes the watcher could not name');
  else if (paths && paths.length > 0) engine.recheck(paths);
}
