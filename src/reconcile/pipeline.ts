/**
 * The reconcile's upload pipeline: files found by the walk are planned in batches (./early-plan.ts)
 * as soon as the listing is complete, and their uploads queued at once, so a new folder's first
 * files go up while the walk is still running. Until the listing is complete the walk's files
 * wait here (they are held in the scan's result anyway): no upload is decided without it, so a
 * lost index still adopts what is already remote. The queue is never paused for this: the
 * batches' jobs join the watcher path's in the engine's queue.
 */
import type { LocalObservation } from '../store/types.js';
import type { MoveTarget } from '../plan/moves.js';
import { adoptCopy, logAdoption } from '../jobs/apply-plan.js';
import type { PlanOptions } from '../plan/plan.js';
import type { ProgressEvent, ReconcileReport } from '../engine/contract.js';
import type { ReconcileContext } from '../engine/wiring.js';
import { planEarly, type ListingLookup } from './early-plan.js';

/** Files planned together at most; more wait for the next turn of the event loop. */
const BATCH_FILES = 256;
/**
 * Uploads waiting or running per unit of queue concurrency below which the walk's files are
 * planned at once; above it they gather into batches of BATCH_FILES. Each batch is one index
 * transaction: planning every few files as they come cost more than the uploads it fed.
 */
const LOW_WATER_PER_SLOT = 8;

/** Counts and reports a pass's uploads as they finish, wherever they were decided. */
export class UploadTracker {
  readonly #ctx: ReconcileContext;
  readonly #report: Pick<ReconcileReport, 'uploaded' | 'failed' | 'skipped'> = {
    uploaded: [],
    failed: [],
    skipped: [],
  };
  readonly #running: Promise<void>[] = [];
  readonly #total = { files: 0, bytes: 0 };
  readonly #done = { files: 0, bytes: 0 };
  /** Called after each upload ends. */
  onEnded: (() => void) | null = null;

  constructor(ctx: ReconcileContext) {
    this.#ctx = ctx;
  }

  /** Uploads pushed and not ended yet. */
  get outstanding(): number {
    return this.#total.files - this.#done.files;
  }

  /** Uploads pushed, and how many of them ended. */
  get counts(): { pushed: number; ended: number } {
    return { pushed: this.#total.files, ended: this.#done.files };
  }

  /** Adds the outcomes so far to the pass's report. */
  fill(report: ReconcileReport): void {
    report.uploaded.push(...this.#report.uploaded);
    report.failed.push(...this.#report.failed);
    report.skipped.push(...this.#report.skipped);
  }

  /** Queues the uploads of `paths`; `early`: decided by a batch while the walk runs. */
  push(paths: readonly string[], early: boolean): void {
    if (paths.length === 0) return;
    // The sizes from the planner's facts (a map), not a row read from sqlite per path.
    const factsOf = this.#ctx.index.localLookup();
    for (const p of paths) {
      this.#total.files += 1;
      this.#total.bytes += factsOf(p)?.size ?? 0;
    }
    this.#progress('upload');
    for (const p of paths) this.#running.push(this.#one(p, early));
  }

  /** Every upload pushed so far has finished (retryable failures go on in the engine). */
  async onIdle(): Promise<void> {
    for (let n = 0; n < this.#running.length; n = this.#running.length) await Promise.all(this.#running.slice(n));
    this.#progress('done');
  }

  async #one(p: string, early: boolean): Promise<void> {
    const outcome = await this.#ctx.pushUpload(p, early);
    this.#done.files += 1;
    this.#ctx.progress?.uploadDone();
    if (outcome?.kind === 'uploaded') {
      this.#done.bytes += outcome.bytes;
      this.#report.uploaded.push(p);
    } else if (outcome?.kind === 'failed' && !outcome.retryable) {
      // A retryable failure is not the end: the engine sends the path again (waiting is not
      // failing), and a path that does turn failed shows as failed in the index.
      this.#report.failed.push({ path: p, error: outcome.error });
    } else if (outcome?.kind === 'skipped') {
      this.#report.skipped.push({ path: p, reason: outcome.reason });
    }
    this.#progress('upload');
    this.onEnded?.();
  }

  #progress(phase: ProgressEvent['phase']): void {
    this.#ctx.onProgress?.({
      phase,
      filesDone: this.#done.files,
      filesTotal: this.#total.files,
      bytesDone: this.#done.bytes,
      bytesTotal: this.#total.bytes,
    });
  }
}

