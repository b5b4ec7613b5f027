import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';

const WALK_CONCURRENCY = 8;

/** The parcel backend's folder sets, which a walk fills, and what a walk asks of it. */
export interface WalkContext {
  /** Folders watched, root-relative. */
  readonly dirs: Set<string>;
  /** Folders the ignore rules leave out, handed to parcel so they are not watched. */
  readonly ignoredDirs: Set<string>;
  /** Folders that could not be listed. */
  readonly unreadable: Set<string>;
  abs(rel: string): string;
  isIgnored(rel: string, isDir: boolean): boolean;
  closed(): boolean;
  /** A file found by a walk that reports (a folder moved in whole). */
  fileFound(rel: string): void;
}

/**
 * Walks the folders under `relDir`, noting which are watched, ignored or unreadable. With
 * `report`, its files are reported as new (a folder moved in whole). True when it found a folder.
 */
export async function walkFolders(w: WalkContext, relDir: string, atStart: boolean, report = false): Promise<boolean> {
  let found = false;
  const queue = [relDir];
  const worker = async (): Promise<void> => {
    for (let rel = queue.shift(); rel !== undefined && !w.closed(); rel = queue.shift()) {
      let entries: Dirent[];
      try {
        entries = await readdir(w.abs(rel), { withFileTypes: true });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EACCES' || code === 'EPERM') {
          if (rel !== '') {
            w.unreadable.add(rel);
            w.dirs.delete(rel);
          } else if (atStart) throw err;
        }
        continue;
      }
      for (const ent of entries) {
        const child = rel === '' ? ent.name : `${rel}/${ent.name}`;
        if (ent.isDirectory()) {
          if (w.isIgnored(child, true)) {
            w.ignoredDirs.add(child);
            continue;
          }
          found = true;
          w.dirs.add(child);
          queue.push(child);
        } else if (report && !w.isIgnored(child, false)) {
          w.fileFound(child);
        }
      }
    }
  };
  // The queue grows as folders are read: the workers keep taking until none is left.
  while (queue.length > 0 && !w.closed()) await Promise.all(Array.from({ length: WALK_CONCURRENCY }, worker));
  return found;
}
