/**
 * How far the running reconcile pass got, for `status`: its phase, listing pages and files, files
 * scanned, and the plan's jobs done of total. The pass reports through ReconcileProgressSink; the
 * engine keeps one of these per pass and reads report(now) when asked for its status.
 */
import type { ReconcileProgressReport } from './contract.js';
import type { ReconcileProgressSink } from './wiring.js';

/** The page size the reconcile listing asks for (src/reconcile/listing.ts). */
export const LISTING_PAGE_FILES = 1000;

export class ReconcileProgress implements ReconcileProgressSink {
  readonly #startedAt: number;
  #listed = 0;
  #listingDone = false;
  #scanned = 0;
  #scanDone = false;
  #planning = false;
  #apply: ReconcileProgressReport['apply'] = null;

  constructor(startedAt: number) {
    this.#startedAt = startedAt;
  }

  listed(files: number): void {
    this.#listed = files;
  }

  listingDone(): void {
    this.#listingDone = true;
  }

  scanned(files: number): void {
    this.#scanned = files;
  }

  scanDone(): void {
    this.#scanDone = true;
  }

  planning(): void {
    this.#listingDone = true;
    this.#scanDone = true;
    this.#planning = true;
  }

  /** `uploadsDone`: uploads of the pass that ended before its plan was applied (its early batches'). */
  applying(uploads: number, deletes: number, uploadsDone = 0): void {
    this.planning();
    this.#apply = { uploadsDone, uploadsTotal: uploads, deletesDone: 0, deletesTotal: deletes };
  }

  uploadDone(): void {
    if (this.#apply) this.#apply.uploadsDone += 1;
  }

  deleteDone(): void {
    if (this.#apply) this.#apply.deletesDone += 1;
  }

  report(now: number): ReconcileProgressReport {
    const phase = this.#apply
      ? 'applying'
      : this.#planning
        ? 'planning'
        : !this.#listingDone
          ? 'listing'
          : !this.#scanDone
            ? 'scanning'
            : 'planning';
    // A listing that has not ended has at least started its first page.
    const pages = this.#listingDone
      ? Math.ceil(this.#listed / LISTING_PAGE_FILES)
      : Math.floor(this.#listed / LISTING_PAGE_FILES);
    return {
      phase,
      startedAt: new Date(this.#startedAt).toISOString(),
      elapsedMs: Math.max(0, now - this.#startedAt),
      listing: { pages: this.#listingDone ? Math.max(pages, 1) : pages, files: this.#listed, done: this.#listingDone },
      scan: { files: this.#scanned, done: this.#scanDone },
      apply: this.#apply ? { ...this.#apply } : null,
    };
  }
}