/**
 * Takes the walk's files (add), plans them in batches once the listing is in (listed), writes
 * each batch's observations and adoptions to the index and queues its uploads. What is still
 * waiting when the walk ends is left to the full plan, as is every path it deferred.
 */
export class EarlyUploads {
  readonly #ctx: ReconcileContext;
  readonly #options: PlanOptions;
  readonly #uploads: UploadTracker;
  readonly #lowWater: number;
  #listing: ListingLookup | null = null;
  #intentPaths: ReadonlySet<string> = new Set();
  #waiting: LocalObservation[] = [];
  #scheduled = false;
  #finished = false;
  #error: unknown = null;
  /** Paths decided here: the full plan leaves them out. */
  readonly decided = new Set<string>();
  /** New files uploaded here: the full plan pairs them with the paths they left (moves). */
  readonly appeared: MoveTarget[] = [];
  /** Remote copies the batches adopted, for the pass's report. */
  readonly adopted: ReconcileReport['adopted'] = [];

  constructor(ctx: ReconcileContext, options: PlanOptions, uploads: UploadTracker) {
    this.#ctx = ctx;
    this.#options = options;
    this.#uploads = uploads;
    this.#lowWater = LOW_WATER_PER_SLOT * Math.max(1, ctx.config.queue.concurrency);
    uploads.onEnded = () => {
      if (this.#due()) this.#schedule();
    };
  }

  /** Worth planning now: a full batch waits, or the uploads are running low. */
  #due(): boolean {
    return (
      this.#listing !== null &&
      this.#waiting.length > 0 &&
      (this.#waiting.length >= BATCH_FILES || this.#uploads.outstanding < this.#lowWater)
    );
  }

  /** A file from the walk, its observation final. */
  add(obs: LocalObservation): void {
    if (this.#finished || this.#error !== null) return;
    this.#waiting.push(obs);
    if (this.#due()) this.#schedule();
  }

  /** The listing is complete: plan what waited, and from now on each batch as it comes. */
  listed(listing: ListingLookup): void {
    if (this.#finished || this.#listing !== null) return;
    this.#listing = listing;
    // Intents read now: any intent of a later upload belongs to a path some job handled, which
    // the batches leave alone anyway.
    this.#intentPaths = new Set(this.#ctx.index.intents().map((i) => i.path));
    this.#schedule();
  }

  /** The walk ended: no more batches (the full plan takes what waits); throws what a batch threw. */
  finish(): void {
    this.#finished = true;
    this.#waiting = [];
    if (this.#error !== null) throw this.#error;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // Coalesce the files the walk reports within one turn; the walk yields every few ms.
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#finished || this.#error !== null || this.#waiting.length === 0) return;
      const batch = this.#waiting.length <= BATCH_FILES ? this.#waiting : this.#waiting.slice(0, BATCH_FILES);
      this.#waiting = this.#waiting.length <= BATCH_FILES ? [] : this.#waiting.slice(BATCH_FILES);
      try {
        this.#plan(batch);
      } catch (err) {
        this.#error = err;
        return;
      }
      if (this.#due()) this.#schedule();
    });
  }

  #plan(batch: LocalObservation[]): void {
    const { index, logger } = this.#ctx;
    const facts = this.#ctx.concurrent?.();
    // A path the watcher path handled meanwhile is its own: neither planned here nor by the pass.
    const files = facts && facts.handled.size > 0 ? batch.filter((o) => !facts.handled.has(o.path)) : batch;
    const rowOf = index.localLookup();
    const early = planEarly({
      files,
      rowOf,
      hasIntent: (p) => this.#intentPaths.has(p),
      owned: (id) => index.byFileId(id) !== undefined || index.getDelete(id) !== undefined,
      listing: this.#listing as ListingLookup,
      ...(facts ? { gone: facts.gone } : {}),
      now: this.#ctx.now(),
      options: this.#options,
    });
    index.transaction(() => {
      if (early.observe.length > 0) index.observeMany(early.observe);
      for (const a of early.adoptions) {
        // A copy it replaces is queued for deletion in the index; the full plan runs that
        // delete with its own, after the pass's uploads.
        adoptCopy(index, a);
      }
    });
    for (const a of early.adoptions) {
      logAdoption(logger, a);
      this.adopted.push({ fileId: a.file.id, path: a.path });
    }
    for (const p of early.decided) this.decided.add(p);
    this.appeared.push(...early.appeared);
    this.#uploads.push(
      early.uploads.map((u) => u.path),
      true,
    );
  }
}
