import { describe, expect, test } from 'vitest';
import { defaultFilename, filenameProblem, resolveMimeType } from '../../src/emulator/store/metadata-rules.js';

describe('filenameProblem', () => {
  test.each([
    'a.txt',
    'x'.repeat(255),
    'résumé 日本.pdf',
    'with space and (parens) [brackets] #hash %.md',
    '😀'.repeat(255),
  ])('accepts %s', (name) => {
    expect(filenameProblem(name)).toBeNull();
  });

  test.each([
    ['', /1-255/],
    ['x'.repeat(256), /got 256/],
    ['a/b.txt', /found "\/"/],
    ['a\\b.txt', /found "\\\\"/],
    ...['<', '>', ':', '"', '|', '?', '*'].map((ch) => [`a${ch}b`, /must not contain any of/] as [string, RegExp]),
    ['tab\there', /U\+0009/],
    ['nul\u0000', /U\+0000/],
    ['esc\u001f', /U\+001F/],
  ])('refuses %j', (name, why) => {
    expect(filenameProblem(name)).toMatch(why);
  });

  test('allows DEL (127), which is not among code points 0-31', () => {
    expect(filenameProblem('a\u007fb')).toBeNull();
  });
});

describe('resolveMimeType', () => {
  test('keeps an explicit type', () => {
    expect(resolveMimeType('text/markdown; charset=utf-8', 'a.bin')).toBe('text/markdown; charset=utf-8');
  });
  test('detects from the extension when the type is missing or the generic default', () => {
    expect(resolveMimeType(null, 'a.pdf')).toBe('application/pdf');
    expect(resolveMimeType('application/octet-stream', 'a.png')).toBe('image/png');
    expect(resolveMimeType(undefined, 'noext')).toBe('application/octet-stream');
  });
});

describe('defaultFilename', () => {
  test('is unnamed plus the extension of a known type', () => {
    expect(defaultFilename('application/pdf')).toBe('unnamed.pdf');
    expect(defaultFilename('text/plain')).toBe('unnamed.txt');
    expect(defaultFilename('x-unknown/thing')).toBe('unnamed');
  });
});
