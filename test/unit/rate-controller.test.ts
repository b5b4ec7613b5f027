import { describe, expect, it } from 'vitest';
import { RateController, retryAfterMs } from '../../src/rate/rate-controller.js';

const T0 = Date.UTC(2026, 0, 1);
const fixed = () => 0.5; // no jitter

/** Starts requests as soon as the controller allows, until `until`; returns their start times. */
function drive(c: RateController, from: number, until: number): number[] {
  const times: number[] = [];
  let t = from;
  while (t < until) {
    const w = c.wait(t);
    if (!Number.isFinite(w)) break;
    t += w;
    if (t >= until) break;
    c.start(t);
    times.push(t);
  }
  return times;
}

function budget(limit: number, remaining: number, now: number, resetInMs = ((limit - remaining) * 60_000) / limit) {
  return {
    'anthropic-ratelimit-requests-limit': String(limit),
    'anthropic-ratelimit-requests-remaining': String(remaining),
    'anthropic-ratelimit-requests-reset': new Date(now + resetInMs).toISOString(),
  };
}

describe('RateController', () => {
  it('starts a burst of two at once, then paces at the configured rate', () => {
    const c = new RateController({ requestsPerMinute: 60, now: T0, random: fixed });
    expect(drive(c, T0, T0 + 4_500).map((t) => t - T0)).toEqual([0, 0, 1000, 2000, 3000, 4000]);
  });

  it('pauses every request until a 429’s retry-after-ms, then lets one go first', () => {
    const c = new RateController({ requestsPerMinute: 600, now: T0, random: fixed });
    c.start(T0);
    c.answer(T0 + 100, { status: 429, headers: { 'retry-after-ms': '2500', 'retry-after': '3' }, startedAt: T0 });
    expect(c.wait(T0 + 100)).toBe(2500);
    // Then the pacer starts from empty: one request's time at the (lowered) rate.
    const probeAt = T0 + 2600 + c.wait(T0 + 2600);
    expect(probeAt - (T0 + 2600)).toBeLessThanOrEqual(200);
    c.start(probeAt);
    // The probe is in flight: nothing else starts until it is answered.
    expect(c.wait(probeAt + 5_000)).toBe(Infinity);
    c.answer(probeAt + 5_100, { status: 200, startedAt: probeAt });
    expect(c.wait(probeAt + 5_100)).toBe(0);
  });

  it('without headers, cuts to the share the server granted before the 429, not a blind ×0.7', () => {
    // 400/min against a 120/min bucket that started full: 171 accepted in 25.7 s, then a 429.
    const c = new RateController({ requestsPerMinute: 400, now: T0, random: fixed });
    for (let i = 0; i < 171; i++) {
      const t = T0 + i * 150;
      c.start(t);
      c.answer(t + 100, { status: 200, startedAt: t });
    }
    const at = T0 + 171 * 150;
    c.start(at);
    c.answer(at + 100, { status: 429, headers: { 'retry-after-ms': '400' }, startedAt: at });
    expect(c.limit).toBeGreaterThan(110);
    expect(c.limit).toBeLessThan(130);
    // From 400 straight down to the learned share, in one step.
    expect(c.rate(at + 600)).toBeGreaterThan(110);
    expect(c.rate(at + 600)).toBeLessThan(125);
    expect(c.counts.decreases).toBe(1);
  });

  it('a header-less 429 after little was accepted (an idle daemon meeting a storm) pauses but does not cut the rate', () => {
    const c = new RateController({ requestsPerMinute: 400, now: T0, random: fixed });
    c.start(T0);
    c.answer(T0 + 100, { status: 200, startedAt: T0 });
    c.start(T0 + 5_000);
    c.answer(T0 + 5_100, { status: 429, headers: { 'retry-after-ms': '200' }, startedAt: T0 + 5_000 });
    expect(c.wait(T0 + 5_100)).toBe(200);
    expect(c.rate(T0 + 5_300)).toBe(400);
    expect(c.limit).toBeNull();
  });

  it('random header-less 429s (one answer in ten, a faulty server) do not drag the rate down', () => {
    const c = new RateController({ requestsPerMinute: 400, now: T0, random: fixed });
    let t = T0;
    for (let i = 0; i < 600; i++) {
      t += c.wait(t);
      if (!Number.isFinite(c.wait(t))) t += 1;
      c.start(t);
      const status = i % 10 === 9 ? 429 : 200;
      c.answer(t + 100, { status, headers: status === 429 ? { 'retry-after-ms': '200' } : {}, startedAt: t });
    }
    expect(c.rate(t)).toBeGreaterThanOrEqual(0.8 * 400);
    // 600 requests at 400/min with 60 pauses of 200 ms: about 1.5 minutes + 12 s, not ten.
    expect(t - T0).toBeLessThan(2.5 * 60_000);
  });

  it('429s with nothing accepted in between are one episode and cut the rate once', () => {
    const c = new RateController({ requestsPerMinute: 400, now: T0, random: fixed });
    for (let i = 0; i < 100; i++) c.answer(T0 + i * 150, { status: 200, startedAt: T0 + i * 150 - 100 });
    let t = T0 + 15_000;
    c.answer(t, { status: 429, headers: { 'retry-after': '1' }, startedAt: t - 100 });
    const after = c.rate(t + 1);
    for (let i = 0; i < 5; i++) {
      t += 1_100;
      c.start(t);
      c.answer(t + 100, { status: 429, headers: { 'retry-after': '1' }, startedAt: t });
    }
    expect(c.counts.decreases).toBe(1);
    expect(c.rate(t + 1_000)).toBeGreaterThanOrEqual(after);
  });

  it('a 429 the headers show was not the limiter’s (budget left) pauses but keeps the rate', () => {
    const c = new RateController({ requestsPerMinute: 100, now: T0, random: fixed });
    c.answer(T0, { status: 429, headers: { ...budget(120, 80, T0), 'retry-after': '30' }, startedAt: T0 - 100 });
    expect(c.pausedUntil(T0)).toBe(T0 + 30_000);
    expect(c.counts.decreases).toBe(0);
    expect(c.rate(T0 + 30_000)).toBe(100);
  });

  it('resumes at the learned rate after a storm far longer than the limit explains', () => {
    const c = new RateController({ requestsPerMinute: 400, now: T0, random: fixed });
    for (let i = 0; i < 120; i++) c.answer(T0 + i * 500, { status: 200, startedAt: T0 + i * 500 - 100 });
    let t = T0 + 60_000;
    const before = c.rate(t);
    c.answer(t, { status: 429, headers: { 'retry-after': '30' }, startedAt: t - 100 });
    for (let i = 0; i < 3; i++) {
      // Each probe goes out when the pause ends and is refused again.
      t += 30_200;
      c.answer(t, { status: 429, headers: { 'retry-after': '30' }, startedAt: t - 100 });
    }
    t += 30_200;
    c.answer(t, { status: 200, startedAt: t - 100 });
    expect(c.rate(t)).toBeGreaterThanOrEqual(before);
  });

  it('with headers, spends a large budget at the configured rate and never starts what the budget cannot cover', () => {
    const c = new RateController({ requestsPerMinute: 400, now: T0, random: fixed });
    c.answer(T0, { status: 200, headers: budget(120, 100, T0) });
    expect(c.rate(T0)).toBe(400);
    c.answer(T0 + 10, { status: 200, headers: budget(120, 1, T0 + 10) });
    c.start(T0 + 10);
    // The budget is spent: the next request waits for the bucket to refill one (0.5 s at 120/min).
    expect(c.wait(T0 + 10)).toBeGreaterThanOrEqual(400);
    expect(c.limit).toBe(120);
    expect(c.limitSource).toBe('header');
  });

  it('with headers, a budget falling to its reserve lowers the rate before any 429', () => {
    const c = new RateController({ requestsPerMinute: 400, now: T0, random: fixed });
    for (let i = 0; i <= 30; i++) {
      const t = T0 + i * 150;
      c.answer(t, { status: 200, headers: budget(120, Math.max(0, 40 - i * 2), t), startedAt: t - 100 });
    }
    expect(c.counts.rejected429).toBe(0);
    expect(c.counts.decreases).toBeGreaterThanOrEqual(1);
    expect(c.rate(T0 + 4_600)).toBeLessThanOrEqual(120);
  });

  it('never exceeds the configured rate, whatever the server says', () => {
    const c = new RateController({ requestsPerMinute: 30, now: T0, random: fixed });
    c.answer(T0, { status: 200, headers: budget(1000, 1000, T0) });
    expect(drive(c, T0, T0 + 60_000).length).toBeLessThanOrEqual(30 + 2);
  });

  it('spends a large budget the headers show at once, then paces, and never starts more than the configured rate in a minute', () => {
    const c = new RateController({ requestsPerMinute: 400, now: T0, random: fixed });
    c.start(T0);
    c.answer(T0 + 20, { status: 200, headers: budget(500, 480, T0 + 20), startedAt: T0 });
    // A surplus far above a quarter of the limit: no pacing, as many as the workers start.
    for (let i = 0; i < 50; i++) {
      expect(c.wait(T0 + 20)).toBe(0);
      c.start(T0 + 20);
    }
    const c2 = new RateController({ requestsPerMinute: 30, now: T0, random: fixed });
    c2.answer(T0, { status: 200, headers: budget(1000, 1000, T0) });
    const starts = drive(c2, T0, T0 + 60_000);
    expect(starts.length).toBe(30);
    expect(starts.every((t) => t === T0)).toBe(true);
  });

  it('counts its requests still in flight as spent from the budget an answer shows', () => {
    const c = new RateController({ requestsPerMinute: 400, now: T0, random: fixed });
    for (let i = 0; i < 4; i++) c.start(T0);
    // The first answer left the server before the other three arrived: the budget of 2 it shows
    // is theirs too. 450 ms later the pacer has a token again, the server not even one more.
    c.answer(T0 + 10, { status: 200, headers: budget(120, 2, T0 + 10), startedAt: T0 });
    expect(c.wait(T0 + 460)).toBeGreaterThan(0);
  });

  it('after a short 429 whose headers show budget left (a faulty server), goes on when the pause ends without a probe', () => {
    const c = new RateController({ requestsPerMinute: 400, now: T0, random: fixed });
    c.start(T0);
    c.start(T0);
    c.answer(T0 + 20, { status: 200, headers: budget(500, 490, T0 + 20), startedAt: T0 });
    c.answer(T0 + 30, {
      status: 429,
      headers: { ...budget(500, 489, T0 + 30), 'retry-after-ms': '200' },
      startedAt: T0,
    });
    c.holdUntil(T0 + 230, T0 + 31);
    expect(c.wait(T0 + 100)).toBe(130);
    // The pause is over: every worker may go at once again (the budget is still there).
    for (let i = 0; i < 4; i++) {
      expect(c.wait(T0 + 230)).toBe(0);
      c.start(T0 + 230);
    }
    expect(c.counts.decreases).toBe(0);
  });

  it("alone on a key, spends the server's bucket down to about two requests; with others drawing from it, leaves them a margin", () => {
    const run = (others: number) => {
      const c = new RateController({ requestsPerMinute: 400, now: T0, random: fixed });
      // A job's first answer shows a bucket (its reset is the refill time), nearly full.
      c.start(T0);
      c.answer(T0, { status: 200, headers: budget(120, 119, T0), startedAt: T0 });
      let bucket = 6;
      let t = T0;
      // Twenty seconds in steps of 100 ms: the bucket refills 2 a second, the others take
      // `others` a second, we take what we are allowed.
      for (let step = 0; step < 200; step++) {
        t += 100;
        bucket = Math.max(0, bucket + 0.2 - others / 10);
        while (c.wait(t) === 0 && bucket >= 1) {
          c.start(t);
          bucket -= 1;
          c.answer(t, { status: 200, headers: budget(120, Math.floor(bucket), t), startedAt: t });
        }
      }
      return Math.floor(bucket);
    };
    expect(run(0)).toBeLessThanOrEqual(3);
    expect(run(1)).toBeGreaterThanOrEqual(4);
  });

  it('rejects a rate that is not a positive number, naming it', () => {
    expect(() => new RateController({ requestsPerMinute: 0, now: T0 })).toThrow(/requestsPerMinute/);
  });
});

describe('retryAfterMs', () => {
  it('prefers retry-after-ms, then retry-after seconds, then an HTTP date', () => {
    expect(retryAfterMs({ 'retry-after-ms': '1500', 'retry-after': '9' }, 0)).toBe(1500);
    expect(retryAfterMs({ 'retry-after': '2' }, 0)).toBe(2000);
    expect(retryAfterMs({ 'retry-after': new Date(T0 + 3000).toUTCString() }, T0)).toBe(3000);
    expect(retryAfterMs({}, 0)).toBeNull();
    expect(retryAfterMs(undefined, 0)).toBeNull();
  });
});
