import { describe, expect, test } from 'vitest';
import { SlidingWindow, TokenBucket, createRateLimiter } from '../../src/emulator/faults/server-limiter.js';

describe('TokenBucket', () => {
  test('remaining and fullAt follow the continuous refill', () => {
    const bucket = new TokenBucket(60, 0);
    for (let i = 0; i < 30; i++) bucket.take(0);
    expect(bucket.remaining(0)).toBe(30);
    expect(bucket.fullAt(0)).toBe(30_000);
    expect(bucket.remaining(10_000)).toBe(40);
  });
});

describe('SlidingWindow', () => {
  test('accepts at most the limit in any 60 s and tells when the oldest leaves the window', () => {
    const window = new SlidingWindow(3);
    expect(window.take(0)).toEqual({ ok: true, remaining: 2 });
    expect(window.take(20_000)).toEqual({ ok: true, remaining: 1 });
    expect(window.take(40_000)).toEqual({ ok: true, remaining: 0 });
    expect(window.take(59_600)).toEqual({ ok: false, waitMs: 400 });
    // Refused requests do not count: the first slot frees at exactly 60 s.
    expect(window.take(60_000)).toEqual({ ok: true, remaining: 0 });
    expect(window.take(60_001)).toEqual({ ok: false, waitMs: 19_999 });
    expect(window.fullAt(60_001)).toBe(120_000);
    expect(window.remaining(120_000)).toBe(3);
    expect(window.fullAt(120_000)).toBe(120_000);
  });

  test('does not refill continuously: a burst at the edge waits for the whole window', () => {
    const window = new SlidingWindow(60);
    const bucket = new TokenBucket(60, 0);
    for (let i = 0; i < 60; i++) {
      window.take(0);
      bucket.take(0);
    }
    // After 30 s the bucket has 30 tokens back; the window has none until 60 s.
    expect(bucket.take(30_000).ok).toBe(true);
    expect(window.take(30_000)).toEqual({ ok: false, waitMs: 30_000 });
  });

  test('keeps working over a long run (its timestamps are compacted)', () => {
    const window = new SlidingWindow(100);
    let accepted = 0;
    for (let t = 0; t < 600_000; t += 100) if (window.take(t).ok) accepted++;
    // 10 minutes at 100/min.
    expect(accepted).toBe(1000);
  });
});

test('createRateLimiter picks the mode', () => {
  expect(createRateLimiter('token-bucket', 5, 0)).toBeInstanceOf(TokenBucket);
  expect(createRateLimiter('sliding-window', 5, 0)).toBeInstanceOf(SlidingWindow);
});
