import { describe, expect, it } from 'vitest';
import { INTENT_CLOCK_SKEW_MS, mayBeStoredBy } from '../../src/files-api/limits.js';
import { isInside, isUnder, isUnderAny, relativeInside } from '../../src/scan/inside.js';
import { relativeTo } from '../../src/watch/backend.js';

describe('inside the root (src/scan/inside.ts)', () => {
  it('the root itself is inside it, but has no relative path inside it', () => {
    expect(isInside('/w/docs', '/w/docs')).toBe(true);
    expect(relativeInside('/w/docs', '/w/docs')).toBeNull();
  });

  it('a path below the root is inside; a sibling with the same prefix is not', () => {
    expect(isInside('/w/docs', '/w/docs/a/b')).toBe(true);
    expect(isInside('/w/docs', '/w/docs2/a')).toBe(false);
    expect(isInside('/w/docs', '/w')).toBe(false);
    expect(isInside('/', '/anything')).toBe(true);
  });

  it('a name that starts with two dots is inside (it is not the parent)', () => {
    expect(relativeInside('/w/docs', '/w/docs/..foo')).toBe('..foo');
    expect(isInside('/w/docs', '/w/docs/..foo')).toBe(true);
  });
});

describe('under a folder (src/scan/inside.ts)', () => {
  it('a path is under itself, its ancestors and the root, not under a sibling with the same prefix', () => {
    expect(isUnder('a/b', 'a/b')).toBe(true);
    expect(isUnder('a/b/c', 'a')).toBe(true);
    expect(isUnder('a/b', '')).toBe(true);
    expect(isUnder('ab/c', 'a')).toBe(false);
    expect(isUnder('a', 'a/b')).toBe(false);
  });

  it('isUnderAny asks every folder', () => {
    expect(isUnderAny('x/y', ['a', 'x'])).toBe(true);
    expect(isUnderAny('x/y', ['a', 'xy'])).toBe(false);
    expect(isUnderAny('x/y', [])).toBe(false);
  });
});

describe('what an unanswered upload may have stored (mayBeStoredBy)', () => {
  it('a copy created up to the clock skew before the upload began may be its copy; an older one not', () => {
    const started = 1_000_000_000;
    expect(mayBeStoredBy(started, started)).toBe(true);
    expect(mayBeStoredBy(started - INTENT_CLOCK_SKEW_MS, started)).toBe(true);
    expect(mayBeStoredBy(started - INTENT_CLOCK_SKEW_MS - 1, started)).toBe(false);
    expect(mayBeStoredBy(started - 10, started, 5)).toBe(false);
  });
});

describe("the watcher's path of an event (relativeTo, over relativeInside)", () => {
  it("'' for the root, '/'-separated inside it (a relative path taken from the root), null outside", () => {
    expect(relativeTo('/w/docs', '/w/docs')).toBe('');
    expect(relativeTo('/w/docs', '/w/docs/a/b.txt')).toBe('a/b.txt');
    expect(relativeTo('/w/docs', 'a/b.txt')).toBe('a/b.txt');
    expect(relativeTo('/w/docs', '/w/docs2/a')).toBeNull();
    expect(relativeTo('/w/docs', '../x')).toBeNull();
  });
});
