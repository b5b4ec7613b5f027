import { describe, expect, test } from 'vitest';
import { DEFAULT_FAULTS, TokenBucket, mergeFaults, seededRandom } from '../../src/emulator/faults/faults.js';

describe('mergeFaults', () => {
  test('merges and freezes', () => {
    const f = mergeFaults(DEFAULT_FAULTS, { error500Rate: 0.5, retryAfterSeconds: 2 });
    expect(f.error500Rate).toBe(0.5);
    expect(f.retryAfterSeconds).toBe(2);
    expect(Object.isFrozen(f)).toBe(true);
  });
  test.each([
    [{ error500Rate: 2 }, /error500Rate to be a number from 0 to 1, got 2 \(number\)/],
    [{ latencyMs: -1 }, /latencyMs/],
    [{ requestsPerMinute: 0 }, /requestsPerMinute/],
    [{ bogus: 1 } as never, /Unknown fault setting "bogus"/],
    [{ error500Rate: 0.6, error429Rate: 0.6 }, /at most 1/],
    [{ hang: 'yes' } as never, /hang/],
  ])('refuses %j', (partial, why) => {
    expect(() => mergeFaults(DEFAULT_FAULTS, partial)).toThrow(why);
  });
});

describe('seededRandom', () => {
  test('repeats its sequence for a seed and differs across seeds', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const seqA = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(seqA);
    expect(Array.from({ length: 5 }, c)).not.toEqual(seqA);
    for (const x of seqA) expect(x >= 0 && x < 1).toBe(true);
  });
});

describe('TokenBucket', () => {
  test('allows a burst of perMinute, then refills continuously', () => {
    const bucket = new TokenBucket(60, 0);
    for (let i = 0; i < 60; i++) expect(bucket.take(0).ok).toBe(true);
    const refused = bucket.take(0);
    expect(refused).toEqual({ ok: false, waitMs: 1000 });
    expect(bucket.take(500).ok).toBe(false);
    expect(bucket.take(1000).ok).toBe(true);
    expect(bucket.fullAt(1000)).toBe(61_000);
  });
});
