import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MAX_REMOTE_NAME_BYTES,
  ownerTagFor,
  ownerTagOf,
  parseRemoteName,
  remoteNameFor,
} from '../../src/plan/naming.js';
import { contentTagOf, isManagedName, validateRemoteName } from '../helpers/remote-name-oracle.js';

const SHA = `3fa9c01b2e${'ab'.repeat(27)}`;
const pathTag = (p: string): string => createHash('sha256').update(p, 'utf8').digest('hex').slice(0, 8);

describe('remoteNameFor', () => {
  it('joins segments with __ and puts the content tag before the extension', () => {
    expect(remoteNameFor('reports/2026/q3.pdf', SHA, null)).toBe('reports__2026__q3~3fa9c01b2e.pdf');
  });

  it('keeps a file without extension whole', () => {
    expect(remoteNameFor('notes/README', SHA, null)).toBe('notes__README~3fa9c01b2e');
  });

  it('does not treat a leading dot as an extension', () => {
    expect(remoteNameFor('.bashrc', SHA, null)).toBe('.bashrc~3fa9c01b2e');
    expect(remoteNameFor('dir/.env', SHA, null)).toBe('dir__.env~3fa9c01b2e');
  });

  it('takes only the last extension, and only 1-10 alphanumerics', () => {
    expect(remoteNameFor('a.tar.gz', SHA, null)).toBe('a.tar~3fa9c01b2e.gz');
    expect(remoteNameFor('a.verylongextension', SHA, null)).toBe('a.verylongextension~3fa9c01b2e');
    expect(remoteNameFor('a.b-c', SHA, null)).toBe('a.b-c~3fa9c01b2e');
    expect(remoteNameFor('a.', SHA, null)).toBe('a.~3fa9c01b2e');
  });

  it('keeps spaces, case and unicode as they are', () => {
    expect(remoteNameFor('Mes Documents/Été 2026.DOCX', SHA, null)).toBe('Mes Documents__Été 2026~3fa9c01b2e.DOCX');
  });

  it('replaces forbidden characters and adds a path tag', () => {
    const p = 'a:b/c?d.txt';
    expect(remoteNameFor(p, SHA, null)).toBe(`a_b__c_d~p${pathTag(p)}~3fa9c01b2e.txt`);
    const ctl = 'x\u0001y\u007f.md';
    expect(remoteNameFor(ctl, SHA, null)).toBe(`x_y_~p${pathTag(ctl)}~3fa9c01b2e.md`);
  });

  it('adds a path tag when __ in a name would make the flattening ambiguous', () => {
    expect(remoteNameFor('a__b/c.txt', SHA, null)).toBe(`a__b__c~p${pathTag('a__b/c.txt')}~3fa9c01b2e.txt`);
    expect(remoteNameFor('a/b/c.txt', SHA, null)).toBe('a__b__c~3fa9c01b2e.txt');
    expect(remoteNameFor('a_/_b', SHA, null)).toContain('~p');
  });

  it('adds a path tag when the stem already ends like one', () => {
    const p = 'x~p0123abcd.txt';
    expect(remoteNameFor(p, SHA, null)).toBe(`x~p0123abcd~p${pathTag(p)}~3fa9c01b2e.txt`);
  });

  it('shortens long paths on a code point boundary to 255 bytes, keeping the extension', () => {
    const p = `${'dossier/'.repeat(20)}${'😀é'.repeat(60)}.jpeg`;
    const name = remoteNameFor(p, SHA, null);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_REMOTE_NAME_BYTES);
    expect(Buffer.byteLength(name)).toBeGreaterThan(MAX_REMOTE_NAME_BYTES - 4);
    expect(name.endsWith(`~p${pathTag(p)}~3fa9c01b2e.jpeg`)).toBe(true);
    expect(name.startsWith('dossier__dossier__')).toBe(true);
    expect(name).not.toMatch(/[\ud800-\udfff](?![\udc00-\udfff])/u);
    expect(validateRemoteName(name)).toBeNull();
  });

  it('never returns an empty name', () => {
    expect(remoteNameFor('', SHA, null)).toBe('~3fa9c01b2e');
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
/** Our names carry an owner tag; legacy names (null) none. Every property holds for both. */
const owner = fc.option(fc.stringMatching(/^[0-9a-f]{8}$/), { nil: null });

describe('remoteNameFor properties', () => {
  it('always yields a name the API accepts, with our shape, content tag and owner tag', () => {
    fc.assert(
      fc.property(relPath, sha, owner, (p, h, o) => {
        const name = remoteNameFor(p, h, o);
        expect(validateRemoteName(name)).toBeNull();
        expect(isManagedName(name)).toBe(true);
        expect(contentTagOf(name)).toBe(h.slice(0, 10));
        if (o !== null) expect(ownerTagOf(name)).toBe(o);
      }),
      { numRuns: 2000 },
    );
  });

  it('is deterministic', () => {
    // biome-ignore lint/suspicious/noSelfCompare: two calls, compared: that is the property.
    fc.assert(fc.property(relPath, sha, owner, (p, h, o) => remoteNameFor(p, h, o) === remoteNameFor(p, h, o)));
  });

  it('gives distinct paths with the same content distinct names', () => {
    fc.assert(
      fc.property(fc.uniqueArray(relPath, { minLength: 2, maxLength: 30 }), sha, owner, (paths, h, o) => {
        const names = new Set(paths.map((p) => remoteNameFor(p, h, o)));
        expect(names.size).toBe(paths.length);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the extension', () => {
    const ext = fc.stringMatching(/^[A-Za-z0-9]{1,10}$/);
    fc.assert(
      fc.property(
        relPath,
        fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes('/')),
        ext,
        sha,
        owner,
        (dir, base, e, h, o) => {
          const name = remoteNameFor(`${dir}/${base}.${e}`, h, o);
          expect(name.endsWith(`~${h.slice(0, 10)}.${e}`)).toBe(true);
        },
      ),
    );
  });
});

describe('owner tags', () => {
  const OWNER = '1a2b3c4d';

  it('puts the owner tag between the stem and the content tag', () => {
    expect(remoteNameFor('reports/2026/q3.pdf', SHA, OWNER)).toBe('reports__2026__q3~o1a2b3c4d~3fa9c01b2e.pdf');
    expect(remoteNameFor('notes/README', SHA, OWNER)).toBe('notes__README~o1a2b3c4d~3fa9c01b2e');
  });

  it('puts the path tag before the owner tag', () => {
    const p = 'a:b/c?d.txt';
    expect(remoteNameFor(p, SHA, OWNER)).toBe(`a_b__c_d~p${pathTag(p)}~o1a2b3c4d~3fa9c01b2e.txt`);
  });

  it('adds a path tag when the stem already ends like an owner tag, so the parser never misreads it', () => {
    const p = 'x~o0123abcd.txt';
    const name = remoteNameFor(p, SHA, OWNER);
    expect(name).toBe(`x~o0123abcd~p${pathTag(p)}~o1a2b3c4d~3fa9c01b2e.txt`);
    expect(parseRemoteName(name)).toEqual({
      stem: 'x~o0123abcd',
      pathTag: pathTag(p),
      ownerTag: OWNER,
      contentTag: '3fa9c01b2e',
      ext: '.txt',
    });
  });

  it('reads the owner tag back; legacy and foreign-shaped names have none', () => {
    expect(ownerTagOf(remoteNameFor('a/b.txt', SHA, OWNER))).toBe(OWNER);
    expect(ownerTagOf(remoteNameFor('a/b.txt', SHA, null))).toBeNull();
    expect(ownerTagOf('holiday.jpg')).toBeNull();
    expect(ownerTagOf('x~oZZZZZZZZ~3fa9c01b2e.txt')).toBeNull();
  });

  it('parses legacy names', () => {
    expect(parseRemoteName('reports__2026__q3~3fa9c01b2e.pdf')).toEqual({
      stem: 'reports__2026__q3',
      pathTag: null,
      ownerTag: null,
      contentTag: '3fa9c01b2e',
      ext: '.pdf',
    });
    expect(parseRemoteName('x~p01234567~3fa9c01b2e')).toEqual({
      stem: 'x',
      pathTag: '01234567',
      ownerTag: null,
      contentTag: '3fa9c01b2e',
      ext: '',
    });
    expect(parseRemoteName('holiday.jpg')).toBeNull();
  });

  it('keeps long owned names within 255 UTF-8 bytes, ending with path, owner and content tags', () => {
    const p = `${'dossier/'.repeat(20)}${'😀é'.repeat(60)}.jpeg`;
    const name = remoteNameFor(p, SHA, OWNER);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_REMOTE_NAME_BYTES);
    expect(name.endsWith(`~p${pathTag(p)}~o${OWNER}~3fa9c01b2e.jpeg`)).toBe(true);
    expect(validateRemoteName(name)).toBeNull();
  });

  it('refuses an owner tag that is not 8 lowercase hex', () => {
    expect(() => remoteNameFor('a.txt', SHA, 'XYZ')).toThrow(TypeError);
  });

  it('derives the tag from the instance name, else from host and folder', () => {
    const hashed = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 8);
    expect(ownerTagFor({ instanceName: 'laptop-docs', hostname: 'h', dir: '/d' })).toBe(hashed('instance:laptop-docs'));
    expect(ownerTagFor({ instanceName: 'laptop-docs', hostname: 'other', dir: '/elsewhere' })).toBe(
      hashed('instance:laptop-docs'),
    );
    expect(ownerTagFor({ instanceName: null, hostname: 'h', dir: '/d' })).toBe(hashed('host:h\0/d'));
    // Same host and folder: the same tag again (after the state directory is lost); else another.
    expect(ownerTagFor({ instanceName: null, hostname: 'h', dir: '/d' })).toBe(
      ownerTagFor({ instanceName: null, hostname: 'h', dir: '/d' }),
    );
    expect(ownerTagFor({ instanceName: null, hostname: 'h', dir: '/d2' })).not.toBe(
      ownerTagFor({ instanceName: null, hostname: 'h', dir: '/d' }),
    );
    expect(ownerTagFor({ instanceName: null, hostname: 'h2', dir: '/d' })).not.toBe(
      ownerTagFor({ instanceName: null, hostname: 'h', dir: '/d' }),
    );
  });
});
