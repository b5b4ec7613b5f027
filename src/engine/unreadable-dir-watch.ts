/**
 * The live side of unreadable folders (the pure rules are src/plan/unreadable-dirs.ts): the
 * folders the last full scan could not list, and those the watcher path met (a new folder it
 * could not list, or the folder above a path whose lstat said EACCES), are looked at again on the
 * failed-file backoff and at once when their parent's watch reports an event on them (a chmod);
 * one that can be listed now is watched again and checked as a new folder, so its files upload
 * and the rows under it whose file is gone are planned as removals, without a restart.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { FailureCode } from '../errors.js';
import { isUnderAny } from '../scan/inside.js';
import { checkListable } from '../scan/walk.js';
import type { IndexStore } from '../store/store.js';
import {
  dirDueForRecheck,
  formatUnreadableDirs,
  UNREADABLE_DIRS_META,
  type UnreadableDir,
  type UnreadableDirCheck,
} from '../plan/unreadable-dirs.js';

export interface UnreadableDirWatchDeps {
  root: string;
  index: IndexStore;
  logger: Logger;
  now: () => number;
  /** The root itself became readable: a full reconcile. */
  reconcile(why: string): void;
  rewatch(relDir: string): void;
  /** Looks at these paths again (the engine's recheck). */
  recheck(paths: string[]): void;
  /** Walks the folder as a new one: its files, and the rows under it whose file is gone. */
  walkNewDir(relDir: string): Promise<void>;
  recordError(path: string | null, error: string, code: FailureCode | null): void;
}

export class UnreadableDirWatch {
  readonly #deps: UnreadableDirWatchDeps;
  #dirs = new Map<string, UnreadableDirCheck>();
  /** Folders being looked at now (the tick and a watch event may ask at once). */
  readonly #checking = new Set<string>();

  constructor(deps: UnreadableDirWatchDeps) {
    this.#deps = deps;
  }

  /**
   * A full scan's unreadable folders replace the known ones (a folder seen again counts an
   * attempt). A known folder the scan could list is due at once: it was readable before its
   * recheck came, and the watcher, which could not list it, still has to watch it.
   */
  found(dirs: readonly UnreadableDir[], now: number): void {
    const before = this.#dirs;
    this.#dirs = new Map(
      dirs.map((d) => [d.path, { ...d, checkedAt: now, attempts: (before.get(d.path)?.attempts ?? 0) + 1 }]),
    );
    for (const [p, d] of before)
      if (!this.#dirs.has(p) && p !== '') this.#dirs.set(p, { ...d, checkedAt: 0, attempts: 0 });
  }

  /**
   * A folder the watcher path could not list. Recorded as the scan records one (the index meta
   * that `status` and `ls` read, a warning, a last error), so nothing under it is marked failed,
   * uploaded or deleted until it is readable again.
   */
  add(dir: UnreadableDir): void {
    if (this.#dirs.has(dir.path)) return;
    this.#dirs.set(dir.path, { ...dir, checkedAt: this.#deps.now(), attempts: 1 });
    this.#deps.index.setMeta(UNREADABLE_DIRS_META, formatUnreadableDirs([...this.#dirs.values()]));
    this.#deps.logger.warn(
      { event: 'unreadable-dir', path: dir.path, err: dir.reason },
      'cannot list folder: nothing under it is uploaded or deleted until it is readable',
    );
    this.#deps.recordError(dir.path === '' ? '.' : `${dir.path}/`, `cannot list folder: ${dir.reason}`, null);
  }

  /** True when `relPath` is a known unreadable folder or lies under one. */
  covers(relPath: string): boolean {
    return isUnderAny(relPath, this.#dirs.keys());
  }

  /**
   * A watch event on `relPath` (from its parent's watch): when it names a known unreadable
   * folder, most likely its mode changed, so it is looked at now rather than on the backoff.
   */
  touched(relPath: string): Promise<void> | null {
    const d = this.#dirs.get(relPath);
    return d ? this.recheck([d]) : null;
  }

  due(now: number): UnreadableDirCheck[] {
    return [...this.#dirs.values()].filter((d) => dirDueForRecheck(d, now));
  }

  async recheck(dirs: readonly UnreadableDirCheck[]): Promise<void> {
    for (const d of dirs) {
      if (this.#checking.has(d.path)) continue;
      this.#checking.add(d.path);
      try {
        await this.#recheckOne(d);
      } finally {
        this.#checking.delete(d.path);
      }
    }
  }

  async #recheckOne(d: UnreadableDirCheck): Promise<void> {
    const { index, logger } = this.#deps;
    const abs = path.join(this.#deps.root, ...d.path.split('/').filter(Boolean));
    const check = await checkListable(abs);
    if (!check.listable && !check.gone) {
      this.#dirs.set(d.path, { ...d, checkedAt: this.#deps.now(), attempts: d.attempts + 1 });
      return;
    }
    this.#dirs.delete(d.path);
    index.setMeta(UNREADABLE_DIRS_META, formatUnreadableDirs([...this.#dirs.values()]));
    if (!check.listable) return; // gone: the watcher reports its removal
    logger.info({ event: 'readable-dir', path: d.path }, 'folder readable again; scanning and watching it');
    if (d.path === '') {
      this.#deps.reconcile('the watched folder is readable again');
      return;
    }
    this.#deps.rewatch(d.path);
    // Every row under it: a synced file may have changed while it could not be seen.
    this.#deps.recheck(index.pathsUnder(d.path));
    await this.#deps.walkNewDir(d.path);
  }
}
