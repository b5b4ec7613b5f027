/**
 * End-to-end (issue 11): the built `run` with metrics on, scraped as Prometheus would, and parsed
 * with a real Prometheus text parser; /readyz turns ready only after the start-up reconcile.
 */
import { createServer } from 'node:net';
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli-sandbox.js';
import { runCli, startCli, until } from '../helpers/cli-process.js';
import { e2eWorld } from '../helpers/e2e.js';

const KEY = 'sk-ant-api03-e2e-metrics-key-7d1e0c';
const P = 'claude_filesync_';

const world = e2eWorld(KEY);
const { running } = world;

const envFor = (s: Sandbox) => world.env(s);

/** A port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function scrape(base: string): Promise<ParsedFamily[]> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  return parsePrometheusTextFormat(await res.text());
}

function value(families: ParsedFamily[], name: string, labels: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  const sample = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return sample?.value !== undefined ? Number(sample.value) : 0;
}

describe('run --metrics', () => {
  it('serves /readyz 503 during the start-up reconcile, then 200, and counters that move with the files', async () => {
    const s = sandbox('cfs-metrics-');
    writeFileSync(join(s.dir, 'before.txt'), 'present at start');
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // Slow answers keep the start-up reconcile going long enough to see it not ready.
    world.emulator.setFaults({ latencyMs: 1500 });
    const daemon = startCli(['run', ...s.args, '--metrics', `127.0.0.1:${port}`], envFor(s));
    running.push(daemon);
    await daemon.waitFor((p) => p.logLines().some((l) => l.event === 'metrics'), 'the metrics endpoint', 30_000);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const early = await fetch(`${base}/readyz`);
    expect(daemon.logLines().some((l) => l.event === 'ready')).toBe(false);
    expect(early.status).toBe(503);
    expect(await early.text()).toBe('not ready: the start-up reconcile has not finished\n');
    expect(value(await scrape(base), `${P}ready`)).toBe(0);
    world.emulator.setFaults({ latencyMs: 0 });

    await daemon.waitFor((p) => p.logLines().some((l) => l.event === 'ready'), 'the daemon to be ready', 60_000);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    const before = await scrape(base);
    expect(value(before, `${P}ready`)).toBe(1);
    expect(value(before, `${P}reconciles_total`, { result: 'ok' })).toBe(1);
    expect(value(before, `${P}last_reconcile_timestamp_seconds`)).toBeGreaterThan(Date.now() / 1000 - 120);
    expect(value(before, `${P}uploads_total`)).toBe(1);
    expect(value(before, `${P}files`, { state: 'synced' })).toBe(1);
    expect(value(before, `${P}requests_total`, { operation: 'list', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(value(before, `${P}process_resident_memory_bytes`)).toBeGreaterThan(0);
    const mode = ['native', 'polling'].find((m) => value(before, `${P}watcher_mode`, { mode: m }) === 1);
    expect(mode).toBeDefined();

    const contents = ['alpha', 'beta beta', 'gamma gamma gamma'];
    for (const [i, c] of contents.entries()) writeFileSync(join(s.dir, `drop-${i}.txt`), c);
    const after = await until(async () => {
      const f = await scrape(base);
      return value(f, `${P}files`, { state: 'synced' }) === 4 && value(f, `${P}uploads_total`) === 4 ? f : null;
    }, 'the dropped files to be uploaded and counted');
    expect(
      value(after, `${P}requests_total`, { operation: 'upload', status: '200' }) -
        value(before, `${P}requests_total`, { operation: 'upload', status: '200' }),
    ).toBe(3);
    const bytes = value(after, `${P}uploaded_bytes_total`) - value(before, `${P}uploaded_bytes_total`);
    expect(bytes).toBeGreaterThanOrEqual(contents.join('').length);
    expect(value(after, `${P}files`, { state: 'pending' })).toBe(0);
    expect(value(after, `${P}last_upload_timestamp_seconds`)).toBeGreaterThan(0);

    unlinkSync(join(s.dir, 'drop-0.txt'));
    const deleted = await until(async () => {
      const f = await scrape(base);
      return value(f, `${P}deletes_total`) === 1 ? f : null;
    }, 'the remote delete to be counted');
    expect(value(deleted, `${P}requests_total`, { operation: 'delete', status: '200' })).toBe(1);
    expect(value(deleted, `${P}files`, { state: 'synced' })).toBe(3);

    // status shows the rate this daemon is getting.
    const st = await runCli(['status', '--json', ...s.args], envFor(s));
    const report = JSON.parse(st.stdout) as { activity: { requestsLastMinute: number; lastUploadAt: string | null } };
    expect(report.activity.requestsLastMinute).toBeGreaterThanOrEqual(5);
    expect(report.activity.lastUploadAt).not.toBeNull();

    daemon.signal('SIGTERM');
    expect((await daemon.exited(30_000)).code).toBe(0);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  it('refuses a non-loopback address with exit 2, naming it', async () => {
    const s = sandbox('cfs-metrics-');
    const r = await runCli(['run', ...s.args, '--metrics', '0.0.0.0:9464'], envFor(s), 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('metrics.listen 0.0.0.0:9464 (from --metrics) is not a loopback address');
    expect(r.stderr).toContain('metrics.allowNonLoopback');
  });

  it('exits 1 naming the address when the metrics port is taken', async () => {
    const s = sandbox('cfs-metrics-');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    try {
      const r = await runCli(['run', ...s.args, '--metrics', `127.0.0.1:${port}`], envFor(s), 30_000);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`cannot serve metrics on 127.0.0.1:${port}: EADDRINUSE`);
    } finally {
      blocker.close();
    }
  });
});
