/**
 * The watcher the engine uses, over one of two libraries (src/watch/backend.ts): @parcel/watcher
 * for native watching (one watch per directory), chokidar 5 for polling (network mounts) and as
 * the fallback when the native watcher is refused. Every file event is only a hint: the path is
 * touched in the settle tracker, and once it has been quiet for settleMs the engine gets it in
 * `onSettled` and stats it against the index, which is the truth. No awaitWriteFinish and no
 * atomic mode: the settle time already turns a copy in progress or an editor's temp-file-and-rename
 * save into one settled path, and the `ignored` callback alone decides what is reported.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  isWatchLimit,
  type BackendContext,
  type WatchBackend,
  type WatchBackendKind,
  type WatchMode,
} from './backend.js';
import { ChokidarBackend, type ChokidarFactory } from './chokidar-backend.js';
import { ParcelBackend } from './parcel-backend.js';
import type { ParcelLoader } from './parcel-module.js';
import { SettleTracker } from './settle.js';
import { rootState } from '../scan/observe-root.js';
import { watchLimitMessage } from './watch-limit-message.js';
import { type CancelTimer, type Scheduler, systemScheduler } from '../clock/scheduler.js';
import { ErrorCode } from '../errors.js';

export type { ChokidarFactory } from './chokidar-backend.js';
export type { ParcelLoader, ParcelModule } from './parcel-module.js';
export type { WatchBackendKind, WatchMode } from './backend.js';
export { watchLimitMessage } from './watch-limit-message.js';

export interface WatcherOptions {
  /** The watched folder. */
  readonly root: string;
  /** `relPath` is relative to root and '/'-separated. Ignored directories are not watched at all. */
  readonly ignored: (relPath: string, isDir: boolean) => boolean;
  /** Accepted for symmetry with the scan; the watchers never follow links (see chokidar-backend.ts). */
  readonly followSymlinks: boolean;
  /** Start in polling mode (network mounts). Native mode falls back to it on ENOSPC/EMFILE. */
  readonly usePolling: boolean;
  readonly pollIntervalMs: number;
  readonly settleMs: number;
  /**
   * Relative paths that have been quiet for settleMs. Stat them: they may be gone. `rehash` holds
   * those of them that had a change event (content or attributes written in place): read them
   * again even if their stat looks as indexed, since `cp -p` or `touch -r` restore the stat.
   */
  readonly onSettled: (paths: string[], rehash: ReadonlySet<string>) => void;
  /** A directory was removed (its files may not be reported one by one: a folder moved away is one event). */
  readonly onDirRemoved?: (relDir: string) => void;
  /**
   * A directory appeared. Its files are reported one by one too, but a file written into a new
   * directory before its native watch is in place can be missed on a loaded machine, so the
   * engine also walks it once it has settled.
   */
  readonly onDirAdded?: (relDir: string) => void;
  /**
   * A watched folder reported an event on one of its entries (`relPath`): created, removed, or
   * its attributes changed. A chmod of a folder shows only here, so the engine uses it to look at
   * an unreadable folder again at once.
   */
  readonly onDirEntryEvent?: (relPath: string) => void;
  /** The native watcher coalesced events away without naming a path: look at the folder again. */
  readonly onCoalesced?: () => void;
  /**
   * Codes: E_WATCH_LIMIT (fell back to polling), E_WATCH_FALLBACK (the native directory watcher
   * is unavailable: chokidar watches instead), E_ROOT_MISSING (the watched folder is gone: delete
   * nothing; settled paths are held until it is back), E_ROOT_REPLACED.
   */
  readonly onWarning?: (message: string, code: ErrorCode) => void;
  /** The watched folder is back after E_ROOT_MISSING; the watch was restarted. Rescan it. */
  readonly onRootRestored?: () => void;
  readonly onError?: (err: Error) => void;
  /**
   * Where the native watcher records the tree when it closes, and reads it back at the next
   * start to report what changed meanwhile (as changed paths, at once). No snapshot without it.
   */
  readonly snapshotPath?: string;
  /** Which library watches in native mode; chokidar is the fallback. @default 'parcel' */
  readonly nativeBackend?: WatchBackendKind;
  /** For tests. @default chokidar.watch */
  readonly chokidarFactory?: ChokidarFactory;
  /** For tests. @default loads @parcel/watcher */
  readonly parcelLoader?: ParcelLoader;
  /** The settle timer's clock and timers. @default the system's, on the monotonic clock */
  readonly scheduler?: Scheduler;
}

export interface Watcher {
  readonly mode: WatchMode;
  /** The library watching now. */
  readonly backend: WatchBackendKind;
  readonly warning: string | null;
  /** Paths waiting to settle. */
  readonly pendingCount: number;
  /** Resolves once the initial watch is set up. */
  ready(): Promise<void>;
  /**
   * Watches a folder again: one that could not be read when the watch began is not watched
   * (chokidar drops it, parcel is told to skip it), so once it is readable the engine asks for it here.
   */
  rewatch(relDir: string): void;
  /** Resolves when no path waits to settle. */
  onIdle(): Promise<void>;
  /** Idempotent: the same promise each time. Pending paths are dropped. */
  close(): Promise<void>;
}

