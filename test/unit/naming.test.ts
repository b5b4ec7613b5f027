import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  contentTagOf,
  isManagedName,
  MAX_REMOTE_NAME_BYTES,
  remoteNameFor,
  validateRemoteName,
} from '../../src/sync/naming.js';

const SHA = '3fa9c01b2e' + 'ab'.repeat(27);
const pathTag = (p: string): string => createHash('sha256').update(p, 'utf8').digest('hex').slice(0, 8);

describe('remoteNameFor', () => {
  it('joins segments with __ and puts the content tag before the extension', () => {
    expect(remoteNameFor('reports/2026/q3.pdf', SHA)).toBe('reports__2026__q3~3fa9c01b2e.pdf');
  });

  it('keeps a file without extension whole', () => {
    expect(remoteNameFor('notes/README', SHA)).toBe('notes__README~3fa9c01b2e');
  });

  it('does not treat a leading dot as an extension', () => {
    expect(remoteNameFor('.bashrc', SHA)).toBe('.bashrc~3fa9c01b2e');
    expect(remoteNameFor('dir/.env', SHA)).toBe('dir__.env~3fa9c01b2e');
  });

  it('takes only the last extension, and only 1-10 alphanumerics', () => {
    expect(remoteNameFor('a.tar.gz', SHA)).toBe('a.tar~3fa9c01b2e.gz');
    expect(remoteNameFor('a.verylongextension', SHA)).toBe('a.verylongextension~3fa9c01b2e');
    expect(remoteNameFor('a.b-c', SHA)).toBe('a.b-c~3fa9c01b2e');
    expect(remoteNameFor('a.', SHA)).toBe('a.~3fa9c01b2e');
  });

  it('keeps spaces, case and unicode as they are', () => {
    expect(remoteNameFor('Mes Documents/Été 2026.DOCX', SHA)).toBe('Mes Documents__Été 2026~3fa9c01b2e.DOCX');
  });

  it('replaces forbidden characters and adds a path tag', () => {
    const p = 'a:b/c?d.txt';
    expect(remoteNameFor(p, SHA)).toBe(`a_b__c_d~p${pathTag(p)}~3fa9c01b2e.txt`);
    const ctl = 'x\u0001y\u007f.md';
    expect(remoteNameFor(ctl, SHA)).toBe(`x_y_~p${pathTag(ctl)}~3fa9c01b2e.md`);
  });

  it('adds a path tag when __ in a name would make the flattening ambiguous', () => {
    expect(remoteNameFor('a__b/c.txt', SHA)).toBe(`a__b__c~p${pathTag('a__b/c.txt')}~3fa9c01b2e.txt`);
    expect(remoteNameFor('a/b/c.txt', SHA)).toBe('a__b__c~3fa9c01b2e.txt');
    expect(remoteNameFor('a_/_b', SHA)).toContain('~p');
  });

  it('adds a path tag when the stem already ends like one', () => {
    const p = 'x~p0123abcd.txt';
    expect(remoteNameFor(p, SHA)).toBe(`x~p0123abcd~p${pathTag(p)}~3fa9c01b2e.txt`);
  });

  it('shortens long paths on a code point boundary to 255 bytes, keeping the extension', () => {
    const p = `${'dossier/'.repeat(20)}${'😀é'.repeat(60)}.jpeg`;
    const name = remoteNameFor(p, SHA);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_REMOTE_NAME_BYTES);
    expect(Buffer.byteLength(name)).toBeGreaterThan(MAX_REMOTE_NAME_BYTES - 4);
    expect(name.endsWith(`~p${pathTag(p)}~3fa9c01b2e.jpeg`)).toBe(true);
    expect(name.startsWith('dossier__dossier__')).toBe(true);
    expect(name).not.toMatch(/[\ud800-\udfff](?![\udc00-\udfff])/u);
    expect(validateRemoteName(name)).toBeNull();
  });

  it('never returns an empty name', () => {
    expect(remoteNameFor('', SHA)).toBe('~3fa9c01b2e');
  });
});

