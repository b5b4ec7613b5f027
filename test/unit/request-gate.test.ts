import { describe, expect, it } from 'vitest';
import type { ResponseInfo, RetryWaitInfo } from '../../src/api/types.js';
import { BURST } from '../../src/rate/rate-controller.js';
import { PROBE_TIMEOUT_MS, RequestGate } from '../../src/rate/request-gate.js';

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

/** A clock whose sleeps resolve only when the test advances it (or when they are aborted). */
function manualClock(start = 1_000_000) {
  const sleeps: { until: number; resolve: () => void }[] = [];
  const clock = {
    t: start,
    now: () => clock.t,
    sleep: (ms: number, signal?: AbortSignal) =>
      new Promise<void>((resolve) => {
        const entry = { until: clock.t + ms, resolve };
        sleeps.push(entry);
        signal?.addEventListener('abort', () => resolve(), { once: true });
      }),
    /** Moves time on in 10-ms steps, waking each due sleep and letting the gate run. */
    async advance(ms: number) {
      const end = clock.t + ms;
      while (clock.t < end) {
        clock.t = Math.min(end, clock.t + 10);
        for (const s of sleeps.filter((x) => x.until <= clock.t)) {
          sleeps.splice(sleeps.indexOf(s), 1);
          s.resolve();
        }
        await tick();
      }
    },
  };
  return clock;
}

function answer(status: number, startedAt: number, headers: Record<string, string> = {}): ResponseInfo {
  return { status, headers, startedAt };
}

