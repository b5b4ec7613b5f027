import { describe, expect, it } from 'vitest';
import type { RetryWaitInfo } from '../../src/api/types.js';
import { RequestGate } from '../../src/sync/request-gate.js';

/** A fake clock whose sleep advances time: every wait is exact and instant. */
function fakeClock(start = 1_000_000) {
  const clock = {
    t: start,
    now: () => clock.t,
    sleeps: [] as number[],
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.t += ms;
    },
  };
  return clock;
}

function rateLimited(waitMs: number, status = 429): RetryWaitInfo {
  return { status, waitMs, fromServer: true, attempt: 1, requestId: 'req_1', method: 'POST', path: '/v1/files' };
}

describe('RequestGate', () => {
  it('lets a small burst through at once, then paces requests at the configured rate', async () => {
    const c = fakeClock();
    const gate = new RequestGate({ requestsPerMinute: 60, now: c.now, sleep: c.sleep });
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      await gate.acquire();
      times.push(c.t - 1_000_000);
    }
    expect(times).toEqual([0, 0, 1000, 2000, 3000, 4000]);
  });

  it('never starts more than requestsPerMinute (plus the burst) in any minute', async () => {
    const c = fakeClock();
    const rpm = 400;
    const gate = new RequestGate({ requestsPerMinute: rpm, now: c.now, sleep: c.sleep });
    const times: number[] = [];
    await Promise.all(
      Array.from({ length: 2000 }, () => gate.acquire().then(() => times.push(c.t))),
    );
    expect(times).toHaveLength(2000);
    const burst = Math.floor((rpm / 60) * 2);
    for (let i = 0; i < times.length; i++) {
      const inWindow = times.filter((t) => t >= times[i]! && t < times[i]! + 60_000).length;
      if (i % 97 === 0) expect(inWindow).toBeLessThanOrEqual(rpm + burst);
    }
    // And it is not needlessly slow: 2000 requests take about 2000/400 minutes.
    expect(times.at(-1)! - times[0]!).toBeLessThanOrEqual(((2000 - burst) / rpm) * 60_000 + 1000);
  });

  it('serves waiters in the order they asked', async () => {
    const c = fakeClock();
    const gate = new RequestGate({ requestsPerMinute: 60, now: c.now, sleep: c.sleep });
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3, 4].map((i) => gate.acquire().then(() => order.push(i))));
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it('a 429 holds every request until the wait is over and lowers the rate', async () => {
    const c = fakeClock();
    const gate = new RequestGate({ requestsPerMinute: 600, now: c.now, sleep: c.sleep });
    await gate.acquire();
    const t429 = c.t;
    gate.onRetryWait(rateLimited(5000));
    expect(gate.pausedUntil).toBe(t429 + 5000);
    expect(gate.rateLimitPauses).toBe(1);
    expect(gate.effectiveRpm).toBeCloseTo(420);
    const started: number[] = [];
    await Promise.all([1, 2, 3].map(() => gate.acquire().then(() => started.push(c.t))));
    expect(Math.min(...started)).toBeGreaterThanOrEqual(t429 + 5000);
    // The bucket starts empty after a 429: no burst straight into the full window.
    expect(started[0]).toBeGreaterThan(t429 + 5000);
    expect(gate.pausedUntil).toBeNull();
  });

  it('429s that overlap one pause count once, lower the rate once and keep the later deadline', () => {
    const c = fakeClock();
    const gate = new RequestGate({ requestsPerMinute: 100, now: c.now, sleep: c.sleep });
    gate.onRetryWait(rateLimited(10_000));
    c.t += 100;
    gate.onRetryWait(rateLimited(2000));
    gate.onRetryWait(rateLimited(30_000));
    expect(gate.rateLimitPauses).toBe(1);
    expect(gate.effectiveRpm).toBeCloseTo(70);
    expect(gate.pausedUntil).toBe(c.t + 30_000);
    c.t += 30_001;
    gate.onRetryWait(rateLimited(1000));
    expect(gate.rateLimitPauses).toBe(2);
    expect(gate.effectiveRpm).toBeLessThan(70 * 0.7 + 1);
  });

  it('ignores retry waits that are not 429', () => {
    const c = fakeClock();
    const gate = new RequestGate({ requestsPerMinute: 100, now: c.now, sleep: c.sleep });
    gate.onRetryWait(rateLimited(5000, 529));
    gate.onRetryWait(rateLimited(5000, 500));
    expect(gate.pausedUntil).toBeNull();
    expect(gate.rateLimitPauses).toBe(0);
    expect(gate.effectiveRpm).toBe(100);
  });

  it('the lowered rate recovers by a tenth of the configured rate per quiet minute, up to it', () => {
    const c = fakeClock();
    const gate = new RequestGate({ requestsPerMinute: 500, now: c.now, sleep: c.sleep });
    gate.onRetryWait(rateLimited(1000));
    expect(gate.effectiveRpm).toBeCloseTo(350);
    c.t += 1000; // the pause itself does not count as quiet time
    expect(gate.effectiveRpm).toBeCloseTo(350);
    c.t += 60_000;
    expect(gate.effectiveRpm).toBeCloseTo(400);
    c.t += 120_000;
    expect(gate.effectiveRpm).toBeCloseTo(500);
    c.t += 600_000;
    expect(gate.effectiveRpm).toBe(500);
  });

  it('repeated 429s never take the rate below one request a minute', () => {
    const c = fakeClock();
    const gate = new RequestGate({ requestsPerMinute: 10, now: c.now, sleep: c.sleep });
    for (let i = 0; i < 50; i++) {
      gate.onRetryWait(rateLimited(1));
      c.t += 2;
    }
    expect(gate.rateLimitPauses).toBe(50);
    expect(gate.effectiveRpm).toBeGreaterThanOrEqual(1);
    expect(gate.effectiveRpm).toBeLessThan(1.01);
  });

  it('paces at the lowered rate after a 429', async () => {
    const c = fakeClock();
    const gate = new RequestGate({ requestsPerMinute: 60, now: c.now, sleep: c.sleep });
    gate.onRetryWait(rateLimited(0));
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      await gate.acquire();
      times.push(c.t);
    }
    // 42/min is about 1429 ms apart (a little less as the rate recovers).
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    for (const gap of gaps) expect(gap).toBeGreaterThan(1300);
  });

  it('an aborted acquire rejects and takes no token', async () => {
    const c = fakeClock();
    const gate = new RequestGate({ requestsPerMinute: 60, now: c.now, sleep: c.sleep });
    const done = new AbortController();
    done.abort(new Error('stop'));
    await expect(gate.acquire(done.signal)).rejects.toThrow('stop');

    // A real sleep that we control, so the waiter is really waiting when it aborts.
    let wake!: () => void;
    const slow = new RequestGate({
      requestsPerMinute: 60,
      now: c.now,
      sleep: (ms) => new Promise((resolve) => (wake = () => ((c.t += ms), resolve()))),
    });
    await slow.acquire();
    await slow.acquire();
    const ctl = new AbortController();
    const waiting = slow.acquire(ctl.signal);
    const after = slow.acquire();
    ctl.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    expect(slow.waiting).toBe(1);
    wake();
    await after;
    expect(slow.waiting).toBe(0);
  });

  it('whenUnpaused waits out a pause without taking a token', async () => {
    const c = fakeClock();
    const gate = new RequestGate({ requestsPerMinute: 60, now: c.now, sleep: c.sleep });
    const t0 = c.t;
    await gate.whenUnpaused();
    expect(c.t).toBe(t0);
    gate.onRetryWait(rateLimited(7000));
    await gate.whenUnpaused();
    expect(c.t).toBe(t0 + 7000);
  });

  it('cancelled waits during a long pause leave no timer behind to keep a closing daemon alive', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const gate = new RequestGate({ requestsPerMinute: 100 });
    gate.onRetryWait(rateLimited(600_000));
    const a = new AbortController();
    const b = new AbortController();
    const acquiring = gate.acquire(a.signal);
    const unpausing = gate.whenUnpaused(b.signal);
    await new Promise((resolve) => setImmediate(resolve));
    expect(timers()).toBeGreaterThan(before);
    a.abort(new Error('closing'));
    b.abort(new Error('closing'));
    await expect(acquiring).rejects.toThrow('closing');
    await expect(unpausing).rejects.toThrow('closing');
    await new Promise((resolve) => setImmediate(resolve));
    expect(timers()).toBe(before);
  });

  it('rejects a bad rate with the value it got', () => {
    expect(() => new RequestGate({ requestsPerMinute: 0 })).toThrow(/requestsPerMinute.*0/);
    expect(() => new RequestGate({ requestsPerMinute: Number.NaN })).toThrow(/requestsPerMinute/);
  });
});
