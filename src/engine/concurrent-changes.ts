/**
 * What the watcher path and the jobs do while a reconcile pass runs, recorded for the pass's
 * planner (src/plan/plan-concurrent.ts says what the planner makes of it). The engine opens a
 * record when a pass begins, before its listing and scan, and closes it once the plan is in the
 * index: from then on the index itself is what the jobs see.
 */
import type { ConcurrentChanges } from '../plan/plan-concurrent.js';

interface OpenRecord {
  since: number;
  handled: Set<string>;
  /** Paths the pass itself decided early and uploads (src/reconcile/pipeline.ts). */
  own: Set<string>;
  stored: Set<string>;
  gone: Set<string>;
  liveAtStart: Set<number>;
}

export class ConcurrentRecorder {
  #open: OpenRecord | null = null;

  /** A pass begins: `liveIntents` are the uploads running now. */
  begin(now: number, liveIntents: ReadonlySet<number>): void {
    this.#open = {
      since: now,
      handled: new Set(),
      own: new Set(),
      stored: new Set(),
      gone: new Set(),
      liveAtStart: new Set(liveIntents),
    };
  }

  /** The plan is in the index (or the pass ended): nothing more to record. */
  end(): void {
    this.#open = null;
  }

  get recording(): boolean {
    return this.#open !== null;
  }

  /** Paths the watcher path is about to check and plan, or a job outside the pass is about to upload. */
  handled(paths: Iterable<string>): void {
    if (!this.#open) return;
    for (const p of paths) this.#open.handled.add(p);
  }

  /** The pass decided this path in an early batch and queues its upload: that job is the pass's. */
  own(path: string): void {
    this.#open?.own.add(path);
  }

  /**
   * An upload job starts. A job the pass queued from an early batch is not a change made beside
   * the pass: recorded as handled, it would be handed back to the watcher path and checked again.
   */
  uploading(path: string): void {
    if (this.#open && !this.#open.own.has(path)) this.#open.handled.add(path);
  }

  /** A job stored (or adopted) a remote copy. */
  stored(fileId: string): void {
    this.#open?.stored.add(fileId);
  }

  /** A job deleted a remote copy, or found it gone. */
  gone(fileId: string): void {
    this.#open?.gone.add(fileId);
  }

  /** What happened since the pass began, for its planner; undefined when no pass is open. */
  facts(): ConcurrentChanges | undefined {
    const o = this.#open;
    return o
      ? { since: o.since, handled: o.handled, stored: o.stored, gone: o.gone, liveAtStart: o.liveAtStart }
      : undefined;
  }
}
