/**
 * The chokidar 5 backend: polling (network mounts), and native watching where @parcel/watcher is
 * not available. chokidar keeps one watch per file in native mode (one descriptor per file on
 * macOS), which is why it is no longer the first choice for native watching.
 */
import { lstat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import * as chokidar from 'chokidar';
import { isWatchLimit, relativeTo, type BackendContext, type WatchBackend } from './backend.js';

export type ChokidarFactory = typeof chokidar.watch;

export class ChokidarBackend implements WatchBackend {
  readonly kind = 'chokidar' as const;
  #ctx: BackendContext;
  #fsw: chokidar.FSWatcher;
  #closed = false;
  #ready: Promise<void>;

  constructor(ctx: BackendContext, factory: ChokidarFactory = chokidar.watch) {
    this.#ctx = ctx;
    const interval = ctx.pollIntervalMs;
    const fsw = factory(ctx.root, {
      persistent: true,
      ignoreInitial: true,
      // Never let chokidar follow links: it recurses through symlink loops without end (ELOOP
      // storms) and would watch targets outside the folder. The scan follows links safely (inside
      // the folder only, loops detected) when watch.followSymlinks is on, so changes behind a
      // followed link are picked up by the next reconcile rather than live.
      followSymlinks: false,
      usePolling: ctx.mode === 'polling',
      interval,
      binaryInterval: interval,
      atomic: false,
      // An unreadable folder is the scan's to report, not a watcher error per event.
      ignorePermissionErrors: true,
      ignored: (p: string, stats?: Stats) => this.#isIgnored(p, stats),
    });
    this.#fsw = fsw;
    const events = ctx.events;
    const live = (): boolean => !this.#closed;
    fsw.on('add', (p) => live() && this.#file(p, false));
    fsw.on('change', (p) => live() && this.#file(p, true));
    fsw.on('unlink', (p) => live() && this.#file(p, false));
    fsw.on('raw', (_event, rawPath, details) => live() && this.#onRaw(rawPath, details));
    fsw.on('addDir', (p) => {
      const rel = live() ? relativeTo(ctx.root, p) : null;
      if (rel) events.dirAdded(rel);
    });
    fsw.on('unlinkDir', (p) => {
      const rel = live() ? relativeTo(ctx.root, p) : null;
      if (rel !== null) events.dirRemoved(rel);
    });
    fsw.on('error', (err) => live() && events.error(err as Error));
    this.#ready = new Promise((resolve) => {
      fsw.once('ready', () => resolve());
      // A watcher refused before it was ready never becomes ready: the caller falls back.
      fsw.on('error', (err) => isWatchLimit(err as Error) && resolve());
    });
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  rewatch(relDir: string): void {
    if (this.#closed) return;
    // chokidar drops a folder it could not read; watching it again needs an unwatch first.
    const abs = path.join(this.#ctx.root, ...relDir.split('/'));
    this.#fsw.unwatch(abs);
    this.#fsw.add(abs);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#fsw.close().catch(() => undefined);
  }

  #isIgnored(p: string, stats?: Stats): boolean {
    const rel = relativeTo(this.#ctx.root, p);
    if (rel === '' || rel === null) return false;
    try {
      // Without stats chokidar asks again with them before it descends into a directory,
      // so a directory-only pattern still keeps the directory unwatched.
      return this.#ctx.ignored(rel, stats?.isDirectory() ?? false);
    } catch (err) {
      this.#ctx.events.error(err as Error);
      return false;
    }
  }

  #file(p: string, changed: boolean): void {
    const rel = relativeTo(this.#ctx.root, p);
    if (rel) this.#ctx.events.file(rel, changed);
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
        const rel = relativeTo(this.#ctx.root, path.join(watched, rawPath));
        if (rel) this.#ctx.events.dirEntry(rel);
        return;
      }
      // A directory whose entry has its name looks the same: only a file there now is touched (a
      // path gone is chokidar's unlink to report).
      void lstat(watched).then(
        (st) => !st.isDirectory() && !this.#closed && this.#file(watched, true),
        () => undefined,
      );
    } else if (
      d.curr &&
      d.prev &&
      d.curr.isFile() &&
      (d.curr.ino !== d.prev.ino || d.curr.ctimeMs !== d.prev.ctimeMs)
    ) {
      this.#file(rawPath, true);
    }
  }
}