/** `anthropic-ratelimit-requests-*` as the API sends them, for a bucket refilled continuously. */
function budget(limit: number, remaining: number, now: number): Record<string, string> {
  return {
    'anthropic-ratelimit-requests-limit': String(limit),
    'anthropic-ratelimit-requests-remaining': String(remaining),
    'anthropic-ratelimit-requests-reset': new Date(now + ((limit - remaining) * 60_000) / limit).toISOString(),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

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
    await Promise.all(Array.from({ length: 2000 }, () => gate.acquire().then(() => times.push(c.t))));
    expect(times).toHaveLength(2000);
    const burst = BURST;
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

  it('a 429 holds every request until its retry-after, then one goes first and the rest follow its answer', async () => {
    const c = manualClock();
    const gate = new RequestGate({ requestsPerMinute: 600, now: c.now, sleep: c.sleep, random: () => 0.5 });
    await gate.acquire();
    const t429 = c.t;
    gate.onResponse(answer(429, t429, { 'retry-after': '5', ...budget(600, 0, t429) }));
    expect(gate.pausedUntil).toBe(t429 + 5000);
    expect(gate.rateLimitPauses).toBe(1);
    expect(gate.effectiveRpm).toBeLessThan(600);
    const started: number[] = [];
    const all = Promise.all([1, 2, 3].map(() => gate.acquire().then(() => started.push(c.t))));
    await c.advance(4_999);
    expect(started).toHaveLength(0);
    // The probe goes alone after the pause (one request's time later); the others wait for its answer.
    await c.advance(1_000);
    expect(started).toHaveLength(1);
    expect(started[0]).toBeGreaterThanOrEqual(t429 + 5000);
    await c.advance(1_000);
    expect(started).toHaveLength(1);
    gate.onResponse(answer(200, started[0]!));
    await c.advance(1_000);
    await all;
    expect(started).toHaveLength(3);
    expect(gate.pausedUntil).toBeNull();
  });

  it('429s that overlap one pause count once, cut the rate once and keep the later deadline', () => {
    const c = fakeClock();
    const gate = new RequestGate({ requestsPerMinute: 100, now: c.now, sleep: c.sleep, random: () => 0.5 });
    const sent = c.t;
    gate.onResponse(answer(429, sent, { 'retry-after': '10', ...budget(100, 0, sent) }));
    const afterFirst = gate.effectiveRpm;
    expect(afterFirst).toBeLessThan(100);
    c.t += 100;
    gate.onResponse(answer(429, sent, { 'retry-after': '2', ...budget(100, 0, sent) }));
    gate.onRetryWait(rateLimited(30_000));
    expect(gate.rateLimitPauses).toBe(1);
    expect(gate.effectiveRpm).toBe(afterFirst);
    expect(gate.pausedUntil).toBe(c.t + 30_000);
    c.t += 30_001;
    gate.onRetryWait(rateLimited(1000));
    expect(gate.rateLimitPauses).toBe(2);
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

  it('learns the server’s limit from the rate-limit headers and never starts what its budget cannot cover', async () => {
    const c = fakeClock();
    const gate = new RequestGate({ requestsPerMinute: 400, now: c.now, sleep: c.sleep, random: () => 0.5 });
    await gate.acquire();
    // The key's budget is nearly gone: 2 of 120 left, refilled at 2 a second.
    gate.onResponse(answer(200, c.t, budget(120, 2, c.t)));
    expect(gate.learnedLimit).toBe(120);
    const times: number[] = [];
    for (let i = 0; i < 12; i++) {
      await gate.acquire();
      times.push(c.t);
      gate.onResponse(answer(200, c.t));
    }
    // 12 requests on a budget of 2 refilled at 120/min: at least 10 refills, 5 s.
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(4_500);
  });

  it('repeated 429s never take the rate below one request a minute', () => {
    const c = fakeClock();
    const gate = new RequestGate({ requestsPerMinute: 10, now: c.now, sleep: c.sleep });
    for (let i = 0; i < 50; i++) {
      const sent = c.t;
      c.t += 1;
      gate.onResponse(answer(200, sent));
      gate.onResponse(answer(429, c.t, { 'retry-after-ms': '1', ...budget(10, 0, c.t) }));
      c.t += 2;
    }
    expect(gate.rateLimitPauses).toBe(50);
    expect(gate.effectiveRpm).toBeGreaterThanOrEqual(1);
    expect(gate.effectiveRpm).toBeLessThan(10);
  });

  it('paces at the share the server granted before a 429, not at the configured rate', async () => {
    const c = fakeClock();
    const gate = new RequestGate({ requestsPerMinute: 400, now: c.now, sleep: c.sleep, random: () => 0.5 });
    // 120/min accepted for a minute (one every 500 ms), then a 429 without headers.
    for (let i = 0; i < 120; i++) {
      const sent = c.t;
      c.t += 500;
      gate.onResponse(answer(200, sent));
    }
    gate.onResponse(answer(429, c.t, { 'retry-after-ms': '500' }));
    expect(gate.effectiveRpm).toBeLessThanOrEqual(120);
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      await gate.acquire();
      times.push(c.t);
      gate.onResponse(answer(200, c.t));
    }
    // At most 120/min: at least 500 ms apart after the first.
    const gaps = times.slice(2).map((t, i) => t - times[i + 1]!);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(490);
  });

  it('a probe that is never answered (its request never left) holds the others for a bounded time only', async () => {
    const c = fakeClock();
    const gate = new RequestGate({ requestsPerMinute: 600, now: c.now, sleep: c.sleep, random: () => 0.5 });
    gate.onResponse(
      answer(429, c.t, {
        'retry-after': '1',
        'anthropic-ratelimit-requests-limit': '600',
        'anthropic-ratelimit-requests-remaining': '5',
      }),
    );
    await gate.acquire(); // the probe; its job is then aborted before it sends anything
    const t = c.t;
    await gate.acquire();
    expect(c.t - t).toBeGreaterThanOrEqual(PROBE_TIMEOUT_MS - 100);
    expect(c.t - t).toBeLessThanOrEqual(PROBE_TIMEOUT_MS + 1_000);
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
      sleep: (ms) =>
        new Promise((resolve) => {
          wake = () => {
            c.t += ms;
            resolve();
          };
        }),
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
