/**
 * status for people (issue 11), on the engine as the daemon composes it (with its meter) against
 * the emulator: the rate it is getting, and while a 429 holds it, the current rate and an
 * estimate of when the backlog will be done.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { composeEngine } from '../../src/daemon/compose-engine.js';
import { SyncMeter } from '../../src/daemon/sync-meter.js';
import { Emulator } from '../../src/emulator/index.js';
import { IndexStore } from '../../src/store/store.js';
import type { StatusReport, SyncEngine } from '../../src/engine/contract.js';
import { TEST_KEY, testConfig } from '../helpers/engine-harness.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(requestsPerMinute: number, concurrency = 4) {
  const base = await mkdtemp(path.join(os.tmpdir(), 'cfs-activity-'));
  const dir = path.join(base, 'folder');
  const stateDir = path.join(base, 'state');
  await mkdir(dir);
  await mkdir(stateDir, { mode: 0o700 });
  const emulator = await Emulator.start({ apiKey: TEST_KEY });
  const config = testConfig(dir, stateDir, emulator.url, {
    watch: false,
    config: { queue: { requestsPerMinute, concurrency } },
  });
  const index = IndexStore.open(path.join(stateDir, 'index.sqlite'));
  const meter = new SyncMeter();
  const engine = composeEngine(config, index, pino({ level: 'silent' }), { watch: false, meter });
  cleanup.push(async () => {
    await engine.close(2_000);
    index.close();
    await emulator.close();
    await rm(base, { recursive: true, force: true });
  });
  return { dir, emulator, engine, meter };
}

async function pollStatus(engine: SyncEngine, what: string, ok: (s: StatusReport) => boolean): Promise<StatusReport> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const s = engine.status();
    if (ok(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(s.activity)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('status activity on a running engine', () => {
  it('while a 429 pause holds it: the current rate, the pause and when the backlog should be done', async () => {
    const { dir, emulator, engine, meter } = await setup(600, 1);
    for (let i = 0; i < 6; i++) await writeFile(path.join(dir, `f${i}.txt`), `file ${i}`);
    // Slow answers and one upload at a time: the storm begins while files still wait.
    emulator.setFaults({ latencyMs: 200 });
    const started = engine.start();
    await pollStatus(engine, 'pending files', (s) => s.activity.backlog >= 3);
    emulator.startStorm({ durationMs: 1_500, retryAfterSeconds: 2 });
    const held = await pollStatus(engine, 'a rate-limited status', (s) => s.activity.rateLimited?.pausedUntil != null);
    emulator.setFaults({ latencyMs: 0 });
    const r = held.activity.rateLimited!;
    expect(r.configuredRpm).toBe(600);
    // A storm's 429s do not teach a lower limit (src/rate/rate-controller.ts): the rate is not cut.
    expect(r.currentRpm).toBeGreaterThan(0);
    expect(r.currentRpm).toBeLessThanOrEqual(600);
    expect(held.activity.requestsLastMinute).toBeGreaterThanOrEqual(2);
    expect(held.activity.oldestPending).toMatchObject({ kind: 'upload' });
    const pausedUntil = Date.parse(r.pausedUntil!);
    // The estimate: the rest of the pause, then the backlog at the current rate.
    const now = Date.parse(r.doneBy!) - r.etaMs!;
    // (currentRpm is shown rounded to 0.1, hence the small tolerance.)
    expect(Math.abs(r.etaMs! - (pausedUntil - now + (held.activity.backlog / r.currentRpm) * 60_000))).toBeLessThan(
      100,
    );
    expect(Date.parse(r.doneBy!)).toBeGreaterThan(pausedUntil);
    await started;
    await engine.onIdle();
    const after = engine.status();
    expect(after.counts.synced).toBe(6);
    expect(after.activity.backlog).toBe(0);
    expect(after.activity.oldestPending).toBeNull();
    expect(after.activity.lastUploadAt).not.toBeNull();
    // With nothing left to do there is no estimate.
    expect(after.activity.rateLimited?.etaMs ?? null).toBeNull();
    expect(after.activity.requestsLastMinute).toBe(meter.requestsLastMinute(Date.now()));
    expect(meter.snapshot()).toMatchObject({ uploads: 6, rateLimitPauses: 1 });
    expect(meter.snapshot().pausedMs).toBeGreaterThanOrEqual(1_900);
  });

  it('with a backlog and no 429, is not rate limited and names the oldest pending change', async () => {
    const { dir, engine } = await setup(100_000);
    await writeFile(path.join(dir, 'a.txt'), 'a');
    await engine.start();
    expect(engine.status().activity).toMatchObject({ backlog: 0, oldestPending: null, rateLimited: null });
    expect(engine.status().activity.requestsLastMinute).toBeGreaterThanOrEqual(2); // a listing and an upload
  });
});
