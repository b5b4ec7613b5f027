import { describe, expect, it } from 'vitest';
import { dueForRecheck, FAILED_RECHECK_MAX_MS, MAX_WAITS_WITHOUT_ANSWER, nextWait, recheckDelay, type WaitState } from '../../src/sync/backoff.js';

describe('backoff', () => {
  it('requeues a transient failure as soon as the policy allows: the server\'s wait, else 0.5 s, 1 s, 2 s ... 8 s, nothing stacked', () => {
    expect(nextWait(undefined, 1_000, 0, 200, 0)).toEqual({ state: { waits: 1, lastFailureAt: 1_000 }, delayMs: 200 });
    let state: WaitState | undefined;
    const delays: number[] = [];
    for (let t = 1; t <= MAX_WAITS_WITHOUT_ANSWER; t += 1) {
      const next = nextWait(state, t * 10_000, 0, null, 0);
      delays.push(next!.delayMs);
      state = next!.state;
    }
    expect(delays).toEqual([500, 1_000, 2_000, 4_000, 8_000]);
  });

  it('waiting is not failing: a key keeps waiting while other jobs succeed, and fails only when nothing has answered through all its waits', () => {
    let state: WaitState | undefined;
    for (let t = 1; t <= MAX_WAITS_WITHOUT_ANSWER; t += 1) state = nextWait(state, t * 10_000, 0, null, 0)!.state;
    // An outage: nothing succeeded since the first failure.
    expect(nextWait(state, 100_000, 0, null, 0)).toBeNull();
    // A faulty server: something succeeded since this key last failed, so it starts over.
    expect(nextWait(state, 100_000, 99_000, null, 0)).toEqual({ state: { waits: 1, lastFailureAt: 100_000 }, delayMs: 500 });
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
