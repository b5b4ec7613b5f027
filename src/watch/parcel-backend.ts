/**
 * The @parcel/watcher backend: one inotify watch per directory on Linux, one FSEvents stream on
 * macOS, instead of chokidar's watch (and on macOS descriptor) per file. Parcel reports paths with
 * create, update or delete and nothing else, so this adapter supplies what the shared watcher
 * needs from it:
 * - which paths are directories: a directory create is lstat'ed, and the directories known (from
 *   the walk at start and creates since) tell a directory delete from a file delete;
 * - the ignore rules: ours are a callback, parcel's are paths and globs. A walk of the directories
 *   at start finds the ignored ones (and the unreadable ones, see below) and hands them to parcel
 *   as paths, so they are not watched at all; events are filtered with the callback as well.
 *   A directory that becomes ignored later (a new node_modules) is watched until the next start,
 *   its events dropped here: parcel cannot change a subscription's ignore list in place;
 * - the files of a folder moved in whole (or made with `mkdir -p` and filled at once): parcel
 *   reports the folder only, and on Linux watches that one folder but none of the folders inside
 *   it, so the adapter walks it, reports its files, and subscribes to it separately when it has
 *   folders inside.
 */
import { lstat, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { relativeTo, type BackendContext, type WatchBackend } from './backend.js';
import {
  loadParcel,
  parcelBackendFor,
  parcelError,
  type ParcelEvent,
  type ParcelLoader,
  type ParcelModule,
  type ParcelOptions,
  type ParcelSubscription,
} from './parcel-module.js';
import { recentIn } from './recent-in.js';
import { type WalkContext, walkFolders } from './walk-folders.js';
import { ErrorCode } from '../errors.js';
import { isUnder } from '../scan/inside.js';

/** Parcel on Linux watches a new folder but not the folders already inside it (see above). */
const WATCHES_NEW_SUBFOLDERS = process.platform !== 'linux';
/** A folder that vanishes while the start-up crawl reads it fails the subscription: try again. */
const SUBSCRIBE_ATTEMPTS = 3;

async function rootMissing(root: string): Promise<boolean> {
  return stat(root).then(
    (st) => !st.isDirectory(),
    (err: NodeJS.ErrnoException) => err.code === 'ENOENT' || err.code === 'ENOTDIR',
  );
}

export interface ParcelBackendOptions {
  readonly load?: ParcelLoader;
  /** Read once at start: paths changed since it was written are reported as changed. */
  readonly replaySnapshot?: string | null;
}

export class ParcelBackend implements WatchBackend {
  readonly kind = 'parcel' as const;
  #ctx: BackendContext;
  #opts: ParcelBackendOptions;
  #parcel: ParcelModule | null = null;
  #main: ParcelSubscription | null = null;
  /** Separate subscriptions, by root-relative folder: moved-in folders and rewatched ones. */
  #nested = new Map<string, ParcelSubscription>();
  #dirs = new Set<string>();
  #ignoredDirs = new Set<string>();
  /** Unreadable at start, so handed to parcel as ignored (its crawl fails on them otherwise). */
  #unreadable = new Set<string>();
  /** Events are handled one batch after the other, so a folder's create is seen before its files. */
  #chain: Promise<void> = Promise.resolve();
  /** Files reported created, with when (oldest first), for RECENT_MS. */
  #created = new Map<string, number>();
  /** Folders removed, with when (oldest first), for RECENT_MS. */
  #dirsGone = new Map<string, number>();
  #closed = false;
  /**
   * Set when parcel reported an error. Its native watcher thread has then died and removes its
   * backend itself, which every subscription of the process shares; unsubscribing (or writing a
   * snapshot) afterwards deadlocks the main thread in the backend's destructor (seen on Linux when
   * a setuid call interrupts its poll), so the subscriptions are dropped without a word.
   */
  #failed = false;
  #ready: Promise<void>;
  /** The snapshot replay started once ready (see #start). */
  #replaying: Promise<void> = Promise.resolve();

  readonly #walkContext: WalkContext = {
    dirs: this.#dirs,
    ignoredDirs: this.#ignoredDirs,
    unreadable: this.#unreadable,
    abs: (rel) => this.#abs(rel),
    isIgnored: (rel, isDir) => this.#isIgnored(rel, isDir),
    closed: () => this.#closed,
    fileFound: (rel) => this.#ctx.events.file(rel, false),
  };

  constructor(ctx: BackendContext, opts: ParcelBackendOptions = {}) {
    this.#ctx = ctx;
    this.#opts = opts;
    this.#ready = this.#start();
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  /**
   * A folder unreadable at start was left out of the subscription (parcel's crawl fails on it):
   * subscribe to it on its own. Any other folder is already watched: inotify keeps a watch across
   * a chmod, so a folder that became unreadable after the start is watched again once readable.
   */
  rewatch(relDir: string): void {
    if (this.#closed || !this.#unreadable.delete(relDir)) return;
    this.#dirs.add(relDir);
    this.#chain = this.#chain.then(async () => {
      await this.#walk(relDir, false);
      await this.#subscribeNested(relDir);
    });
  }

  /** Writes the snapshot (from the live tree: no crawl) when asked, then stops watching. */
  async close(snapshotPath?: string): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#ready;
    // The replay removes the old snapshot file: done before the new one is written there.
    await this.#replaying;
    const parcel = this.#parcel;
    const main = this.#main;
    if (parcel && main && snapshotPath && !this.#failed) {
      const tmp = `${snapshotPath}.tmp`;
      try {
        await parcel.writeSnapshot(this.#ctx.root, tmp, this.#subscribeOptions(''));
        await rename(tmp, snapshotPath);
      } catch (err) {
        this.#ctx.events.error(parcelError(err as Error));
      }
    }
    const subs = [main, ...this.#nested.values()];
    this.#main = null;
    this.#nested.clear();
    if (this.#failed) return;
    // A subscription whose folder is gone fails to remove its watch; it is dropped all the same.
    await Promise.all(subs.map((s) => s?.unsubscribe().catch(() => undefined)));
  }

  async #start(): Promise<void> {
    let parcel: ParcelModule;
    try {
      parcel = await (this.#opts.load ?? loadParcel)();
    } catch (err) {
      this.#unavailable(`the native watcher could not be loaded: ${(err as Error).message}`, err as Error);
      return;
    }
    this.#parcel = parcel;
    for (let attempt = 1; !this.#closed; attempt++) {
      this.#dirs.clear();
      this.#ignoredDirs.clear();
      this.#unreadable.clear();
      try {
        await this.#walk('', true);
        if (this.#closed) return;
        this.#main = await parcel.subscribe(
          this.#ctx.root,
          (err, events) => this.#onEvents(err, events),
          this.#subscribeOptions(''),
        );
        break;
      } catch (err) {
        const e = parcelError(err as Error);
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOSPC' || code === 'EMFILE') {
          this.#ctx.events.error(e);
          return;
        }
        // A folder missing at start is the shared watcher's to report (E_ROOT_MISSING); it starts
        // a new backend once the folder is back.
        if (await rootMissing(this.#ctx.root)) return;
        if (attempt >= SUBSCRIBE_ATTEMPTS) {
          this.#unavailable(`the native watcher refused ${this.#ctx.root}: ${e.message}`, e);
          return;
        }
      }
    }
    if (this.#closed) {
      const main = this.#main;
      this.#main = null;
      await main?.unsubscribe().catch(() => undefined);
      return;
    }
    // Ready now: the replay (a diff of the whole tree, ~0.3 s at 100,000 files) feeds its hints
    // as they come, and the start-up reconcile, which is the truth, does not wait for it.
    const snapshot = this.#opts.replaySnapshot;
    if (snapshot) this.#replaying = this.#replay(parcel, snapshot);
  }

  /**
   * The paths changed while nobody watched, from the snapshot written at the last close, compared
   * with the live tree of the subscription (so no second crawl). They are only hints: the start-up
   * reconcile stays the truth, these are handled in its first seconds. The snapshot is removed
   * once read, so a crash does not replay an old one.
   */
  async #replay(parcel: ParcelModule, snapshot: string): Promise<void> {
    let events: ParcelEvent[];
    try {
      events = await parcel.getEventsSince(this.#ctx.root, snapshot, this.#subscribeOptions(''));
    } catch (err) {
      const e = parcelError(err as Error);
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.#ctx.events.error(e);
      return;
    } finally {
      await rm(snapshot, { force: true }).catch(() => undefined);
    }
    for (const e of events) {
      if (this.#closed) return;
      const rel = relativeTo(this.#ctx.root, e.path);
      if (!rel || this.#dirs.has(rel) || this.#underIgnored(rel) || this.#isIgnored(rel, false)) continue;
      this.#ctx.events.file(rel, e.type !== 'delete');
    }
  }

  #unavailable(message: string, cause: Error): void {
    this.#ctx.events.error(Object.assign(new Error(message, { cause }), { code: ErrorCode.WatchUnavailable }));
  }

  /** Ignored and unreadable folders under `relDir`, as absolute paths for parcel. */
  #subscribeOptions(relDir: string): ParcelOptions {
    const ignore: string[] = [];
    for (const d of this.#ignoredDirs) if (isUnder(d, relDir)) ignore.push(this.#abs(d));
    for (const d of this.#unreadable) if (isUnder(d, relDir)) ignore.push(this.#abs(d));
    const backend = parcelBackendFor(process.platform);
    return backend ? { ignore, backend } : { ignore };
  }

  #abs(rel: string): string {
    return rel === '' ? this.#ctx.root : path.join(this.#ctx.root, ...rel.split('/'));
  }

  #onEvents(err: Error | null, events: ParcelEvent[]): void {
    if (this.#closed) return;
    if (err) {
      // Parcel drops a subscription after an error: this one no longer watches.
      this.#failed = true;
      const e = parcelError(err);
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EMFILE') this.#ctx.events.error(e);
      else this.#unavailable(`the native watcher stopped: ${e.message}`, e);
      return;
    }
    // An empty batch: parcel saw changes and coalesced them all away (an editor's save taken for
    // a create, then a delete: nothing). Which file, only a look at the folder can tell.
    if (events.length === 0) {
      this.#ctx.events.coalesced();
      return;
    }
    this.#chain = this.#chain
      .then(() => this.#handle(events))
      .catch((e: unknown) => this.#ctx.events.error(e as Error));
  }

  async #handle(events: readonly ParcelEvent[]): Promise<void> {
    for (const e of events) {
      if (this.#closed) return;
      const rel = relativeTo(this.#ctx.root, e.path);
      if (rel === null) continue;
      if (rel === '') {
        if (e.type === 'delete') this.#ctx.events.dirRemoved('');
        continue;
      }
      if (this.#underIgnored(rel)) continue;
      if (this.#unreadable.has(rel)) {
        // A folder that could not be listed is no file: its chmod (an update here) is the moment
        // to look at it again, and its removal removes what was under it.
        if (e.type !== 'delete') this.#ctx.events.dirEntry(rel);
        else {
          this.#unreadable.delete(rel);
          this.#ctx.events.dirRemoved(rel);
        }
        continue;
      }
      if (e.type === 'delete') {
        if (this.#ignoredDirs.delete(rel) || recentIn(this.#dirsGone, rel)) continue;
        if (this.#dirs.has(rel)) this.#dirGone(rel);
        else if (!this.#isIgnored(rel, false)) this.#ctx.events.file(rel, false);
        continue;
      }
      if (e.type === 'update' && !this.#dirs.has(rel)) {
        // An update is a write in place, or a path removed and made again within parcel's
        // debounce (an editor's rename over the file): either way, read it again.
        if (!this.#isIgnored(rel, false)) this.#ctx.events.file(rel, !recentIn(this.#created, rel));
        continue;
      }
      const isDir = await lstat(e.path).then(
        (st) => st.isDirectory(),
        () => null,
      );
      if (this.#closed) return;
      if (isDir === null) {
        // Gone already: a file made and removed, or a folder whose delete follows.
        if (!this.#dirs.has(rel) && !this.#isIgnored(rel, false)) this.#ctx.events.file(rel, false);
      } else if (!isDir) {
        if (this.#dirs.has(rel)) this.#dirGone(rel);
        if (this.#isIgnored(rel, false)) continue;
        this.#dirsGone.delete(rel);
        if (e.type === 'create') {
          this.#created.delete(rel);
          this.#created.set(rel, performance.now());
        }
        this.#ctx.events.file(rel, e.type === 'update');
      } else if (this.#dirs.has(rel)) {
        // A known folder's own event: its attributes changed (a chmod), or it was made again.
        this.#ctx.events.dirEntry(rel);
      } else {
        if (this.#isIgnored(rel, true)) {
          this.#ignoredDirs.add(rel);
          continue;
        }
        this.#dirs.add(rel);
        this.#dirsGone.delete(rel);
        this.#ctx.events.dirAdded(rel);
        const hasSubfolders = await this.#walk(rel, false, true);
        if (hasSubfolders && !WATCHES_NEW_SUBFOLDERS) {
          await this.#subscribeNested(rel);
          // A file written between the walk and the new watches is seen by neither: walk again.
          await this.#walk(rel, false, true);
        }
      }
    }
  }

  #dirGone(rel: string): void {
    const prefix = `${rel}/`;
    const at = performance.now();
    for (const d of this.#dirs) {
      if (d === rel || d.startsWith(prefix)) {
        this.#dirs.delete(d);
        this.#dirsGone.set(d, at);
      }
    }
    for (const [d, sub] of this.#nested) {
      if (d === rel || d.startsWith(prefix)) {
        this.#nested.delete(d);
        if (!this.#failed) void sub.unsubscribe().catch(() => undefined);
      }
    }
    this.#ctx.events.dirRemoved(rel);
  }

  async #subscribeNested(rel: string): Promise<void> {
    const parcel = this.#parcel;
    if (!parcel || this.#closed || this.#failed || this.#nested.has(rel)) return;
    try {
      const sub = await parcel.subscribe(
        this.#abs(rel),
        (err, events) => this.#onEvents(err, events),
        this.#subscribeOptions(rel),
      );
      if (this.#closed || !this.#dirs.has(rel)) await sub.unsubscribe().catch(() => undefined);
      else this.#nested.set(rel, sub);
    } catch (err) {
      const e = parcelError(err as Error);
      const code = (e as NodeJS.ErrnoException).code;
      // A folder removed (or locked) again before its watch began is no error of ours.
      if (code === 'ENOSPC' || code === 'EMFILE') this.#ctx.events.error(e);
      else if (code !== 'ENOENT' && code !== 'EACCES') this.#ctx.events.error(e);
    }
  }

  /**
   * Walks the folders under `relDir`, noting which are watched, ignored or unreadable. With
   * `report`, its files are reported as new (a folder moved in whole). True when it found a folder.
   */
  #walk(relDir: string, atStart: boolean, report = false): Promise<boolean> {
    return walkFolders(this.#walkContext, relDir, atStart, report);
  }

  #underIgnored(rel: string): boolean {
    if (this.#ignoredDirs.size === 0 && this.#unreadable.size === 0) return false;
    for (let i = rel.indexOf('/'); i !== -1; i = rel.indexOf('/', i + 1)) {
      const dir = rel.slice(0, i);
      if (this.#ignoredDirs.has(dir) || this.#unreadable.has(dir)) return true;
    }
    return false;
  }

  #isIgnored(rel: string, isDir: boolean): boolean {
    try {
      return this.#ctx.ignored(rel, isDir);
    } catch (err) {
      this.#ctx.events.error(err as Error);
      return false;
    }
  }
}
