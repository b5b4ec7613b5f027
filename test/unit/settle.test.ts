import { describe, expect, it } from 'vitest';
import { SettleTracker } from '../../src/watch/settle.js';

describe('SettleTracker', () => {
  it('a path is due only after settleMs of quiet', () => {
    const t = new SettleTracker(1000);
    t.touch('a.txt', 0);
    expect(t.nextDueAt()).toBe(1000);
    expect(t.due(999)).toEqual([]);
    expect(t.has('a.txt')).toBe(true);
    expect(t.due(1000)).toEqual(['a.txt']);
    expect(t.has('a.txt')).toBe(false);
    expect(t.size).toBe(0);
    expect(t.nextDueAt()).toBeNull();
  });

  it('every touch pushes the deadline, and the path is reported once', () => {
    const t = new SettleTracker(1000);
    for (let now = 0; now <= 5000; now += 500) t.touch('big.bin', now);
    expect(t.due(5999)).toEqual([]);
    expect(t.nextDueAt()).toBe(6000);
    expect(t.due(10_000)).toEqual(['big.bin']);
    expect(t.due(20_000)).toEqual([]);
  });

  it('reports due paths in deadline order and leaves the others waiting', () => {
    const t = new SettleTracker(100);
    t.touch('c', 30);
    t.touch('a', 10);
    t.touch('b', 20);
    t.touch('a', 50);
    expect(t.due(130)).toEqual(['b', 'c']);
    expect(t.size).toBe(1);
    expect(t.nextDueAt()).toBe(150);
    expect(t.due(150)).toEqual(['a']);
  });

  it('forget drops a path so it is never reported', () => {
    const t = new SettleTracker(100);
    t.touch('a', 0);
    t.touch('b', 0);
    t.forget('a');
    expect(t.has('a')).toBe(false);
    expect(t.due(1000)).toEqual(['b']);
  });

  it('a path touched again after it was due is reported again', () => {
    const t = new SettleTracker(100);
    t.touch('a', 0);
    expect(t.due(100)).toEqual(['a']);
    t.touch('a', 150);
    expect(t.due(200)).toEqual([]);
    expect(t.due(250)).toEqual(['a']);
  });

  it('settleMs 0 makes a touch due at once', () => {
    const t = new SettleTracker(0);
    t.touch('a', 5);
    expect(t.due(5)).toEqual(['a']);
  });

  it('rejects a bad settleMs with the value it got', () => {
    expect(() => new SettleTracker(-1)).toThrow(/settleMs.*-1/);
    expect(() => new SettleTracker(Number.NaN)).toThrow(/settleMs/);
  });

  it('stays correct and compact under many re-touches of few paths', () => {
    const t = new SettleTracker(10);
    for (let i = 0; i < 200_000; i++) t.touch(`p${i % 3}`, i);
    expect(t.size).toBe(3);
    // Last touches: p2 at 199997, p0 at 199998, p1 at 199999.
    expect(t.due(200_006)).toEqual([]);
    expect(t.due(200_008)).toEqual(['p2', 'p0']);
    expect(t.nextDueAt()).toBe(200_009);
    expect(t.due(200_100)).toEqual(['p1']);
  });

  it('handles 100k distinct paths quickly', () => {
    const t = new SettleTracker(1000);
    const start = performance.now();
    for (let i = 0; i < 100_000; i++) t.touch(`dir${i % 100}/file${i}.txt`, i);
    for (let i = 0; i < 100_000; i += 2) t.touch(`dir${i % 100}/file${i}.txt`, 100_000 + i);
    const firstHalf = t.due(100_999);
    expect(firstHalf).toHaveLength(50_000);
    expect(firstHalf.every((p) => /file\d*[13579]\.txt$/.test(p))).toBe(true);
    expect(t.due(1_000_000)).toHaveLength(50_000);
    // Generous: this is O(n log n) work that takes well under a second; a quadratic one would not.
    expect(performance.now() - start).toBeLessThan(10_000);
  });

  it('due paths come out in the order of their deadlines (random check against a model)', () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const t = new SettleTracker(50);
    const model = new Map<string, number>();
    let now = 0;
    for (let step = 0; step < 5000; step++) {
      now += Math.floor(rand() * 20);
      const r = rand();
      const p = `f${Math.floor(rand() * 40)}`;
      if (r < 0.7) {
        t.touch(p, now);
        model.set(p, now + 50);
      } else if (r < 0.8) {
        t.forget(p);
        model.delete(p);
      } else {
        const expected = [...model]
          .filter(([, d]) => d <= now)
          .sort((a, b) => a[1] - b[1])
          .map(([k]) => k);
        const got = t.due(now);
        expect(new Set(got)).toEqual(new Set(expected));
        for (const k of expected) model.delete(k);
        const nextModel = model.size === 0 ? null : Math.min(...model.values());
        expect(t.nextDueAt()).toBe(nextModel);
      }
      expect(t.size).toBe(model.size);
    }
  });
});
