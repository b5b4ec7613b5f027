import { describe, expect, it } from 'vitest';
import {
  ChangedBackoff,
  CHANGED_RECHECK_MAX_MS,
  CHANGED_STREAK_RESET_MS,
  changedRecheckDelay,
  dueForRecheck,
  FAILED_RECHECK_MAX_MS,
  MAX_ENGINE_RETRIES,
  recheckDelay,
  retryDelay,
} from '../../src/sync/backoff.js';

describe('backoff', () => {
  it('retries a transient failure after 2 s, 4 s, 8 s ... and gives up after the last retry', () => {
    expect([1, 2, 3, 4, 5].map(retryDelay)).toEqual([2_000, 4_000, 8_000, 16_000, 32_000]);
    expect(retryDelay(MAX_ENGINE_RETRIES + 1)).toBeNull();
  });

  it('rechecks a failed file after 5 s x 2^(attempts-1), at most an hour', () => {
    expect(recheckDelay(0)).toBe(5_000);
    expect(recheckDelay(1)).toBe(5_000);
    expect(recheckDelay(3)).toBe(20_000);
    expect(recheckDelay(40)).toBe(FAILED_RECHECK_MAX_MS);
  });

  it('a failed row is due for a recheck once its delay has passed since its last failure, by the given now', () => {
    const row = { updatedAt: 1_000_000, attempts: 2 }; // delay 10 s
    expect(dueForRecheck(row, 1_000_000 + 9_999)).toBe(false);
    expect(dueForRecheck(row, 1_000_000 + 10_000)).toBe(true);
  });

  it('rechecks a file that changed during its upload after the settle time, then twice as long each time, at most a minute', () => {
    expect([1, 2, 3, 4].map((n) => changedRecheckDelay(200, n))).toEqual([200, 400, 800, 1_600]);
    expect(changedRecheckDelay(200, 30)).toBe(CHANGED_RECHECK_MAX_MS);
  });

  it('counts changed uploads per path, ends a streak at a completed upload, and forgets old streaks by the given now', () => {
    const b = new ChangedBackoff();
    expect([b.next('a', 200, 0), b.next('a', 200, 10), b.next('a', 200, 20)]).toEqual([200, 400, 800]);
    expect(b.next('b', 200, 30)).toBe(200);
    b.settled('a');
    expect(b.next('a', 200, 40)).toBe(200);
    expect(b.next('a', 200, 50)).toBe(400);
    expect(b.next('c', 200, 50 + CHANGED_STREAK_RESET_MS)).toBe(200);
    expect(b.size).toBe(1);
    expect(b.next('a', 200, 60 + CHANGED_STREAK_RESET_MS)).toBe(200);
  });
});
