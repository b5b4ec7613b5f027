/**
 * What a watch backend (a library's adapter) reports to the shared watcher (src/watch/watcher.ts),
 * and what the shared watcher asks of it. A backend only turns its library's events into these
 * calls; settling, the root checks, idle waiters and the fall-back decisions stay in one place.
 */
import path from 'node:path';
import { relativeInside } from '../scan/inside.js';

export type WatchMode = 'native' | 'polling';
/** Which library watches: @parcel/watcher (one watch per directory) or chokidar 5. */
export type WatchBackendKind = 'parcel' | 'chokidar';

export interface BackendEvents {
  /** A file (or a path now gone) changed; `changed` when written in place: read it again. */
  file(rel: string, changed: boolean): void;
  dirAdded(rel: string): void;
  /** A directory was removed; '' for the watched folder itself. */
  dirRemoved(rel: string): void;
  /**
   * A directory's watch reported an event on one of its entries (made, removed, attributes
   * changed). A chmod of a folder shows only here, so an unreadable folder is looked at again.
   */
  dirEntry(rel: string): void;
  /**
   * Something changed, but the library coalesced its events away (parcel drops a create followed
   * by a delete in one batch, and takes an editor's rename over a file for a create): no event
   * names what. The folder must be looked at again against the index.
   */
  coalesced(): void;
  /**
   * An error of the library. Those with code ENOSPC or EMFILE mean the OS refused more watches;
   * E_WATCH_UNAVAILABLE means this backend cannot watch at all here (the shared watcher falls back).
   */
  error(err: Error): void;
}

export interface WatchBackend {
  readonly kind: WatchBackendKind;
  /** Resolves once the initial watch is set up, or once it failed (the failure went to `error`). */
  ready(): Promise<void>;
  /** Watches a folder that could not be read when the watch began. */
  rewatch(relDir: string): void;
  /** With `snapshotPath`, a backend that can records the tree there for the next start. */
  close(snapshotPath?: string): Promise<void>;
}

export interface BackendContext {
  /** Absolute, resolved. */
  readonly root: string;
  readonly mode: WatchMode;
  readonly pollIntervalMs: number;
  /** The caller's matcher; it may throw (the error goes to `error`, the path is kept). */
  readonly ignored: (relPath: string, isDir: boolean) => boolean;
  readonly events: BackendEvents;
}

/** root-relative '/'-separated path, '' for the root itself, null for a path outside it. */
export function relativeTo(root: string, abs: string): string | null {
  const target = path.resolve(root, abs);
  return path.relative(root, target) === '' ? '' : relativeInside(root, target);
}

/** The OS refused more watches (codes as Node reports them). */
export const WATCH_LIMIT_CODES: readonly string[] = ['ENOSPC', 'EMFILE'];

export function isWatchLimit(err: Error): boolean {
  return WATCH_LIMIT_CODES.includes((err as NodeJS.ErrnoException).code ?? '');
}
