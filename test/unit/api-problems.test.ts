import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ApiProblems } from '../../src/jobs/api-problems.js';

const make = (waitsForKey: boolean, keyRetryMs = 30) => {
  const calls = { retry: 0, pause: 0 };
  const logs: { event?: string }[] = [];
  const problems = new ApiProblems({
    logger: pino({ level: 'info' }, { write: (l: string) => void logs.push(JSON.parse(l) as { event?: string }) }),
    now: () => Date.parse('2026-11-30T12:00:00Z'),
    retry: () => void (calls.retry += 1),
    pause: () => void (calls.pause += 1),
    waitsForKey,
    keyRetryMs,
  });
  return { problems, calls, logs };
};

describe('API problems the user must fix', () => {
  it('a refused key pauses requests, is logged once, and is tried again slowly until accepted', async () => {
    const { problems, calls, logs } = make(true);
    expect(problems.holdForKey({ code: 'E_API_AUTH' }, 'invalid x-api-key')).toBe(true);
    expect(problems.holdForKey({ code: 'E_API_AUTH' }, 'invalid x-api-key')).toBe(true);
    expect(calls.pause).toBe(2);
    expect(logs.filter((l) => l.event === 'key-refused')).toHaveLength(1);
    expect(problems.current()).toMatchObject({
      kind: 'key-refused',
      since: '2026-11-30T12:00:00.000Z',
      retryAt: '2026-11-30T12:00:00.030Z',
    });
    await new Promise((r) => setTimeout(r, 80));
    expect(calls.retry).toBe(1); // one timer, replaced by the second refusal, not two
    problems.keyAccepted();
    expect(problems.current()).toBeNull();
    await new Promise((r) => setTimeout(r, 80));
    expect(calls.retry).toBe(1);
    problems.close();
  });

  it('a one-shot run does not wait: other errors and a run without a watcher are not held', () => {
    expect(make(false).problems.holdForKey({ code: 'E_API_AUTH' }, 'x')).toBe(false);
    const { problems } = make(true);
    expect(problems.holdForKey({ code: 'E_API_SERVER' }, 'x')).toBe(false);
    expect(problems.current()).toBeNull();
  });

  it('a full storage shows until an upload succeeds; other upload errors do not', () => {
    const { problems } = make(true);
    problems.uploadFailed('invalid_request_error', 'bad');
    expect(problems.current()).toBeNull();
    problems.uploadFailed('storage_quota_exceeded', 'Storage quota exceeded');
    expect(problems.current()).toMatchObject({ kind: 'storage-full', retryAt: null });
    problems.uploaded();
    expect(problems.current()).toBeNull();
  });
});
