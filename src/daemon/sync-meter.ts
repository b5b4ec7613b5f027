/**
 * What the daemon counts of its own work: requests by operation and status, 429s and the time
 * paused by them, bytes uploaded, uploads, deletes and reconciles. The daemon feeds it from the
 * client's and the gate's hooks (src/daemon/compose-engine.ts); status reads the rate from it and
 * the metrics endpoint (src/daemon/metrics-server.ts) reads everything. Plain numbers, no timers:
 * the clock comes in as `now`.
 */
import type { AttemptInfo, FilesApi } from '../api/types.js';
import type { TrafficFacts } from '../engine/contract.js';
import type { RunReconcile } from '../engine/wiring.js';

const MINUTE = 60_000;

export type Operation = 'upload' | 'list' | 'retrieve' | 'download' | 'delete' | 'other';

/** The Files API operation a request is, from its method and path (query ignored). */
export function operationOf(method: string, path: string): Operation {
  const p = path.split('?')[0]!.replace(/\/+$/, '');
  if (!/^\/v1\/files(\/|$)/.test(p)) return 'other';
  const rest = p.slice('/v1/files'.length);
  if (rest === '') return method === 'POST' ? 'upload' : method === 'GET' ? 'list' : 'other';
  if (/^\/[^/]+$/.test(rest)) return method === 'DELETE' ? 'delete' : method === 'GET' ? 'retrieve' : 'other';
  if (/^\/[^/]+\/content$/.test(rest)) return method === 'GET' ? 'download' : 'other';
  return 'other';
}

/** A status label: the HTTP status, or why there was none (connection, timeout, ...). */
export function statusLabel(info: Pick<AttemptInfo, 'status' | 'outcome'>): string {
  return info.status !== null ? String(info.status) : info.outcome;
}

export interface ReconcileRecord {
  /** ms since epoch when the pass started. */
  at: number;
  durationMs: number;
  ok: boolean;
}

export interface MeterSnapshot {
  /** Attempts by `operation` and `status` label. */
  requests: { operation: Operation; status: string; count: number }[];
  rateLimitedResponses: number;
  rateLimitPauses: number;
  pausedMs: number;
  bytesUploaded: number;
  uploads: number;
  deletes: number;
  reconciles: { ok: number; failed: number };
  lastReconcile: ReconcileRecord | null;
}

export class SyncMeter implements TrafficFacts {
  #requests = new Map<string, { operation: Operation; status: string; count: number }>();
  /** Start times of the attempts of the last minute, oldest first. */
  #recent: number[] = [];
  #rateLimited = 0;
  #pauses = 0;
  #pausedMs = 0;
  #bytes = 0;
  #uploads = 0;
  #deletes = 0;
  #reconciles = { ok: 0, failed: 0 };
  #lastReconcile: ReconcileRecord | null = null;

  /** A request passed the gate and is about to be sent. */
  requestStarted(now: number): void {
    this.#recent.push(now);
    this.#trim(now);
  }

  /** An attempt ended (the client's onAttempt hook). */
  attempt(info: AttemptInfo): void {
    const operation = operationOf(info.method, info.path);
    const status = statusLabel(info);
    const key = `${operation} ${status}`;
    const entry = this.#requests.get(key) ?? { operation, status, count: 0 };
    entry.count += 1;
    this.#requests.set(key, entry);
    if (info.status === 429) this.#rateLimited += 1;
  }

  /**
   * A 429 moved the gate's pause deadline from `before` to `after` (null: no pause in force).
   * A pause that begins counts once; the time added to the pause is the time paused.
   */
  paused(before: number | null, after: number | null, now: number): void {
    if (after === null) return;
    if (before === null) this.#pauses += 1;
    const from = before ?? now;
    if (after > from) this.#pausedMs += after - from;
  }

  uploaded(bytes: number): void {
    this.#uploads += 1;
    this.#bytes += bytes;
  }

  deleted(): void {
    this.#deletes += 1;
  }

  reconciled(record: ReconcileRecord): void {
    if (record.ok) this.#reconciles.ok += 1;
    else this.#reconciles.failed += 1;
    this.#lastReconcile = { ...record };
  }

  requestsLastMinute(now: number): number {
    this.#trim(now);
    return this.#recent.length;
  }

  snapshot(): MeterSnapshot {
    return {
      requests: [...this.#requests.values()].map((r) => ({ ...r })),
      rateLimitedResponses: this.#rateLimited,
      rateLimitPauses: this.#pauses,
      pausedMs: this.#pausedMs,
      bytesUploaded: this.#bytes,
      uploads: this.#uploads,
      deletes: this.#deletes,
      reconciles: { ...this.#reconciles },
      lastReconcile: this.#lastReconcile ? { ...this.#lastReconcile } : null,
    };
  }

  #trim(now: number): void {
    let drop = 0;
    while (drop < this.#recent.length && this.#recent[drop]! <= now - MINUTE) drop++;
    if (drop > 0) this.#recent.splice(0, drop);
  }
}

/** The client, counting the uploads and deletes that succeed (a retried request counts once). */
export function meteredClient(client: FilesApi, meter: SyncMeter): FilesApi {
  return {
    shape: client.shape,
    baseURL: client.baseURL,
    upload: async (source, options) => {
      const result = await client.upload(source, options);
      meter.uploaded(result.bytesSent);
      return result;
    },
    delete: async (fileId, options) => {
      const result = await client.delete(fileId, options);
      meter.deleted();
      return result;
    },
    retrieve: (fileId, options) => client.retrieve(fileId, options),
    list: (options) => client.list(options),
    recentFiles: (options) => client.recentFiles(options),
    download: (fileId, options) => client.download(fileId, options),
    close: () => client.close(),
  };
}

/** The reconcile pass, recording each real (not dry-run) pass's start, duration and outcome. */
export function meteredReconcile(run: RunReconcile, meter: SyncMeter, now: () => number): RunReconcile {
  return async (ctx, options) => {
    const at = now();
    try {
      const report = await run(ctx, options);
      if (!options.dryRun) meter.reconciled({ at, durationMs: report.durationMs, ok: true });
      return report;
    } catch (err) {
      if (!options.dryRun) meter.reconciled({ at, durationMs: now() - at, ok: false });
      throw err;
    }
  };
}