describe('contentTagOf and isManagedName', () => {
  it('read the content tag back from plain and tagged names', () => {
    expect(contentTagOf('reports__2026__q3~3fa9c01b2e.pdf')).toBe('3fa9c01b2e');
    expect(contentTagOf('x~p01234567~3fa9c01b2e')).toBe('3fa9c01b2e');
    expect(isManagedName('reports__q3~3fa9c01b2e.pdf')).toBe(true);
  });

  it('reject names that are not ours', () => {
    expect(contentTagOf('report.pdf')).toBeNull();
    expect(isManagedName('report~3FA9C01B2E.pdf')).toBe(false);
    expect(isManagedName('report~3fa9c01b.pdf')).toBe(false);
    expect(isManagedName('unnamed')).toBe(false);
  });
});

describe('validateRemoteName', () => {
  it('accepts ordinary names', () => {
    expect(validateRemoteName('a b~c.pdf')).toBeNull();
    expect(validateRemoteName('😀')).toBeNull();
  });
  it('gives a reason for each refused name', () => {
    expect(validateRemoteName('')).toMatch(/empty/);
    expect(validateRemoteName('x'.repeat(256))).toMatch(/256 bytes/);
    expect(validateRemoteName('é'.repeat(128))).toMatch(/256 bytes/);
    expect(validateRemoteName('a/b')).toMatch(/"\/"/);
    expect(validateRemoteName('a\\b')).toMatch(/forbidden/);
    expect(validateRemoteName('a\tb')).toMatch(/U\+0009/);
    expect(validateRemoteName('a\u007f')).toMatch(/U\+007f/);
    expect(validateRemoteName('a\ud800')).toMatch(/U\+d800/);
    for (const c of '<>:"|?*') expect(validateRemoteName(`a${c}b`)).not.toBeNull();
  });
});

const segment = fc.string({ unit: 'grapheme-composite', minLength: 1, maxLength: 40 });
const weirdSegment = fc.oneof(
  segment,
  fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).filter((s) => !s.includes('/')),
  fc.constantFrom('__', '_', 'a__', '.', 'x.pdf', 'q~p0123abcd', ' ', 'é'.repeat(150)),
);
const relPath = fc.array(weirdSegment, { minLength: 1, maxLength: 8 }).map((s) => s.join('/'));
const sha = fc.stringMatching(/^[0-9a-f]{64}$/);

describe('remoteNameFor properties', () => {
  it('always yields a name the API accepts, with our shape and content tag', () => {
    fc.assert(
      fc.property(relPath, sha, (p, h) => {
        const name = remoteNameFor(p, h);
        expect(validateRemoteName(name)).toBeNull();
        expect(isManagedName(name)).toBe(true);
        expect(contentTagOf(name)).toBe(h.slice(0, 10));
      }),
      { numRuns: 2000 },
    );
  });

  it('is deterministic', () => {
    fc.assert(fc.property(relPath, sha, (p, h) => remoteNameFor(p, h) === remoteNameFor(p, h)));
  });

  it('gives distinct paths with the same content distinct names', () => {
    fc.assert(
      fc.property(fc.uniqueArray(relPath, { minLength: 2, maxLength: 30 }), sha, (paths, h) => {
        const names = new Set(paths.map((p) => remoteNameFor(p, h)));
        expect(names.size).toBe(paths.length);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the extension', () => {
    const ext = fc.stringMatching(/^[A-Za-z0-9]{1,10}$/);
    fc.assert(
      fc.property(relPath, fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes('/')), ext, sha, (dir, base, e, h) => {
        const name = remoteNameFor(`${dir}/${base}.${e}`, h);
        expect(name.endsWith(`~${h.slice(0, 10)}.${e}`)).toBe(true);
      }),
    );
  });
});
