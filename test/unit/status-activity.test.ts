import { describe, expect, it } from 'vitest';
import { formatDuration, formatStatus } from '../../src/cli/format.js';
import { buildActivity, buildStatus, type ActivityFacts } from '../../src/engine/report.js';

const NOW = Date.parse('2026-11-30T12:00:00Z');

function facts(over: Partial<ActivityFacts> = {}): ActivityFacts {
  return {
    now: NOW,
    lastUploadAt: null,
    oldestPendingRow: undefined,
    oldestDelete: undefined,
    backlog: 0,
    traffic: null,
    ...over,
  };
}

describe('buildActivity', () => {
  it('names the change that has waited longest, file or remote delete, and for how long', () => {
    const a = buildActivity(
      facts({
        lastUploadAt: NOW - 5_000,
        oldestPendingRow: { path: 'a.txt', updatedAt: NOW - 60_000 },
        oldestDelete: { path: 'gone.txt', remoteName: 'gone.txt', queuedAt: NOW - 90_000 },
        backlog: 2,
      }),
    );
    expect(a.lastUploadAt).toBe(new Date(NOW - 5_000).toISOString());
    expect(a.oldestPending).toEqual({
      kind: 'delete',
      path: 'gone.txt',
      since: new Date(NOW - 90_000).toISOString(),
      waitingMs: 90_000,
    });
    expect(a.requestsLastMinute).toBeNull();
    expect(a.rateLimited).toBeNull();
  });

  it('is not rate limited while running below the configured rate with no pause', () => {
    const a = buildActivity(
      facts({
        backlog: 10,
        traffic: { requestsLastMinute: 12, configuredRpm: 400, effectiveRpm: 400, pausedUntil: null },
      }),
    );
    expect(a.requestsLastMinute).toBe(12);
    expect(a.rateLimited).toBeNull();
  });

  it('during a 429 pause, gives the current rate and when the backlog will be done (pause plus backlog at that rate)', () => {
    const a = buildActivity(
      facts({
        backlog: 140,
        traffic: { requestsLastMinute: 30, configuredRpm: 100, effectiveRpm: 70, pausedUntil: NOW + 30_000 },
      }),
    );
    expect(a.rateLimited).toEqual({
      currentRpm: 70,
      configuredRpm: 100,
      pausedUntil: new Date(NOW + 30_000).toISOString(),
      etaMs: 30_000 + 120_000,
      doneBy: new Date(NOW + 150_000).toISOString(),
    });
  });

  it('counts running at the configured rate with work waiting as rate limited too', () => {
    const a = buildActivity(
      facts({
        backlog: 800,
        traffic: { requestsLastMinute: 400, configuredRpm: 400, effectiveRpm: 400, pausedUntil: null },
      }),
    );
    expect(a.rateLimited).toMatchObject({ currentRpm: 400, etaMs: 120_000, pausedUntil: null });
  });

  it('shows the rate the last minute carried when the pacer, cut for a low key budget, shows less (120/min went through at an instantaneous 13.8)', () => {
    const a = buildActivity(
      facts({
        backlog: 240,
        traffic: { requestsLastMinute: 120, configuredRpm: 400, effectiveRpm: 13.8, pausedUntil: null },
      }),
    );
    expect(a.rateLimited).toMatchObject({ currentRpm: 120, etaMs: 120_000 });
  });
});

describe('formatStatus for people', () => {
  it('shows the last upload, what waits, the rate, and the estimate when rate limited', () => {
    const status = buildStatus({
      running: true,
      pid: 42,
      dir: '/d',
      stateDir: '/s',
      target: { kind: 'api', baseURL: 'https://api.anthropic.com', shape: 'ga', note: null },
      counts: { pending: 140, synced: 3, failed: 0, skipped: 0 },
      lastReconcile: null,
      heldDeletes: null,
      lastErrors: [],
      skippedRows: [],
      unreadableDirs: [],
      activity: buildActivity(
        facts({
          lastUploadAt: NOW - 5_000,
          oldestPendingRow: { path: 'big/report.pdf', updatedAt: NOW - 3_600_000 - 300_000 },
          backlog: 140,
          traffic: { requestsLastMinute: 30, configuredRpm: 100, effectiveRpm: 70, pausedUntil: NOW + 30_000 },
        }),
      ),
    });
    const text = formatStatus(status);
    expect(text).toContain(`last upload: ${new Date(NOW - 5_000).toISOString()}`);
    expect(text).toContain(
      `waiting:  140 to do; oldest: big/report.pdf, since ${new Date(NOW - 3_900_000).toISOString()} (1 h 5 min)`,
    );
    expect(text).toContain('rate:     30 requests in the last minute');
    expect(text).toContain(
      `rate limited: 70 of 100 requests per minute, paused until ${new Date(NOW + 30_000).toISOString()}; backlog done in about 3 min (by ${new Date(NOW + 150_000).toISOString()})`,
    );
  });

  it('without a daemon, shows no rate and says when nothing was uploaded yet', () => {
    const text = formatStatus(
      buildStatus({
        running: false,
        pid: null,
        dir: '/d',
        stateDir: '/s',
        target: { kind: 'api', baseURL: 'https://api.anthropic.com', shape: 'ga', note: null },
        counts: { pending: 0, synced: 0, failed: 0, skipped: 0 },
        lastReconcile: null,
        heldDeletes: null,
        lastErrors: [],
        skippedRows: [],
        unreadableDirs: [],
        activity: buildActivity(facts()),
      }),
    );
    expect(text).toContain('last upload: none yet');
    expect(text).not.toContain('rate:');
    expect(text).not.toContain('waiting:');
  });

  it('formats durations as a person reads them', () => {
    expect(formatDuration(45_000)).toBe('45 s');
    expect(formatDuration(12 * 60_000)).toBe('12 min');
    expect(formatDuration(26 * 3_600_000)).toBe('1 d 2 h');
  });
});
