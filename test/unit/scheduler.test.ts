/**
 * The one scheduler every timer goes through (src/clock/scheduler.ts), the keyed retry timers on
 * it (src/jobs/retry-timers.ts), and the virtual clock the tests drive them with.
 */
import { describe, expect, it } from 'vitest';
import { every } from '../../src/clock/scheduler.js';
import { RetryTimers } from '../../src/jobs/retry-timers.js';
import { VirtualClock } from '../helpers/virtual-clock.js';

describe('the virtual clock', () => {
  it('runs due timers in time order, ties in the order they were set, and the timers they set', async () => {
    const clock = new VirtualClock(0);
    const ran: string[] = [];
    clock.later(300, () => ran.push('c@300'));
    clock.later(100, () => {
      ran.push('a@100');
      clock.later(50, () => ran.push(`nested@${clock.now()}`));
    });
    clock.later(100, () => ran.push('b@100'));
    const cancel = clock.later(200, () => ran.push('cancelled'));
    cancel();
    await clock.advance(299);
    expect(ran).toEqual(['a@100', 'b@100', 'nested@150']);
    expect(clock.now()).toBe(299);
    expect(clock.pending()).toBe(1);
    await clock.runAll();
    expect(ran.at(-1)).toBe('c@300');
    expect(clock.pending()).toBe(0);
  });

  it('lets the promise chain a timer started go on before the next timer runs', async () => {
    const clock = new VirtualClock(0);
    const ran: string[] = [];
    clock.later(10, () => void Promise.resolve().then(() => ran.push('after the first timer')));
    clock.later(20, () => ran.push('second timer'));
    await clock.advance(20);
    expect(ran).toEqual(['after the first timer', 'second timer']);
  });
});

describe('every', () => {
  it('repeats until cancelled', async () => {
    const clock = new VirtualClock(0);
    let ticks = 0;
    const stop = every(clock, 1_000, () => ticks++);
    await clock.advance(3_500);
    expect(ticks).toBe(3);
    stop();
    await clock.advance(10_000);
    expect(ticks).toBe(3);
    expect(clock.pending()).toBe(0);
  });

  it('stops when cancelled from its own run', async () => {
    const clock = new VirtualClock(0);
    let ticks = 0;
    const stop = every(clock, 1_000, () => {
      ticks++;
      if (ticks === 2) stop();
    });
    await clock.advance(10_000);
    expect(ticks).toBe(2);
  });
});

describe('the retry timers', () => {
  it('keep one timer per key (a later call replaces it), count what waits, and run nothing once closed', async () => {
    const clock = new VirtualClock(0);
    let changes = 0;
    const timers = new RetryTimers(() => changes++, clock);
    const ran: string[] = [];
    timers.later('p:a', 1_000, () => ran.push('first'));
    timers.later('p:a', 2_000, () => ran.push('second'));
    timers.later('dir:x', 500, () => ran.push('dir'));
    expect(timers.size).toBe(2);
    expect(timers.has('dir:')).toBe(true);
    await clock.advance(1_500);
    expect(ran).toEqual(['dir']);
    expect(timers.has('dir:')).toBe(false);
    await clock.advance(1_000);
    expect(ran).toEqual(['dir', 'second']);
    expect(changes).toBe(2);
    timers.later('p:b', 100, () => ran.push('after close'));
    timers.close();
    await clock.runAll();
    expect(ran).toEqual(['dir', 'second']);
    expect(clock.pending()).toBe(0);
  });
});
