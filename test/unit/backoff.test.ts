import { describe, expect, it } from 'vitest';
import { dueForRecheck, FAILED_RECHECK_MAX_MS, MAX_ENGINE_RETRIES, recheckDelay, retryDelay } from '../../src/sync/backoff.js';

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
});
