/**
 * Hands the files a reconcile's walk finds new or changed to the watcher path as the walk finds
 * them, in batches of what one turn of the event loop brought, instead of all at once when the
 * walk ends: after a restart over 100,000 files a change made meanwhile goes up as soon as the
 * walk reaches it (issue 10: live from the first second). At most EARLY_CHANGES_LIMIT go ahead
 * of the plan (src/plan/plan-concurrent.ts); past it, the rest wait for the plan, which judges a
 * big change as a whole. Only for a pass over a known index: a fresh one's files may have copies
 * to adopt, which only the listing tells.
 */
import type { LocalObservation } from '../store/types.js';
import { EARLY_CHANGES_LIMIT } from '../plan/plan-concurrent.js';

export class ScannedHandOff {
  readonly #deliver: (files: readonly LocalObservation[]) => void;
  readonly #limit: number;
  #waiting: LocalObservation[] = [];
  #handed = 0;
  #scheduled = false;
  #finished = false;

  constructor(deliver: (files: readonly LocalObservation[]) => void, limit = EARLY_CHANGES_LIMIT) {
    this.#deliver = deliver;
    this.#limit = limit;
  }

  /** A file the walk found (its observation final). */
  add(obs: LocalObservation): void {
    if (this.#finished || this.#handed + this.#waiting.length >= this.#limit) return;
    this.#waiting.push(obs);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#flush());
  }

  /** The walk ended: what waits goes now, and nothing after. */
  finish(): void {
    this.#flush();
    this.#finished = true;
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#finished || this.#waiting.length === 0) return;
    const batch = this.#waiting;
    this.#waiting = [];
    this.#handed += batch.length;
    this.#deliver(batch);
  }
}
