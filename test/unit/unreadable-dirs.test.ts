/**
 * Unreadable folders, pure (src/plan/unreadable-dirs.ts): what the index keeps of them and when
 * the engine looks at one again, driven with an injected `now`.
 */
import { describe, expect, it } from 'vitest';
import { dirDueForRecheck, formatUnreadableDirs, parseUnreadableDirs } from '../../src/plan/unreadable-dirs.js';
import { unreadableDirEntry } from '../../src/engine/report.js';

describe('unreadable folders', () => {
  it('round-trip through the index meta, sorted; a damaged value lists nothing', () => {
    const raw = formatUnreadableDirs([
      { path: 'z', reason: 'EIO' },
      { path: 'a/b', reason: 'EACCES: permission denied' },
    ]);
    expect(parseUnreadableDirs(raw)).toEqual([
      { path: 'a/b', reason: 'EACCES: permission denied' },
      { path: 'z', reason: 'EIO' },
    ]);
    expect(parseUnreadableDirs('{oops')).toEqual([]);
    expect(parseUnreadableDirs(JSON.stringify([{ path: 1 }]))).toEqual([]);
    expect(parseUnreadableDirs(undefined)).toEqual([]);
  });

  it('are looked at again on the failed-file backoff: 5 s after the first miss, 10 s after the second', () => {
    expect(dirDueForRecheck({ checkedAt: 1_000, attempts: 1 }, 5_999)).toBe(false);
    expect(dirDueForRecheck({ checkedAt: 1_000, attempts: 1 }, 6_000)).toBe(true);
    expect(dirDueForRecheck({ checkedAt: 1_000, attempts: 2 }, 6_000)).toBe(false);
    expect(dirDueForRecheck({ checkedAt: 1_000, attempts: 2 }, 11_000)).toBe(true);
  });

  it('show in ls as a skipped folder with its reason', () => {
    expect(unreadableDirEntry({ path: 'locked', reason: 'EACCES: permission denied' })).toMatchObject({
      path: 'locked/',
      state: 'skipped',
      error: 'unreadable folder: EACCES: permission denied',
    });
  });
});
