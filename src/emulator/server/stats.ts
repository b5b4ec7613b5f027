/**
 * The emulator's request counters (GET /_emulator/stats). `accepted` and `rejected429` are counted
 * per route kind and per key so benchmarks can compute rates: several clients on one key share
 * one limit, and their 429s show up under that key.
 */
import { createHash } from 'node:crypto';
import type { EmulatorStats, RouteName } from '../emulator-types.js';

const ROUTES: readonly RouteName[] = ['upload', 'list', 'retrieve', 'download', 'delete'];

export function emptyStats(nowMs: number): EmulatorStats {
  const byKind = {} as EmulatorStats['byKind'];
  for (const r of ROUTES) byKind[r] = { accepted: 0, rejected429: 0 };
  return {
    since: new Date(nowMs).toISOString(),
    requests: 0,
    byRoute: { upload: 0, list: 0, retrieve: 0, download: 0, delete: 0 },
    byStatus: {},
    accepted: 0,
    rejected429: 0,
    byKind,
    byKey: {},
    injected: { e500: 0, e529: 0, e429: 0, reset: 0, lost: 0, rateLimited: 0, storm: 0 },
    bytesReceived: 0,
  };
}

/**
 * How a key appears in the stats: a short fingerprint, never the key itself (stats are served
 * over HTTP and end up in benchmark reports).
 */
export function keyLabel(key: string): string {
  return `key_${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
}

/**
 * Counts one answered /v1 request: 2xx is accepted, 429 (limiter, storm or injected) is
 * rejected. Other statuses only reach byStatus. `key` is null when the request never
 * authenticated (it then has no key to be counted under).
 */
export function countAnswer(stats: EmulatorStats, status: number, route: RouteName | null, key: string | null): void {
  stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
  const field = status >= 200 && status < 300 ? 'accepted' : status === 429 ? 'rejected429' : null;
  if (field === null) return;
  stats[field]++;
  if (route) stats.byKind[route][field]++;
  if (key !== null) {
    const label = keyLabel(key);
    const perKey = (stats.byKey[label] ??= { accepted: 0, rejected429: 0 });
    perKey[field]++;
  }
}
