import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { startMetricsServer, type MetricsServer } from '../../src/daemon/metrics-server.js';
import type { Readiness } from '../../src/daemon/metrics-registry.js';
import { SyncMeter } from '../../src/daemon/sync-meter.js';
import { buildActivity, buildStatus } from '../../src/engine/report.js';
import type { StatusReport } from '../../src/engine/contract.js';

function status(over: Partial<StatusReport> = {}): StatusReport {
  return {
    ...buildStatus({
      running: true,
      pid: 1,
      dir: '/d',
      stateDir: '/s',
      target: { kind: 'api', baseURL: 'https://api.anthropic.com', shape: 'ga', note: null },
      counts: { pending: 2, synced: 5, failed: 1, skipped: 3 },
      queue: { depth: 4, inFlight: 2, pausedUntil: null, rateLimitPauses: 0 },
      watcher: { mode: 'polling', warning: null },
      lastReconcile: { at: '2026-11-30T12:00:00.000Z', durationMs: 1500, ok: true, error: null },
      heldDeletes: { count: 7, message: 'held' },
      lastErrors: [],
      skippedRows: [],
      unreadableDirs: [],
      activity: buildActivity({
        now: 0,
        lastUploadAt: null,
        oldestPendingRow: undefined,
        oldestDelete: undefined,
        backlog: 2,
        traffic: { requestsLastMinute: 9, configuredRpm: 400, effectiveRpm: 400, pausedUntil: null },
      }),
    }),
    ...over,
  };
}

function value(families: ParsedFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.find((f) => f.name === name);
  const sample = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return sample?.value !== undefined ? Number(sample.value) : undefined;
}

let server: MetricsServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function start(
  readiness: () => Readiness = () => ({ ready: true }),
  meter = new SyncMeter(),
): Promise<MetricsServer> {
  server = await startMetricsServer({ host: '127.0.0.1', port: 0, status: () => status(), meter, readiness });
  return server;
}

describe('the metrics endpoint', () => {
  it('serves every claude_filesync_ metric in the Prometheus text format, gauges from status and counters from the meter', async () => {
    const meter = new SyncMeter();
    meter.attempt({ method: 'POST', path: '/v1/files', status: 200, outcome: 'ok' });
    meter.attempt({ method: 'POST', path: '/v1/files', status: 429, outcome: 'response' });
    meter.paused(null, 2_500, 0);
    meter.uploaded(1234);
    meter.deleted();
    meter.reconciled({ at: 0, durationMs: 10, ok: true });
    const s = await start(undefined, meter);
    const res = await fetch(`${s.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const families = parsePrometheusTextFormat(await res.text());
    const p = 'claude_filesync_';
    expect(value(families, `${p}files`, { state: 'synced' })).toBe(5);
    expect(value(families, `${p}files`, { state: 'skipped' })).toBe(3);
    expect(value(families, `${p}queue_depth`)).toBe(4);
    expect(value(families, `${p}queue_in_flight`)).toBe(2);
    expect(value(families, `${p}held_deletes`)).toBe(7);
    expect(value(families, `${p}watcher_mode`, { mode: 'polling' })).toBe(1);
    expect(value(families, `${p}watcher_mode`, { mode: 'native' })).toBe(0);
    expect(value(families, `${p}requests_total`, { operation: 'upload', status: '200' })).toBe(1);
    expect(value(families, `${p}requests_total`, { operation: 'upload', status: '429' })).toBe(1);
    expect(value(families, `${p}rate_limited_responses_total`)).toBe(1);
    expect(value(families, `${p}rate_limit_pauses_total`)).toBe(1);
    expect(value(families, `${p}rate_limit_paused_seconds_total`)).toBe(2.5);
    expect(value(families, `${p}uploaded_bytes_total`)).toBe(1234);
    expect(value(families, `${p}uploads_total`)).toBe(1);
    expect(value(families, `${p}deletes_total`)).toBe(1);
    expect(value(families, `${p}reconciles_total`, { result: 'ok' })).toBe(1);
    expect(value(families, `${p}last_reconcile_duration_seconds`)).toBe(1.5);
    expect(value(families, `${p}last_reconcile_timestamp_seconds`)).toBe(Date.parse('2026-11-30T12:00:00Z') / 1000);
    expect(value(families, `${p}requests_last_minute`)).toBe(9);
    expect(families.find((f) => f.name === `${p}uploads_total`)?.type).toBe('COUNTER');
    // prom-client's process metrics, under the same prefix.
    expect(value(families, `${p}process_cpu_user_seconds_total`)).toBeGreaterThan(0);
    expect(families.every((f) => f.name.startsWith(p))).toBe(true);

    // Counters mirror the meter: they move with it between scrapes.
    meter.uploaded(10);
    const again = parsePrometheusTextFormat(await (await fetch(`${s.url}/metrics`)).text());
    expect(value(again, `${p}uploads_total`)).toBe(2);
    expect(value(again, `${p}uploaded_bytes_total`)).toBe(1244);
  });

  it('answers /healthz while alive and /readyz 503 with the reason until ready', async () => {
    let readiness: Readiness = { ready: false, reason: 'the start-up reconcile has not finished' };
    const s = await start(() => readiness);
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${s.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toBe('not ready: the start-up reconcile has not finished\n');
    const metrics = parsePrometheusTextFormat(await (await fetch(`${s.url}/metrics`)).text());
    expect(value(metrics, 'claude_filesync_ready')).toBe(0);
    readiness = { ready: true };
    const ready = await fetch(`${s.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe('ready\n');
    expect((await fetch(`${s.url}/nope`)).status).toBe(404);
    expect((await fetch(`${s.url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('refuses a port already in use with E_METRICS_LISTEN, naming the address', async () => {
    const first = await start();
    await expect(
      startMetricsServer({
        host: '127.0.0.1',
        port: first.port,
        status: () => status(),
        meter: new SyncMeter(),
        readiness: () => ({ ready: true }),
        processMetrics: false,
      }),
    ).rejects.toMatchObject({
      code: 'E_METRICS_LISTEN',
      message: `cannot serve metrics on 127.0.0.1:${first.port}: EADDRINUSE`,
    });
  });

  it('closes idempotently', async () => {
    const s = await start();
    const a = s.close();
    expect(s.close()).toBe(a);
    await a;
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
    server = null;
  });
});
