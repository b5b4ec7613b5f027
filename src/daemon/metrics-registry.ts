/**
 * The claude_filesync_ metrics (see metrics-server.ts): gauges read from the engine's status,
 * counters from the daemon's SyncMeter, both at scrape time.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { StatusReport } from '../engine/contract.js';
import type { MeterSnapshot, SyncMeter } from './sync-meter.js';

export const METRIC_PREFIX = 'claude_filesync_';

export type Readiness = { ready: true } | { ready: false; reason: string };

/** What the metrics read; MetricsServerOptions carries them. */
export interface MetricsSources {
  readonly status: () => StatusReport;
  readonly meter: SyncMeter;
  readonly readiness: () => Readiness;
  /** Node's process metrics (CPU, memory, event loop lag...). @default true */
  readonly processMetrics?: boolean;
}

const FILE_STATES = ['pending', 'synced', 'failed', 'skipped'] as const;
const WATCHER_MODES = ['native', 'polling', 'off'] as const;

type Scrape = { status: StatusReport; meter: MeterSnapshot };

/** What defining a metric needs: its registry and the current scrape. */
interface MetricKit {
  reg: { registers: Registry[] };
  current: () => Scrape;
}

const name = (n: string) => `${METRIC_PREFIX}${n}`;

/** The registry with every claude_filesync_ metric, reading `status` and `meter` at each scrape. */
export function createMetricsRegistry(options: MetricsSources): Registry {
  const registry = new Registry();
  // One status and one snapshot per scrape, however many metrics read them.
  let scrape: Scrape | null = null;
  const current = () => (scrape ??= { status: options.status(), meter: options.meter.snapshot() });
  const kit: MetricKit = { reg: { registers: [registry] }, current };

  defineGauges(kit, options.readiness);
  defineCounters(kit);

  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });

  // The per-scrape cache is dropped once the scrape is done.
  const metrics = registry.metrics.bind(registry);
  registry.metrics = async () => {
    try {
      return await metrics();
    } finally {
      scrape = null;
    }
  };
  return registry;
}

function defineGauges(kit: MetricKit, readiness: () => Readiness): void {
  const { reg, current } = kit;
  const gauge = (n: string, help: string, read: (s: Scrape) => number) => defineGauge(kit, n, help, read);
  new Gauge({
    name: name('files'),
    help: 'Files in the index by state',
    labelNames: ['state'],
    ...reg,
    collect() {
      const { counts } = current().status;
      for (const state of FILE_STATES) this.set({ state }, counts[state]);
    },
  });
  gauge('queue_depth', 'Jobs queued and not yet running', (s) => s.status.queue.depth);
  gauge('queue_in_flight', 'Jobs running now', (s) => s.status.queue.inFlight);
  gauge(
    'held_deletes',
    'Remote deletes held back by the deletion-safety rules',
    (s) => s.status.heldDeletes?.count ?? 0,
  );
  gauge('backlog', 'Pending files plus queued remote deletes', (s) => s.status.activity.backlog);
  gauge(
    'requests_last_minute',
    'Requests started in the last minute',
    (s) => s.status.activity.requestsLastMinute ?? 0,
  );
  gauge('rate_limit_paused', '1 while a 429 pause holds every request, else 0', (s) =>
    s.status.queue.pausedUntil ? 1 : 0,
  );
  gauge('ready', '1 once the start-up reconcile has finished and the key was accepted', () =>
    readiness().ready ? 1 : 0,
  );
  gauge('last_reconcile_timestamp_seconds', 'When the last reconcile started (Unix time), 0 before the first', (s) =>
    s.status.lastReconcile ? Date.parse(s.status.lastReconcile.at) / 1000 : 0,
  );
  gauge(
    'last_reconcile_duration_seconds',
    'How long the last reconcile took',
    (s) => (s.status.lastReconcile?.durationMs ?? 0) / 1000,
  );
  gauge('last_reconcile_success', '1 when the last reconcile succeeded, 0 when it failed or none ran', (s) =>
    s.status.lastReconcile?.ok ? 1 : 0,
  );
  gauge('last_upload_timestamp_seconds', 'When the newest remote copy was created (Unix time), 0 when none', (s) =>
    s.status.activity.lastUploadAt ? Date.parse(s.status.activity.lastUploadAt) / 1000 : 0,
  );
  new Gauge({
    name: name('watcher_mode'),
    help: 'The watcher mode in use: 1 for the current mode, 0 for the others',
    labelNames: ['mode'],
    ...reg,
    collect() {
      const mode = current().status.watcher.mode;
      for (const m of WATCHER_MODES) this.set({ mode: m }, m === mode ? 1 : 0);
    },
  });
}

function defineCounters(kit: MetricKit): void {
  const { reg, current } = kit;
  const counter = (n: string, help: string, read: (m: MeterSnapshot) => number) => defineCounter(kit, n, help, read);
  new Counter({
    name: name('requests_total'),
    help: 'Files API requests (each attempt, retries included) by operation and HTTP status (or connection, timeout)',
    labelNames: ['operation', 'status'],
    ...reg,
    collect() {
      // A mirror of the meter's monotonic counts: set afresh at each scrape.
      this.reset();
      for (const r of current().meter.requests) this.inc({ operation: r.operation, status: r.status }, r.count);
    },
  });
  counter('rate_limited_responses_total', 'Responses with status 429', (m) => m.rateLimitedResponses);
  counter('rate_limit_pauses_total', 'Pauses of every request after a 429', (m) => m.rateLimitPauses);
  counter('rate_limit_paused_seconds_total', 'Time every request was held by 429 pauses', (m) => m.pausedMs / 1000);
  counter('uploaded_bytes_total', 'Bytes of uploads that succeeded', (m) => m.bytesUploaded);
  counter('uploads_total', 'Uploads that succeeded', (m) => m.uploads);
  counter('deletes_total', 'Remote deletes that succeeded', (m) => m.deletes);
  new Counter({
    name: name('reconciles_total'),
    help: 'Reconcile passes by result (dry runs not counted)',
    labelNames: ['result'],
    ...reg,
    collect() {
      const { reconciles } = current().meter;
      this.reset();
      this.inc({ result: 'ok' }, reconciles.ok);
      this.inc({ result: 'failed' }, reconciles.failed);
    },
  });
}

function defineGauge(kit: MetricKit, n: string, help: string, read: (s: Scrape) => number): void {
  new Gauge({
    name: name(n),
    help,
    ...kit.reg,
    collect() {
      this.set(read(kit.current()));
    },
  });
}

function defineCounter(kit: MetricKit, n: string, help: string, read: (m: MeterSnapshot) => number): void {
  new Counter({
    name: name(n),
    help,
    ...kit.reg,
    collect() {
      this.reset();
      const v = read(kit.current().meter);
      if (v > 0) this.inc(v);
    },
  });
}
