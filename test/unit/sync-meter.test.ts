import { describe, expect, it } from 'vitest';
import { operationOf, statusLabel, SyncMeter } from '../../src/daemon/sync-meter.js';

describe('operationOf', () => {
  it('names each Files API operation from the method and path', () => {
    expect(operationOf('POST', '/v1/files')).toBe('upload');
    expect(operationOf('GET', '/v1/files?limit=1000&page=abc')).toBe('list');
    expect(operationOf('GET', '/v1/files/file_01')).toBe('retrieve');
    expect(operationOf('DELETE', '/v1/files/file_01')).toBe('delete');
    expect(operationOf('GET', '/v1/files/file_01/content')).toBe('download');
    expect(operationOf('GET', '/v1/models')).toBe('other');
    expect(operationOf('PUT', '/v1/files/file_01')).toBe('other');
  });

  it('labels an attempt by its HTTP status, or by why none came', () => {
    expect(statusLabel({ status: 429, outcome: 'response' })).toBe('429');
    expect(statusLabel({ status: null, outcome: 'timeout' })).toBe('timeout');
  });
});

describe('SyncMeter', () => {
  it('counts requests by operation and status, and 429s apart', () => {
    const m = new SyncMeter();
    m.attempt({ method: 'POST', path: '/v1/files', status: 200, outcome: 'ok' });
    m.attempt({ method: 'POST', path: '/v1/files', status: 429, outcome: 'response' });
    m.attempt({ method: 'POST', path: '/v1/files', status: 200, outcome: 'ok' });
    m.attempt({ method: 'GET', path: '/v1/files', status: null, outcome: 'connection' });
    const s = m.snapshot();
    expect(s.requests).toEqual([
      { operation: 'upload', status: '200', count: 2 },
      { operation: 'upload', status: '429', count: 1 },
      { operation: 'list', status: 'connection', count: 1 },
    ]);
    expect(s.rateLimitedResponses).toBe(1);
  });

  it('counts a 429 pause once and the time it added, however many 429s overlap it', () => {
    const m = new SyncMeter();
    m.paused(null, 11_000, 1_000); // a pause begins: 10 s
    m.paused(11_000, 11_000, 2_000); // another 429 inside it, same deadline
    m.paused(11_000, 14_000, 3_000); // a later deadline: 3 s more
    m.paused(null, null, 20_000); // no pause in force (not a 429 the gate acted on)
    expect(m.snapshot()).toMatchObject({ rateLimitPauses: 1, pausedMs: 13_000 });
    m.paused(null, 25_000, 20_000);
    expect(m.snapshot()).toMatchObject({ rateLimitPauses: 2, pausedMs: 18_000 });
  });

  it('reports the requests started in the last minute only', () => {
    const m = new SyncMeter();
    for (const t of [0, 10_000, 30_000, 59_000]) m.requestStarted(t);
    expect(m.requestsLastMinute(59_000)).toBe(4);
    expect(m.requestsLastMinute(60_000)).toBe(3);
    expect(m.requestsLastMinute(90_000)).toBe(1);
    expect(m.requestsLastMinute(200_000)).toBe(0);
  });

  it('keeps uploads, bytes, deletes and reconciles, with the last reconcile', () => {
    const m = new SyncMeter();
    m.uploaded(100);
    m.uploaded(50);
    m.deleted();
    m.reconciled({ at: 1_000, durationMs: 20, ok: true });
    m.reconciled({ at: 5_000, durationMs: 7, ok: false });
    expect(m.snapshot()).toMatchObject({
      uploads: 2,
      bytesUploaded: 150,
      deletes: 1,
      reconciles: { ok: 1, failed: 1 },
      lastReconcile: { at: 5_000, durationMs: 7, ok: false },
    });
  });
});
