/**
 * The live side of unreadable folders (the pure rules are src/sync/unreadable-dirs.ts): the
 * folders the last full scan could not list are looked at again on the failed-file backoff; one
 * that can be listed now is watched again and checked as a new folder, so its files upload and
 * the rows under it whose file is gone are planned as removals, without a restart.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { IndexStore } from '../index/store.js';
import { dirDueForRecheck, formatUnreadableDirs, UNREADABLE_DIRS_META, type UnreadableDir, type UnreadableDirCheck } from './unreadable-dirs.js';

export interface UnreadableDirWatchDeps {
  root: string;
  index: IndexStore;
  logger: Logger;
  now: () => number;
  /** The root itself became readable: a full reconcile. */
  reconcile(why: string): void;
  rewatch(relDir: string): void;
  settle(paths: string[]): void;
  walkNewDir(relDir: string): Promise<void>;
}

export class UnreadableDirWatch {
  readonly #d: UnreadableDirWatchDeps;
  #dirs = new Map<string, UnreadableDirCheck>();

  constructor(deps: UnreadableDirWatchDeps) {
    this.#d = deps;
  }

  /** A full scan's unreadable folders replace the known ones (a folder seen again counts an attempt). */
  found(dirs: readonly UnreadableDir[], now: number): void {
    const before = this.#dirs;
    this.#dirs = new Map(dirs.map((d) => [d.path, { ...d, checkedAt: now, attempts: (before.get(d.path)?.attempts ?? 0) + 1 }]));
  }

  due(now: number): UnreadableDirCheck[] {
    return [...this.#dirs.values()].filter((d) => dirDueForRecheck(d, now));
  }

  async recheck(dirs: readonly UnreadableDirCheck[]): Promise<void> {
    const { index, logger } = this.#d;
    for (const d of dirs) {
      const abs = path.join(this.#d.root, ...d.path.split('/').filter(Boolean));
      const error = await readdir(abs).then(
        () => null,
        (err: unknown) => err as NodeJS.ErrnoException,
      );
      if (error && error.code !== 'ENOENT') {
        this.#dirs.set(d.path, { ...d, checkedAt: this.#d.now(), attempts: d.attempts + 1 });
        continue;
      }
      this.#dirs.delete(d.path);
      index.setMeta(UNREADABLE_DIRS_META, formatUnreadableDirs([...this.#dirs.values()]));
      if (error) continue; // gone: the watcher reports its removal
      logger.info({ event: 'readable-dir', path: d.path }, 'folder readable again; scanning and watching it');
      if (d.path === '') {
        this.#d.reconcile('the watched folder is readable again');
        continue;
      }
      this.#d.rewatch(d.path);
      this.#d.settle(index.all().filter((r) => r.path.startsWith(d.path + '/')).map((r) => r.path));
      await this.#d.walkNewDir(d.path);
    }
  }
}