/** Whether the root is a directory, and its identity (dev:ino) when it can be stat'ed (src/scan/observe-root.ts). */
async function rootIdState(p: string): Promise<{ present: boolean; id: string | null }> {
  const { present, id } = await rootState(p);
  return { present, id: id && `${id.dev}:${id.ino}` };
}

/** Monotonic: a wall-clock step must not settle every path at once or none for an hour. */
const monotonic = (): number => performance.now();

class SettlingWatcher implements Watcher {
  #opts: WatcherOptions;
  #root: string;
  #tracker: SettleTracker;
  /** Paths waiting to settle that had a change event (not only add or unlink). */
  #changed = new Set<string>();
  #mode: WatchMode;
  #kind: WatchBackendKind;
  #backend: WatchBackend | null = null;
  /** The snapshot is read by the first backend only: a restarted one would report everything. */
  #replaySnapshot: string | null;
  #limitWarning: string | null = null;
  #rootWarning: string | null = null;
  /** dev:ino of the root when last seen, to notice it being replaced. */
  #rootId: string | null = null;
  readonly #scheduler: Scheduler;
  #cancelTimer: CancelTimer | undefined;
  #flushing = false;
  #switching = false;
  #rootCheck: Promise<boolean> | null = null;
  #closed = false;
  #closePromise: Promise<void> | undefined;
  #readyPromise: Promise<void>;
  #resolveReady!: () => void;
  #idleWaiters: (() => void)[] = [];

  constructor(opts: WatcherOptions) {
    this.#opts = opts;
    this.#scheduler = opts.scheduler ?? systemScheduler(monotonic);
    this.#root = path.resolve(opts.root);
    this.#tracker = new SettleTracker(opts.settleMs);
    this.#mode = opts.usePolling ? 'polling' : 'native';
    this.#kind = opts.usePolling ? 'chokidar' : (opts.nativeBackend ?? 'parcel');
    this.#replaySnapshot = opts.snapshotPath ?? null;
    this.#readyPromise = new Promise((resolve) => (this.#resolveReady = resolve));
    this.#startBackend();
  }

  get mode(): WatchMode {
    return this.#mode;
  }

  get backend(): WatchBackendKind {
    return this.#kind;
  }

  get warning(): string | null {
    return this.#rootWarning ?? this.#limitWarning;
  }

  get pendingCount(): number {
    return this.#tracker.size;
  }

  ready(): Promise<void> {
    return this.#readyPromise;
  }

