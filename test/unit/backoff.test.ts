import { describe, expect, it } from 'vitest';
import {
  ChangedBackoff,
  CHANGED_RECHECK_MAX_MS,
  CHANGED_STREAK_RESET_MS,
  changedRecheckDelay,
  dueForRecheck,
  FAILED_RECHECK_MAX_MS,
  MAX_WAITS_WITHOUT_ANSWER,
  nextWait,
  recheckDelay,
  type WaitState,
} from '../../src/plan/backoff.js';

describe('backoff', () => {
  it("requeues a transient failure as soon as the policy allows: the server's wait, else 0.5 s, 1 s, 2 s ... 8 s, nothing stacked", () => {
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
    expect(nextWait(state, 100_000, 99_000, null, 0)).toEqual({
      state: { waits: 1, lastFailureAt: 100_000 },
      delayMs: 500,
    });
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
