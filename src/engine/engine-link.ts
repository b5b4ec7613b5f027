/**
 * What the engine's collaborators may ask of the engine itself. The composition root
 * (src/daemon/compose-engine.ts) builds the collaborators before the engine, so they are handed an
 * EngineLink; the engine binds it once, when it is built, and from then on the link forwards.
 */
import type { StatusReport } from './contract.js';
import type { FailureCode } from '../errors.js';

export interface RecheckOptions {
  /** Paths to read even if their stat is as indexed (a change event, a changed upload). */
  readonly rehash?: ReadonlySet<string>;
}

export interface EngineCallbacks {
  /**
   * "Look at these paths again": checked against the index and planned by the watcher path. The
   * one entry point for settled watcher events, rescans, walks, rechecks and a pass's hand-back.
   */
  recheck(paths: string[], options?: RecheckOptions): void;
  /** Keeps an error for `status` (its last errors). */
  recordError(path: string | null, error: string, code: FailureCode | null): void;
  /** Counts `work` as busy (onIdle waits for it) and logs `failure` when it fails. */
  track(work: Promise<void>, failure: string): void;
  /** Runs a reconcile behind the watcher path (queued after any running one), saying why. */
  reconcileInBackground(why: string): void;
  /** The latest plan's deletion-safety verdict, for `status`. */
  held(verdict: NonNullable<StatusReport['heldDeletes']>): void;
  /** Watches a folder again (src/watch/watcher.ts rewatch); nothing when not watching. */
  rewatch(relDir: string): void;
  /** True when no watcher event waits to settle. */
  watcherQuiet(): boolean;
  /** A timer fired or was cleared: whoever waits in onIdle looks again. */
  wakeIdle(): void;
}

export class EngineLink implements EngineCallbacks {
  #engine: EngineCallbacks | null = null;

  /** Called once, by the engine being built. */
  bind(engine: EngineCallbacks): void {
    if (this.#engine !== null) throw new Error('EngineLink.bind: the link is bound to an engine already');
    this.#engine = engine;
  }

  // Arrow properties: the collaborators take these as plain functions.
  readonly recheck = (paths: string[], options?: RecheckOptions): void => this.#bound().recheck(paths, options);
  readonly recordError = (path: string | null, error: string, code: FailureCode | null): void =>
    this.#bound().recordError(path, error, code);
  readonly track = (work: Promise<void>, failure: string): void => this.#bound().track(work, failure);
  readonly reconcileInBackground = (why: string): void => this.#bound().reconcileInBackground(why);
  readonly held = (verdict: NonNullable<StatusReport['heldDeletes']>): void => this.#bound().held(verdict);
  readonly rewatch = (relDir: string): void => this.#bound().rewatch(relDir);
  readonly watcherQuiet = (): boolean => this.#bound().watcherQuiet();
  readonly wakeIdle = (): void => this.#bound().wakeIdle();

  #bound(): EngineCallbacks {
    if (this.#engine === null) throw new Error('EngineLink: called before the engine was built');
    return this.#engine;
  }
}