  rewatch(relDir: string): void {
    if (this.#closed) return;
    this.#backend?.rewatch(relDir);
  }

  onIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  close(): Promise<void> {
    this.#closePromise ??= this.#close();
    return this.#closePromise;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    const backend = this.#backend;
    this.#backend = null;
    this.#resolveReady();
    for (const p of this.#tracker.paths()) this.#tracker.forget(p);
    this.#changed.clear();
    this.#checkIdle();
    // No snapshot while the folder is missing: the next start would take every file for new.
    const snapshot = this.#rootWarning === null ? this.#opts.snapshotPath : undefined;
    if (backend) await backend.close(snapshot).catch(() => undefined);
  }

  #startBackend(): void {
    // Events of a backend replaced (or closed) are dropped.
    let backend: WatchBackend | null = null;
    const mine = (): boolean => backend !== null && this.#backend === backend && !this.#closed;
    const ctx: BackendContext = {
      root: this.#root,
      mode: this.#mode,
      pollIntervalMs: this.#opts.pollIntervalMs,
      ignored: this.#opts.ignored,
      events: {
        file: (rel, changed) => mine() && this.#touch(rel, changed),
        dirAdded: (rel) => mine() && this.#opts.onDirAdded?.(rel),
        dirEntry: (rel) => mine() && this.#opts.onDirEntryEvent?.(rel),
        coalesced: () => mine() && this.#opts.onCoalesced?.(),
        dirRemoved: (rel) => {
          if (!mine()) return;
          if (rel === '') void this.#checkRoot();
          else this.#opts.onDirRemoved?.(rel);
        },
        error: (err) => mine() && this.#onBackendError(err),
      },
    };
    backend =
      this.#kind === 'parcel'
        ? new ParcelBackend(ctx, {
            ...(this.#opts.parcelLoader ? { load: this.#opts.parcelLoader } : {}),
            replaySnapshot: this.#replaySnapshot,
          })
        : new ChokidarBackend(ctx, this.#opts.chokidarFactory);
    this.#replaySnapshot = null;
    this.#backend = backend;
    void backend.ready().then(() => {
      if (!mine()) return;
      this.#resolveReady();
      void this.#checkRoot();
    });
  }

  #touch(rel: string, changed: boolean): void {
    if (changed) this.#changed.add(rel);
    this.#tracker.touch(rel, this.#scheduler.now());
    this.#schedule();
  }

  #onBackendError(err: Error): void {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (isWatchLimit(err) && this.#mode === 'native') {
      if (!this.#switching)
        void this.#fallBack(
          'polling',
          watchLimitMessage(code, this.#root, this.#opts.pollIntervalMs),
          ErrorCode.WatchLimit,
        );
      return;
    }
    if (code === ErrorCode.WatchUnavailable && this.#kind === 'parcel') {
      const message =
        `Watching ${this.#root}: ${err.message}; watching with chokidar instead, which keeps one watch per file ` +
        `(more memory on big folders, and on macOS one open file per file).`;
      if (!this.#switching) void this.#fallBack('native', message, ErrorCode.WatchFallback);
      return;
    }
    this.#opts.onError?.(err);
  }

  /** Replaces the backend by chokidar, native or polling, and says why. */
  async #fallBack(mode: WatchMode, message: string, code: ErrorCode): Promise<void> {
    this.#switching = true;
    const old = this.#backend;
    this.#backend = null;
    this.#mode = mode;
    this.#kind = 'chokidar';
    this.#limitWarning = message;
    try {
      await old?.close().catch(() => undefined);
      if (this.#closed) return;
      this.#startBackend();
      this.#opts.onWarning?.(message, code);
    } finally {
      this.#switching = false;
    }
  }

  #schedule(): void {
    if (this.#cancelTimer !== undefined || this.#flushing || this.#closed) return;
    let delay: number;
    if (this.#rootWarning !== null) {
      delay = Math.max(1000, this.#opts.pollIntervalMs);
    } else {
      const at = this.#tracker.nextDueAt();
      if (at === null) return;
      delay = Math.max(0, Math.ceil(at - this.#scheduler.now()));
    }
    this.#cancelTimer = this.#scheduler.later(delay, () => {
      this.#cancelTimer = undefined;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#closed) return;
    this.#flushing = true;
    try {
      // A folder that vanished would look like every file deleted: hold everything instead.
      if (!(await this.#checkRoot()) || this.#closed) return;
      const due = this.#tracker.due(this.#scheduler.now());
      if (due.length > 0) {
        const rehash = new Set<string>();
        for (const rel of due) if (this.#changed.delete(rel)) rehash.add(rel);
        try {
          this.#opts.onSettled(due, rehash);
        } catch (err) {
          this.#opts.onError?.(err as Error);
        }
      }
    } finally {
      this.#flushing = false;
      this.#schedule();
      this.#checkIdle();
    }
  }

  /** True when the root is there. Moves in and out of the E_ROOT_MISSING state. */
  #checkRoot(): Promise<boolean> {
    // One check at a time, so a folder that comes back is re-watched once.
    this.#rootCheck ??= this.#doCheckRoot().finally(() => (this.#rootCheck = null));
    return this.#rootCheck;
  }

  async #doCheckRoot(): Promise<boolean> {
    const { present, id } = await rootIdState(this.#root);
    if (this.#closed) return present;
    if (present && id !== null && this.#rootId !== null && id !== this.#rootId && this.#rootWarning === null) {
      // The folder was replaced (moved away and another put in its place, or remounted): the
      // watches still point at the old one. Watch the new one and let the engine rescan.
      this.#rootId = id;
      this.#opts.onWarning?.(
        `The watched folder ${this.#root} was replaced; watching the new one and rescanning it.`,
        ErrorCode.RootReplaced,
      );
      await this.#restartBackend();
      if (!this.#closed) this.#opts.onRootRestored?.();
      return present;
    }
    if (present && id !== null) this.#rootId = id;
    if (!present && this.#rootWarning === null) {
      this.#rootWarning =
        `The watched folder ${this.#root} is missing; nothing is deleted remotely while it is gone. ` +
        `Restore or remount it (changes are picked up when it is back), or stop claude-filesync.`;
      this.#opts.onWarning?.(this.#rootWarning, ErrorCode.RootMissing);
      this.#schedule();
    } else if (present && this.#rootWarning !== null) {
      this.#rootWarning = null;
      // The old watches died with the old folder: watch the new one. Tell the engine only once
      // the new watches are in place, so its rescan and the watcher between them miss nothing
      // written after the folder came back.
      await this.#restartBackend();
      if (this.#closed) return present;
      this.#opts.onRootRestored?.();
    }
    return present;
  }

  async #restartBackend(): Promise<void> {
    const old = this.#backend;
    this.#backend = null;
    await old?.close().catch(() => undefined);
    if (this.#closed) return;
    this.#startBackend();
    await (this.#backend as WatchBackend | null)?.ready();
  }

  #isIdle(): boolean {
    return this.#closed || (this.#tracker.size === 0 && !this.#flushing);
  }

  #checkIdle(): void {
    if (!this.#isIdle()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

export function createWatcher(options: WatcherOptions): Watcher {
  if (!Number.isFinite(options.pollIntervalMs) || options.pollIntervalMs <= 0) {
    throw new TypeError(
      `Expected pollIntervalMs to be a finite number > 0, got ${String(options.pollIntervalMs)} (${typeof options.pollIntervalMs})`,
    );
  }
  return new SettlingWatcher(options);
}
