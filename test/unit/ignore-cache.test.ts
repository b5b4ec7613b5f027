import { describe, expect, it } from 'vitest';
import { createIgnoreMatcher, IGNORE_CACHE_LIMIT } from '../../src/scan/ignore.js';

describe('ignore matcher cache bound', () => {
  it('answers the same before and after its cache is rebuilt', () => {
    const matcher = createIgnoreMatcher({ ignore: ['build/', '*.bak', '!keep.bak'], include: [] });
    const probe = () => [
      matcher.check('build', true),
      matcher.check('src/build', true),
      matcher.check('a/x.bak', false),
      matcher.check('a/keep.bak', false),
      matcher.check('a/x.tmp', false),
      matcher.check('a/x.txt', false),
    ];
    const before = probe();
    expect(before).toEqual([
      'ignored by pattern "build/"',
      'ignored by pattern "build/"',
      'ignored by pattern "*.bak"',
      null,
      'ignored by default pattern "*.tmp"',
      null,
    ]);
    for (let i = 0; i < IGNORE_CACHE_LIMIT * 2 + 7; i++) matcher.check(`d${i % 50}/f${i}.txt`, false);
    expect(probe()).toEqual(before);
  });
});
