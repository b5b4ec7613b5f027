import { describe, expect, it } from 'vitest';
import type { ScanResult } from '../../src/scan/scanner.js';
import { LocalRescan, RESCAN_TIME_SHARE } from '../../src/engine/local-rescan.js';
import { rescannedPaths } from '../../src/plan/rescanned-paths.js';

/** Fake timers for LocalRescan: `later` records, `fire` runs what is due. */
function harness(runMs: number) {
  let now = 0;
  const timers = new Map<string, { at: number; run: () => void }>();
  let runs = 0;
  const tracked: Promise<void>[] = [];
  const rescan = new LocalRescan({
    run: async () => {
      runs++;
      now += runMs;
    },
    later: (key, ms, run) => void timers.set(key, { at: now + ms, run }),
    track: (w) => void tracked.push(w),
    now: () => now,
    settleMs: 100,
  });
  return {
    rescan,
    runs: () => runs,
    pendingAt: () => timers.get('rescan')?.at ?? null,
    async fire() {
      const t = timers.get('rescan');
      if (!t) return;
      timers.delete('rescan');
      now = Math.max(now, t.at);
      t.run();
      await Promise.all(tracked.splice(0));
    },
    setNow: (t: number) => void (now = t),
  };
}

describe('LocalRescan', () => {
  it('runs once after the settle time however many requests come meanwhile', async () => {
    const h = harness(10);
    h.rescan.request();
    h.rescan.request();
    h.rescan.request();
    expect(h.pendingAt()).toBe(100);
    await h.fire();
    expect(h.runs()).toBe(1);
    expect(h.pendingAt()).toBeNull();
  });

  it('after a rescan that took t, the next waits at least t / share: rescans take at most that share of the time', async () => {
    const h = harness(1_500);
    h.rescan.request();
    await h.fire();
    const ended = 100 + 1_500;
    h.rescan.request();
    expect(h.pendingAt()).toBe(ended + 1_500 / RESCAN_TIME_SHARE);
    await h.fire();
    expect(h.runs()).toBe(2);
  });
});

const scan = (over: Partial<ScanResult>): ScanResult => ({
  files: [],
  unchanged: new Map(),
  skipped: [],
  errors: [],
  unreadableDirs: [],
  dirErrors: [],
  rootMissing: false,
  stats: { filesSeen: 0, hashed: 0, bytesRead: 0, unchanged: 0 },
  ...over,
});

describe('rescannedPaths', () => {
  it('hands over the changed paths and the indexed ones not found, never those under a folder it could not list', () => {
    const row = { size: 1, mtimeMs: 1, ino: 1, sha256: 'a', hashedAt: null, ctimeMs: 1 };
    const s = scan({
      files: [{ path: 'changed.txt', size: 2, mtimeMs: 2, ino: 2, ctimeMs: 2, sha256: 'b' }],
      unchanged: new Map([['same.txt', row]]),
      skipped: [{ path: 'big.bin', size: 9, mtimeMs: 1, ino: 3, reason: 'too large', kind: 'file' }],
      unreadableDirs: ['locked'],
    });
    const out = rescannedPaths(
      s,
      ['changed.txt'],
      ['changed.txt', 'same.txt', 'big.bin', 'gone.txt', 'locked/x.txt', 'lockedness.txt'],
    );
    expect(out).toEqual(['changed.txt', 'gone.txt', 'lockedness.txt']);
  });

  it('says nothing when the folder itself is missing or cannot be listed', () => {
    expect(rescannedPaths(scan({ rootMissing: true }), [], ['a'])).toBeNull();
    expect(rescannedPaths(scan({ unreadableDirs: [''] }), [], ['a'])).toBeNull();
  });
});
