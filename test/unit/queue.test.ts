import { describe, expect, it } from 'vitest';
import { KeyedQueue } from '../../src/jobs/queue.js';
import { RequestGate } from '../../src/rate/request-gate.js';

function deferred() {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('KeyedQueue', () => {
  it('pushes for a key that is waiting collapse into one run of the latest job', async () => {
    const q = new KeyedQueue({ concurrency: 1 });
    const blocker = deferred();
    const runs: string[] = [];
    const first = q.push('other', async () => blocker.promise);
    const p1 = q.push('a.txt', async () => void runs.push('v1'));
    const p2 = q.push('a.txt', async () => void runs.push('v2'));
    const p3 = q.push('a.txt', async () => void runs.push('v3'));
    expect(q.size).toBe(1);
    expect(p2).toBe(p1);
    expect(p3).toBe(p1);
    blocker.resolve();
    await Promise.all([first, p1, p2, p3]);
    expect(runs).toEqual(['v3']);
    await q.onIdle();
  });

  it('a push for a running key runs once after it, collapsing further pushes', async () => {
    const q = new KeyedQueue({ concurrency: 4 });
    const gate = deferred();
    const runs: string[] = [];
    const running = q.push('a', async () => {
      runs.push('first-start');
      await gate.promise;
      runs.push('first-end');
    });
    await tick();
    expect(q.inFlight).toBe(1);
    const later1 = q.push('a', async () => void runs.push('second'));
    const later2 = q.push('a', async () => void runs.push('third'));
    expect(later2).toBe(later1);
    expect(later1).not.toBe(running);
    await tick();
    // Not started alongside the running job, although slots are free.
    expect(runs).toEqual(['first-start']);
    expect(q.size).toBe(1);
    gate.resolve();
    await later1;
    expect(runs).toEqual(['first-start', 'first-end', 'third']);
  });

  it('never runs two jobs of one key at once, with concurrency > 1', async () => {
    const q = new KeyedQueue({ concurrency: 5 });
    const active = new Map<string, number>();
    let maxPerKey = 0;
    let runs = 0;
    const job = (key: string) => async () => {
      const n = (active.get(key) ?? 0) + 1;
      active.set(key, n);
      maxPerKey = Math.max(maxPerKey, n);
      runs += 1;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
      active.set(key, (active.get(key) ?? 1) - 1);
    };
    const pushes: Promise<void>[] = [];
    for (let round = 0; round < 30; round++) {
      for (const key of ['a', 'b', 'c']) pushes.push(q.push(key, job(key)));
      if (round % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await Promise.all(pushes);
    await q.onIdle();
    expect(maxPerKey).toBe(1);
    expect(runs).toBeGreaterThanOrEqual(3);
    expect(runs).toBeLessThan(90);
  });

  it('runs at most `concurrency` jobs at once', async () => {
    const q = new KeyedQueue({ concurrency: 3 });
    let active = 0;
    let max = 0;
    const all = Array.from({ length: 20 }, (_, i) =>
      q.push(`k${i}`, async () => {
        active += 1;
        max = Math.max(max, active);
        await new Promise((resolve) => setTimeout(resolve, 3));
        active -= 1;
      }),
    );
    await tick();
    expect(q.inFlight).toBeLessThanOrEqual(3);
    await Promise.all(all);
    expect(max).toBe(3);
    expect(q.size).toBe(0);
    expect(q.inFlight).toBe(0);
  });

  it('a job that throws rejects its own pushers and the queue goes on', async () => {
    const q = new KeyedQueue({ concurrency: 1 });
    const bad = q.push('bad', async () => {
      throw new Error('boom');
    });
    const also = q.push('bad', async () => {
      throw new Error('boom');
    });
    let ran = false;
    const good = q.push('good', async () => void (ran = true));
    await expect(bad).rejects.toThrow('boom');
    await expect(also).rejects.toThrow('boom');
    await good;
    expect(ran).toBe(true);
    await q.push('bad', async () => undefined);
  });

  it('pause and start hold and release new jobs', async () => {
    const q = new KeyedQueue({ concurrency: 2 });
    q.pause();
    let ran = false;
    const p = q.push('a', async () => void (ran = true));
    await tick();
    expect(ran).toBe(false);
    expect(q.size).toBe(1);
    q.start();
    await p;
    expect(ran).toBe(true);
  });

  it('a 429 pause (decided by the gate) holds every new job for the wait, and the longer pause wins', async () => {
    let clock = 0;
    const gate = new RequestGate({ requestsPerMinute: 100, now: () => clock, sleep: async (ms) => void (clock += ms) });
    const q = new KeyedQueue({ concurrency: 2, gate });
    gate.onRetryWait({
      status: 429,
      waitMs: 300,
      fromServer: true,
      attempt: 1,
      requestId: null,
      method: 'GET',
      path: '/v1/files',
    });
    gate.onRetryWait({
      status: 429,
      waitMs: 50,
      fromServer: true,
      attempt: 1,
      requestId: null,
      method: 'GET',
      path: '/v1/files',
    });
    expect(gate.pausedUntil).toBe(300);
    let startedAt = -1;
    await q.push('a', async () => void (startedAt = clock));
    expect(startedAt).toBe(300);
    expect(gate.pausedUntil).toBeNull();
  });

  it('a 429 pause does not override an explicit pause', async () => {
    let clock = 0;
    const gate = new RequestGate({ requestsPerMinute: 100, now: () => clock, sleep: async (ms) => void (clock += ms) });
    const q = new KeyedQueue({ concurrency: 1, gate });
    q.pause();
    gate.onRetryWait({
      status: 429,
      waitMs: 20,
      fromServer: true,
      attempt: 1,
      requestId: null,
      method: 'GET',
      path: '/v1/files',
    });
    clock = 100; // the 429's wait is over; the explicit pause still holds
    let ran = false;
    const p = q.push('a', async () => void (ran = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(ran).toBe(false);
    q.start();
    await p;
    expect(ran).toBe(true);
  });

  it('onInFlightDrained resolves once the running jobs end, while waiting ones stay paused', async () => {
    const q = new KeyedQueue({ concurrency: 2 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const running = q.push('a', () => held);
    await tick();
    q.pause();
    const waiting = q.push('b', async () => undefined);
    let drained = false;
    const d = q.onInFlightDrained().then(() => void (drained = true));
    await tick();
    expect(drained).toBe(false);
    release();
    await running;
    await d;
    expect(drained).toBe(true);
    expect(q.inFlight).toBe(0);
    expect(q.size).toBe(1);
    await expect(q.onInFlightDrained()).resolves.toBeUndefined();
    q.start();
    await waiting;
  });

  it('does not start a job while the request gate is paused by a 429', async () => {
    let clock = 0;
    const sleeps: number[] = [];
    const gate = new RequestGate({
      requestsPerMinute: 100,
      now: () => clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
      },
    });
    const q = new KeyedQueue({ concurrency: 2, gate });
    gate.onRetryWait({
      status: 429,
      waitMs: 4000,
      fromServer: true,
      attempt: 1,
      requestId: null,
      method: 'GET',
      path: '/v1/files',
    });
    let startedAt = -1;
    await q.push('a', async () => void (startedAt = clock));
    expect(startedAt).toBe(4000);
    expect(sleeps).toEqual([4000]);
  });

  it('close drops waiting jobs, lets running ones finish within the grace, and is idempotent', async () => {
    const q = new KeyedQueue({ concurrency: 1 });
    const finish = deferred();
    let finished = false;
    const running = q.push('a', async () => {
      await finish.promise;
      finished = true;
    });
    const waiting = q.push('b', async () => undefined);
    await tick();
    const closing = q.close(5000);
    expect(q.close(1)).toBe(closing);
    await expect(waiting).rejects.toMatchObject({ code: 'E_QUEUE_CLOSED' });
    await expect(q.push('c', async () => undefined)).rejects.toMatchObject({ code: 'E_QUEUE_CLOSED' });
    setTimeout(() => finish.resolve(), 20);
    await closing;
    await running;
    expect(finished).toBe(true);
    await q.onIdle();
  });

  it('close aborts jobs still running after the grace period through their signal', async () => {
    const q = new KeyedQueue({ concurrency: 2 });
    let aborted = false;
    const slow = q.push(
      'slow',
      (signal) =>
        new Promise<void>((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(signal.reason);
          });
        }),
    );
    await tick();
    await q.close(30);
    expect(aborted).toBe(true);
    await expect(slow).rejects.toMatchObject({ code: 'E_ABORTED' });
    expect(q.inFlight).toBe(0);
  });

  it('close does not wait out a long 429 pause: a job held by the gate is aborted after the grace', async () => {
    const gate = new RequestGate({ requestsPerMinute: 100 });
    gate.onRetryWait({
      status: 429,
      waitMs: 600_000,
      fromServer: true,
      attempt: 1,
      requestId: null,
      method: 'POST',
      path: '/v1/files',
    });
    const q = new KeyedQueue({ concurrency: 1, gate });
    let ran = false;
    const held = q.push('a', async () => void (ran = true));
    const rejected = expect(held).rejects.toMatchObject({ code: 'E_ABORTED' });
    await tick();
    expect(q.inFlight).toBe(1);
    const t0 = Date.now();
    await q.close(20);
    await rejected;
    expect(ran).toBe(false);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('onIdle waits for a job queued behind a running one of the same key', async () => {
    const q = new KeyedQueue({ concurrency: 2 });
    const order: string[] = [];
    void q.push('a', async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      order.push('1');
    });
    await tick();
    void q.push('a', async () => void order.push('2'));
    await q.onIdle();
    expect(order).toEqual(['1', '2']);
  });

  it('rejects a bad concurrency with the value it got', () => {
    expect(() => new KeyedQueue({ concurrency: 0 })).toThrow(/concurrency.*0/);
    expect(() => new KeyedQueue({ concurrency: 1.5 })).toThrow(/concurrency/);
  });
});
