/**
 * The newest files, one short page, shared by every caller that asks within a short window: the
 * lookup after a lost upload answer (./upload.ts) and the engine's look for what an unanswered
 * upload stored. When several answers are lost at once (a network blip under concurrent uploads),
 * one listing answers for all of them instead of one listing per file.
 *
 * A caller only joins a listing that has not been sent yet: a listing sent before the caller's
 * upload was stored could miss its file.
 */
import { APIUserAbortError } from './errors.js';
import type { RecentFiles } from './types.js';

/** How long the first caller waits for others before the listing goes out. */
export const RECENT_UPLOADS_WINDOW_MS = 25;

interface Batch {
  promise: Promise<RecentFiles>;
}

export class RecentUploadsLookup {
  readonly #fetch: () => Promise<RecentFiles>;
  readonly #windowMs: number;
  /** The batch still gathering callers (not sent yet), if any. */
  #open: Batch | null = null;
  #listings = 0;

  /** `fetch` lists one page of the newest files (with the client's retries). */
  constructor(fetch: () => Promise<RecentFiles>, windowMs = RECENT_UPLOADS_WINDOW_MS) {
    this.#fetch = fetch;
    this.#windowMs = windowMs;
  }

  /** Listings sent so far (for tests and the bench). */
  get listings(): number {
    return this.#listings;
  }

  /** The newest files, from a listing sent after this call. */
  newest(signal?: AbortSignal): Promise<RecentFiles> {
    if (signal?.aborted) return Promise.reject(new APIUserAbortError());
    this.#open ??= this.#gather();
    const shared = this.#open.promise;
    if (!signal) return shared;
    // The listing is shared: one caller giving up must not cancel it for the others.
    return new Promise<RecentFiles>((resolve, reject) => {
      const onAbort = () => reject(new APIUserAbortError());
      signal.addEventListener('abort', onAbort, { once: true });
      shared.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  }

  #gather(): Batch {
    const batch: Batch = {
      promise: new Promise<void>((resolve) => setTimeout(resolve, this.#windowMs)).then(() => {
        // Closed: later callers start a listing of their own.
        if (this.#open === batch) this.#open = null;
        this.#listings += 1;
        return this.#fetch();
      }),
    };
    // A batch whose callers all gave up must not report an unhandled rejection.
    batch.promise.catch(() => undefined);
    return batch;
  }
}
