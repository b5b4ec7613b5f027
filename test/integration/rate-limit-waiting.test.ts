/**
 * Waiting is not failing (issue 9): a 429 storm longer than every retry the client would make
 * holds the uploads at the request gate; no file turns `failed` at any moment, and once the
 * storm ends every file is synced without a reconcile.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkInvariants, createHarness, waitUntil, type Harness } from '../helpers/engine-harness.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

describe('rate limits and 429 storms', () => {
  it('a 429 storm longer than all retries turns no file failed, and every file syncs after it without a reconcile', async () => {
    h = await createHarness({ watch: true, config: { api: { maxRetries: 2 } } });
    const x = h;
    await x.engine.start();
    const listingsAtStart = x.emulator.stats().byRoute.list;
    // Every request is refused for 4 s with retry-after 200 ms: the client's two retries are
    // spent within half a second of the first upload.
    const stormMs = 4_000;
    x.emulator.startStorm({ durationMs: stormMs, retryAfterSeconds: 1, retryAfterMs: 200 });
    const stormEnds = Date.now() + stormMs;
    const n = 12;
    for (let i = 0; i < n; i++) await writeFile(path.join(x.dir, `f${i}.txt`), `file ${i}\n`);
    const failedSeen = new Set<string>();
    while (Date.now() < stormEnds) {
      for (const row of x.index.byState('failed', 100)) failedSeen.add(row.path);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(x.emulator.stats().injected.storm).toBeGreaterThan(0);
    await waitUntil(
      () => {
        for (const row of x.index.byState('failed', 100)) failedSeen.add(row.path);
        return x.index.countByState().synced === n;
      },
      30_000,
      'every file synced after the storm',
    );
    expect([...failedSeen]).toEqual([]);
    // No reconcile ran: the only listing is the start-up one.
    expect(x.emulator.stats().byRoute.list).toBe(listingsAtStart);
    expect(x.engine.status().queue.rateLimitPauses).toBeGreaterThan(0);
    expect(await checkInvariants(x)).toEqual([]);
  });
});
