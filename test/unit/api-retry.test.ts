import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decideRetry, defaultBackoffMs, isRetryable, retryDelay, type AttemptOutcome } from '../../src/api/retry.js';

const NOW = Date.parse('2026-09-01T12:00:00Z');
const res = (status: number, headers: Record<string, string> = {}): AttemptOutcome => ({
  kind: 'response',
  status,
  headers,
});

describe('isRetryable', () => {
  it('retries 408, 409, 429 and every status >= 500 (529 and 504 too)', () => {
    for (const s of [408, 409, 429, 500, 502, 503, 504, 529, 599]) expect(isRetryable(res(s))).toBe(true);
  });

  it('does not retry 400, 401, 403, 404, 413, 422 or other 4xx', () => {
    for (const s of [400, 401, 402, 403, 404, 413, 422, 451]) expect(isRetryable(res(s))).toBe(false);
  });

  it('x-should-retry: true beats a non-retryable status', () => {
    expect(isRetryable(res(400, { 'x-should-retry': 'true' }))).toBe(true);
    expect(isRetryable(res(401, { 'x-should-retry': 'true' }))).toBe(true);
  });

  it('x-should-retry: false beats a retryable status', () => {
    expect(isRetryable(res(500, { 'x-should-retry': 'false' }))).toBe(false);
    expect(isRetryable(res(429, { 'x-should-retry': 'false' }))).toBe(false);
  });

  it('ignores an x-should-retry value other than true/false', () => {
    expect(isRetryable(res(500, { 'x-should-retry': 'maybe' }))).toBe(true);
    expect(isRetryable(res(400, { 'x-should-retry': 'yes' }))).toBe(false);
  });

  it('retries connection errors and timeouts, never a user abort or a fatal error', () => {
    expect(isRetryable({ kind: 'connection' })).toBe(true);
    expect(isRetryable({ kind: 'timeout' })).toBe(true);
    expect(isRetryable({ kind: 'user-abort' })).toBe(false);
    expect(isRetryable({ kind: 'fatal' })).toBe(false);
  });
});

describe('retryDelay', () => {
  it('uses retry-after-ms as float milliseconds', () => {
    expect(retryDelay({ 'retry-after-ms': '1234.5' }, 0, NOW, 0.5)).toEqual({ waitMs: 1234.5, fromServer: true });
  });

  it('prefers retry-after-ms over retry-after', () => {
    expect(retryDelay({ 'retry-after-ms': '250', 'retry-after': '30' }, 0, NOW, 0)).toEqual({
      waitMs: 250,
      fromServer: true,
    });
  });

  it('falls to retry-after when retry-after-ms is 0 or not a number, as the TS SDK', () => {
    expect(retryDelay({ 'retry-after-ms': '0', 'retry-after': '3' }, 0, NOW, 0).waitMs).toBe(3000);
    expect(retryDelay({ 'retry-after-ms': 'soon', 'retry-after': '2' }, 0, NOW, 0).waitMs).toBe(2000);
  });

  it('a lone retry-after-ms of 0 means retry at once', () => {
    expect(retryDelay({ 'retry-after-ms': '0' }, 0, NOW, 0)).toEqual({ waitMs: 0, fromServer: true });
  });

  it('reads retry-after as float seconds', () => {
    expect(retryDelay({ 'retry-after': '1.5' }, 0, NOW, 0)).toEqual({ waitMs: 1500, fromServer: true });
  });

  it('reads retry-after as an HTTP date relative to now', () => {
    const date = new Date(NOW + 7000).toUTCString();
    expect(retryDelay({ 'retry-after': date }, 0, NOW, 0)).toEqual({ waitMs: 7000, fromServer: true });
  });

  it('a date in the past means no wait', () => {
    const date = new Date(NOW - 60_000).toUTCString();
    expect(retryDelay({ 'retry-after': date }, 0, NOW, 0)).toEqual({ waitMs: 0, fromServer: true });
  });

  it('negative seconds mean no wait', () => {
    expect(retryDelay({ 'retry-after': '-5' }, 0, NOW, 0)).toEqual({ waitMs: 0, fromServer: true });
  });

  it('has no upper bound on a server-given wait (the SDK dropped its 60 s cap)', () => {
    expect(retryDelay({ 'retry-after': '600' }, 0, NOW, 0).waitMs).toBe(600_000);
  });

  it('an unparseable retry-after falls back to the default backoff', () => {
    const d = retryDelay({ 'retry-after': 'whenever' }, 0, NOW, 0);
    expect(d.fromServer).toBe(false);
    expect(d.waitMs).toBe(500);
  });

  it('without headers uses the default backoff', () => {
    expect(retryDelay(undefined, 1, NOW, 0)).toEqual({ waitMs: 1000, fromServer: false });
    expect(retryDelay({}, 2, NOW, 0)).toEqual({ waitMs: 2000, fromServer: false });
  });
});

describe('defaultBackoffMs', () => {
  it('doubles from 0.5 s and caps at 8 s', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map((n) => defaultBackoffMs(n, 0))).toEqual([
      500, 1000, 2000, 4000, 8000, 8000, 8000,
    ]);
  });

  it('jitter takes off at most 25%', () => {
    expect(defaultBackoffMs(0, 0.999999)).toBeCloseTo(375, 1);
    expect(defaultBackoffMs(1, 0.5)).toBe(875);
  });

  it('stays within [0.75, 1] of the base for any random in [0,1) and any n', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (n, r) => {
          const base = Math.min(500 * 2 ** Math.min(n, 1000), 8000);
          const w = defaultBackoffMs(n, r);
          return w >= base * 0.75 - 1e-9 && w <= base;
        },
      ),
    );
  });
});

describe('decideRetry', () => {
  it('gives up once maxRetries retries were taken', () => {
    expect(decideRetry(res(500), 0, 2, NOW, 0).retry).toBe(true);
    expect(decideRetry(res(500), 1, 2, NOW, 0).retry).toBe(true);
    expect(decideRetry(res(500), 2, 2, NOW, 0).retry).toBe(false);
    expect(decideRetry(res(500), 0, 0, NOW, 0).retry).toBe(false);
  });

  it('never retries what the policy refuses, whatever remains', () => {
    expect(decideRetry(res(401), 0, 5, NOW, 0)).toEqual({ retry: false });
    expect(decideRetry({ kind: 'user-abort' }, 0, 5, NOW, 0)).toEqual({ retry: false });
  });

  it('carries the server wait for a 429', () => {
    expect(decideRetry(res(429, { 'retry-after': '2' }), 0, 2, NOW, 0)).toEqual({
      retry: true,
      waitMs: 2000,
      fromServer: true,
    });
  });

  it('uses backoff for connection errors, growing with retries taken', () => {
    expect(decideRetry({ kind: 'connection' }, 0, 3, NOW, 0)).toEqual({ retry: true, waitMs: 500, fromServer: false });
    expect(decideRetry({ kind: 'timeout' }, 2, 3, NOW, 0)).toEqual({ retry: true, waitMs: 2000, fromServer: false });
  });
});
