/**
 * The thin shell over chokidar 5. Every file event is only a hint: the path is touched in the
 * settle tracker, and once it has been quiet for settleMs the engine gets it in `onSettled` and
 * stats it against the index, which is the truth. No awaitWriteFinish and no atomic mode: the
 * settle time already turns a copy in progress or an editor's temp-file-and-rename save into one
 * settled path, and the `ignored` callback alone decides what is watched.
 */
import { lstat, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as chokidar from 'chokidar';
import { SettleTracker } from './settle.js';

export type ChokidarFactory = typeof chokidar.watch;
export type WatchMode = 'native' | 'polling';

export interface WatcherOptions {
  /** The watched folder. */
  readonly root: string;
  /** `relPath` is relative to root and '/'-separated. Ignored directories are not watched at all. */
  readonly ignored: (relPath: string, isDir: boolean) => boolean;
  /** Accepted for symmetry with the scan; chokidar itself never follows links (see below). */
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
  /** A directory was removed (its files are also reported one by one). */
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
  /**
   * Codes: E_WATCH_LIMIT (fell back to polling), E_ROOT_MISSING (the watched folder is gone:
   * delete nothing; settled paths are held until it is back).
   */
  readonly onWarning?: (message: string, code: string) => void;
  /** The watched folder is back after E_ROOT_MISSING; the watch was restarted. Rescan it. */
  readonly onRootRestored?: () => void;
  readonly onError?: (err: Error) => void;
  /** For tests. @default chokidar.watch */
  readonly chokidarFactory?: ChokidarFactory;
}

export interface Watcher {
  readonly mode: WatchMode;
  readonly warning: string | null;
  /** Paths waiting to settle. */
  readonly pendingCount: number;
  /** Resolves once the initial watch is set up. */
  ready(): Promise<void>;
  /**
   * Watches a folder again: one that could not be read when the watch began is not watched
   * (chokidar drops it), so once it is readable the engine asks for it here.
   */
  rewatch(relDir: string): void;
  /** Resolves when no path waits to settle. */
  onIdle(): Promise<void>;
  /** Idempotent: the same promise each time. Pending paths are dropped. */
  close(): Promise<void>;
}

const WATCH_LIMIT_CODES: readonly string[] = ['ENOSPC', 'EMFILE'];

function watchLimitMessage(code: string, root: string, pollIntervalMs: number): string {
  const what =
    code === 'ENOSPC'
      ? 'the system limit on inotify watches was reached (ENOSPC)'
      : 'the system refused more file watchers (EMFILE: too many open files or inotify instances)';
  return (
    `Watching ${root}: ${what}; fell back to polling every ${pollIntervalMs} ms, which uses more CPU ` +
    `and notices changes later. To raise the limit: sudo sysctl fs.inotify.max_user_watches=524288 ` +
    `(and fs.inotify.max_user_instances=512), and to keep it after a reboot put those lines in ` +
    `/etc/sysctl.d/60-claude-filesync.conf; then restart claude-filesync.`
  );
}

/** root-relative '/'-separated path, '' for the root itself, null for a path outside it. */
function relativeTo(root: string, abs: string): string | null {
  const rel = path.relative(root, path.resolve(root, abs));
  if (rel === '') return '';
  if (rel.startsWith('..') || path.isAbsolute(rel)) return null;
  return path.sep === '/' ? rel : rel.split(path.sep).join('/');
}

/** Whether the root is a directory, and its identity (dev:ino) when it can be stat'ed. */
async function rootState(p: string): Promise<{ present: boolean; id: string | null }> {
  try {
    const st = await stat(p);
    return { present: st.isDirectory(), id: `${st.dev}:${st.ino}` };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Only a sure absence counts: an unreadable root is not a reason to hold everything.
    return { present: !(code === 'ENOENT' || code === 'ENOTDIR'), id: null };
  }
}

const now = (): number => performance.now();

class ChokidarWatcher implements Watcher {
  #opts: WatcherOptions;
  #root: string;
  #factory: ChokidarFactory;
  #tracker: SettleTracker;
  /** Paths waiting to settle that had a change event (not only add or unlink). */
  #changed = new Set<string>();
  #mode: WatchMode;
  #backend: chokidar.FSWatcher | null = null;
  #limitWarning: string | null = null;
  #rootWarning: string | null = null;
  /** dev:ino of the root when last seen, to notice it being replaced. */
  #rootId: string | null = null;
  #timer: NodeJS.Timeout | undefined;
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
    this.#root = path.resolve(opts.root);
    this.#factory = opts.chokidarFactory ?? chokidar.watch;
    this.#tracker = new SettleTracker(opts.settleMs);
    this.#mode = opts.usePolling ? 'polling' : 'native';
    this.#readyPromise = new Promise((resolve) => (this.#resolveReady = resolve));
    this.#startBackend();
  }

  get mode(): WatchMode {
    return this.#mode;
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
    if (this.#closed || !this.#backend) return;
    const abs = path.join(this.#root, ...relDir.split('/'));
    this.#backend.unwatch(abs);
    this.#backend.add(abs);
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
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const backend = this.#backend;
    this.#backend = null;
    this.#resolveReady();
    for (const p of this.#tracker.paths()) this.#tracker.forget(p);
    this.#changed.clear();
    this.#checkIdle();
    if (backend) await backend.close().catch(() => undefined);
  }

  #startBackend(): void {
    const interval = this.#opts.pollIntervalMs;
    const backend = this.#factory(this.#root, {
      persistent: true,
      ignoreInitial: true,
      // Never let chokidar follow links: it recurses through symlink loops without end (ELOOP
      // storms) and would watch targets outside the folder. The scan follows links safely (inside
      // the folder only, loops detected) when watch.followSymlinks is on, so changes behind a
      // followed link are picked up by the next reconcile rather than live.
      followSymlinks: false,
      usePolling: this.#mode === 'polling',
      interval,
      binaryInterval: interval,
      atomic: false,
      // An unreadable folder is the scan's to report, not a watcher error per event.
      ignorePermissionErrors: true,
      ignored: (p: string, stats?: Stats) => this.#isIgnored(p, stats),
    });
    this.#backend = backend;
    const mine = (): boolean => this.#backend === backend && !this.#closed;
    backend.on('add', (p) => mine() && this.#touch(p));
    backend.on('change', (p) => mine() && this.#touch(p, true));
    backend.on('unlink', (p) => mine() && this.#touch(p));
    backend.on('raw', (_event, rawPath, details) => mine() && this.#onRaw(rawPath, details));
    backend.on('addDir', (p) => {
      if (!mine()) return;
      const rel = relativeTo(this.#root, p);
      if (rel) this.#opts.onDirAdded?.(rel);
    });
    backend.on('unlinkDir', (p) => {
      if (!mine()) return;
      const rel = relativeTo(this.#root, p);
      if (rel === '') {
        void this.#checkRoot();
        return;
      }
      if (rel !== null) this.#opts.onDirRemoved?.(rel);
    });
    backend.on('error', (err) => {
      if (mine()) this.#onBackendError(err as Error);
    });
    backend.on('ready', () => {
      if (!mine()) return;
      this.#resolveReady();
      void this.#checkRoot();
    });
  }

  #isIgnored(p: string, stats?: Stats): boolean {
    const rel = relativeTo(this.#root, p);
    if (rel === '' || rel === null) return false;
    try {
      // Without stats chokidar asks again with them before it descends into a directory,
      // so a directory-only pattern still keeps the directory unwatched.
      return this.#opts.ignored(rel, stats?.isDirectory() ?? false);
    } catch (err) {
      this.#opts.onError?.(err as Error);
      return false;
    }
  }

  #touch(p: string, changed = false): void {
    const rel = relativeTo(this.#root, p);
    if (rel === null || rel === '') return;
    if (changed) this.#changed.add(rel);
    this.#tracker.touch(rel, now());
    this.#schedule();
  }

  /**
   * chokidar drops a file's event when the mtime is the one it saw last and the atime is later
   * (it takes that for a mere read), even when the path now names another inode: a file made in
   * the same clock tick as the target's last write, read once, then moved over the target, was
   * never reported (issue 14, symptom 8), nor was `cp -p` over a file read since. So the raw
   * events are used too: one from a file's own watch (native), or a polled stat whose inode or
   * ctime moved (not only its atime: our own reads must not wake us), touches the file, marked
   * for a re-read. A directory's watch names its entries; add and unlink cover those.
   */
  #onRaw(rawPath: unknown, details: unknown): void {
    const d = details as { watchedPath?: unknown; curr?: Stats; prev?: Stats } | undefined;
    if (typeof rawPath !== 'string' || d === undefined) return;
    if (typeof d.watchedPath === 'string') {
      const watched = d.watchedPath;
      if (path.basename(watched) !== rawPath) {
        const rel = relativeTo(this.#root, path.join(watched, rawPath));
        if (rel) this.#opts.onDirEntryEvent?.(rel);
        return;
      }
      // A directory whose entry has its name looks the same: only a file there now is touched (a
      // path gone is chokidar's unlink to report).
      void lstat(watched).then(
        (st) => !st.isDirectory() && !this.#closed && this.#touch(watched, true),
        () => undefined,
      );
    } else if (d.curr && d.prev && d.curr.isFile() && (d.curr.ino !== d.prev.ino || d.curr.ctimeMs !== d.prev.ctimeMs)) {
      this.#touch(rawPath, true);
    }
  }

  #onBackendError(err: Error): void {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (WATCH_LIMIT_CODES.includes(code) && this.#mode === 'native') {
      if (!this.#switching) void this.#fallBackToPolling(code);
      return;
    }
    this.#opts.onError?.(err);
  }

  async #fallBackToPolling(code: string): Promise<void> {
    this.#switching = true;
    const old = this.#backend;
    this.#backend = null;
    this.#mode = 'polling';
    const message = watchLimitMessage(code, this.#root, this.#opts.pollIntervalMs);
    this.#limitWarning = message;
    try {
      await old?.close().catch(() => undefined);
      if (this.#closed) return;
      this.#startBackend();
      this.#opts.onWarning?.(message, 'E_WATCH_LIMIT');
    } finally {
      this.#switching = false;
    }
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#flushing || this.#closed) return;
    let delay: number;
    if (this.#rootWarning !== null) {
      delay = Math.max(1000, this.#opts.pollIntervalMs);
    } else {
      const at = this.#tracker.nextDueAt();
      if (at === null) return;
      delay = Math.max(0, Math.ceil(at - now()));
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#flush();
    }, delay);
  }

  async #flush(): Promise<void> {
    if (this.#closed) return;
    this.#flushing = true;
    try {
      // A folder that vanished would look like every file deleted: hold everything instead.
      if (!(await this.#checkRoot()) || this.#closed) return;
      const due = this.#tracker.due(now());
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
    const { present, id } = await rootState(this.#root);
    if (this.#closed) return present;
    if (present && id !== null && this.#rootId !== null && id !== this.#rootId && this.#rootWarning === null) {
      // The folder was replaced (moved away and another put in its place, or remounted): the
      // watches still point at the old one. Watch the new one and let the engine rescan.
      this.#rootId = id;
      this.#opts.onWarning?.(`The watched folder ${this.#root} was replaced; watching the new one and rescanning it.`, 'E_ROOT_REPLACED');
      const old = this.#backend;
      this.#backend = null;
      await old?.close().catch(() => undefined);
      if (this.#closed) return present;
      this.#startBackend();
      await this.#backendReady();
      if (!this.#closed) this.#opts.onRootRestored?.();
      return present;
    }
    if (present && id !== null) this.#rootId = id;
    if (!present && this.#rootWarning === null) {
      this.#rootWarning =
        `The watched folder ${this.#root} is missing; nothing is deleted remotely while it is gone. ` +
        `Restore or remount it (changes are picked up when it is back), or stop claude-filesync.`;
      this.#opts.onWarning?.(this.#rootWarning, 'E_ROOT_MISSING');
      this.#schedule();
    } else if (present && this.#rootWarning !== null) {
      this.#rootWarning = null;
      // The old watches died with the old folder: watch the new one.
      const old = this.#backend;
      this.#backend = null;
      await old?.close().catch(() => undefined);
      if (this.#closed) return present;
      this.#startBackend();
      // Tell the engine only once the new watches are in place, so its rescan and the watcher
      // between them miss nothing written after the folder came back.
      await this.#backendReady();
      if (this.#closed) return present;
      this.#opts.onRootRestored?.();
    }
    return present;
  }

  #backendReady(): Promise<void> {
    const backend = this.#backend;
    if (!backend) return Promise.resolve();
    return new Promise((resolve) => {
      backend.once('ready', () => resolve());
      backend.once('error', () => resolve());
    });
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
  return new ChokidarWatcher(options);
}
