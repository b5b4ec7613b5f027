/**
 * The daemon's HTTP endpoint for monitoring (off unless metrics.listen is set): /metrics in the
 * Prometheus text format, /healthz (the process answers) and /readyz (the start-up reconcile has
 * finished and the key was accepted). Gauges are read from the engine's status at scrape time;
 * counters mirror the daemon's SyncMeter, which the client and gate hooks feed. Nothing here
 * names a file: the metrics are counts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { FilesyncError, ErrorCode } from '../errors.js';
import type { StatusReport } from '../engine/contract.js';
import type { MeterSnapshot, SyncMeter } from './sync-meter.js';

export const METRIC_PREFIX = 'claude_filesync_';

export type Readiness = { ready: true } | { ready: false; reason: string };

export interface MetricsServerOptions {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly status: () => StatusReport;
  readonly meter: SyncMeter;
  readonly readiness: () => Readiness;
  /** Node's process metrics (CPU, memory, event loop lag...). @default true */
  readonly processMetrics?: boolean;
}

export interface MetricsServer {
  /** http://host:port, with the port actually bound. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and ends idle connections. Idempotent. */
  close(): Promise<void>;
}

const FILE_STATES = ['pending', 'synced', 'failed', 'skipped'] as const;
const WATCHER_MODES = ['native', 'polling', 'off'] as const;

/** The registry with every claude_filesync_ metric, reading `status` and `meter` at each scrape. */
export function createMetricsRegistry(
  options: Pick<MetricsServerOptions, 'status' | 'meter' | 'readiness' | 'processMetrics'>,
): Registry {
  const registry = new Registry();
  const name = (n: string) => `${METRIC_PREFIX}${n}`;
  // One status and one snapshot per scrape, however many metrics read them.
  let scrape: { status: StatusReport; meter: MeterSnapshot } | null = null;
  const current = () => (scrape ??= { status: options.status(), meter: options.meter.snapshot() });
  const reg = { registers: [registry] };

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
    options.readiness().ready ? 1 : 0,
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

  function gauge(n: string, help: string, read: (s: { status: StatusReport; meter: MeterSnapshot }) => number): void {
    new Gauge({
      name: name(n),
      help,
      ...reg,
      collect() {
        this.set(read(current()));
      },
    });
  }

  function counter(n: string, help: string, read: (m: MeterSnapshot) => number): void {
    new Counter({
      name: name(n),
      help,
      ...reg,
      collect() {
        this.reset();
        const v = read(current().meter);
        if (v > 0) this.inc(v);
      },
    });
  }
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const registry = createMetricsRegistry(options);
  const server = createServer((req, res) => {
    handle(req, res, registry, options.readiness).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    });
  });
  await listen(server, options.host, options.port);
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  registry: Registry,
  readiness: () => Readiness,
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
    return;
  }
  switch (path) {
    case '/metrics': {
      const body = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    case '/healthz':
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok\n');
      return;
    case '/readyz': {
      const r = readiness();
      res
        .writeHead(r.ready ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' })
        .end(r.ready ? 'ready\n' : `not ready: ${r.reason}\n`);
      return;
    }
    default:
      res
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end('not found: try /metrics, /healthz or /readyz\n');
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      reject(
        new FilesyncError(ErrorCode.MetricsListen, `cannot serve metrics on ${where}: ${err.code ?? err.message}`, {
          hint:
            err.code === 'EADDRINUSE'
              ? 'another program uses that port: pick another with metrics.listen or --metrics'
              : 'use an address of this machine, such as 127.0.0.1',
          cause: err,
        }),
      );
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}
