import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProgressTimer } from '../../src/api/progress-timer.js';

describe('ProgressTimer (the per-attempt timeout)', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('fires after the timeout when nothing moves', () => {
    let fired = 0;
    const t = new ProgressTimer(1000, () => fired++);
    vi.advanceTimersByTime(999);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(1);
    expect(fired).toBe(1);
    expect(t.fired).toBe(true);
  });

  it('progress keeps a long transfer alive', () => {
    let fired = 0;
    const t = new ProgressTimer(1000, () => fired++);
    for (let i = 0; i < 50; i++) {
      vi.advanceTimersByTime(900);
      t.touch();
    }
    expect(fired).toBe(0);
    vi.advanceTimersByTime(1000);
    expect(fired).toBe(1);
  });

  it('clear() stops it and touch after firing does not re-arm', () => {
    let fired = 0;
    const a = new ProgressTimer(100, () => fired++);
    a.clear();
    vi.advanceTimersByTime(500);
    expect(fired).toBe(0);
    const b = new ProgressTimer(100, () => fired++);
    vi.advanceTimersByTime(100);
    b.touch();
    vi.advanceTimersByTime(500);
    expect(fired).toBe(1);
  });
});
