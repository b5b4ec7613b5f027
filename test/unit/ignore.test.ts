import { describe, expect, it } from 'vitest';
import { createIgnoreMatcher, DEFAULT_IGNORES } from '../../src/scan/ignore.js';
import { identityLookup, ownReason, type OwnFilesLayout, type OwnIdentity } from '../../src/scan/own-files.js';

function ownLayout(
  paths: { rel: string; dir: boolean; what: string }[],
  identities: OwnIdentity[] = [],
): OwnFilesLayout {
  return {
    relPaths: paths.map((p) => ({ rel: p.rel, dir: p.dir, reason: ownReason(p.what) })),
    identityReason: identityLookup(identities),
  };
}

const none = { ignore: [], include: [] };

describe('createIgnoreMatcher', () => {
  it('ignores the default patterns and says so', () => {
    const m = createIgnoreMatcher(none);
    expect(m.check('.DS_Store', false)).toBe('ignored by default pattern ".DS_Store"');
    expect(m.check('photos/Thumbs.db', false)).toBe('ignored by default pattern "Thumbs.db"');
    expect(m.check('a/desktop.ini', false)).toMatch(/desktop\.ini/);
    expect(m.check('notes/.todo.txt.swp', false)).toBe('ignored by default pattern "*.swp"');
    expect(m.check('x.swo', false)).toMatch(/\*\.swo/);
    expect(m.check('draft.txt~', false)).toBe('ignored by default pattern "*~"');
    expect(m.check('.#draft.txt', false)).toBe('ignored by default pattern ".#*"');
    expect(m.check('a/b.tmp', false)).toMatch(/\*\.tmp/);
    expect(m.check('big.iso.part', false)).toMatch(/\*\.part/);
    expect(m.check('big.iso.crdownload', false)).toMatch(/\*\.crdownload/);
    expect(m.check('.git', true)).toBe('ignored by default pattern ".git/"');
    expect(m.check('sub/.git', true)).toBe('ignored by default pattern ".git/"');
    expect(m.check('sub/.git/config', false)).toBe('ignored by default pattern ".git/"');
    expect(DEFAULT_IGNORES).toContain('.git/');
  });

  it('ignores office and editor lock files and a .git file (a worktree or submodule pointer)', () => {
    const m = createIgnoreMatcher(none);
    expect(m.check('~$report.docx', false)).toBe('ignored by default pattern "~$*"');
    expect(m.check('a/.~lock.report.odt#', false)).toBe('ignored by default pattern ".~lock.*#"');
    expect(m.check('notes.txt.kate-swp', false)).toBe('ignored by default pattern "*.kate-swp"');
    expect(m.check('.goutputstream-X1Y2Z3', false)).toBe('ignored by default pattern ".goutputstream-*"');
    expect(m.check('.git', false)).toBe('ignored by default pattern ".git"');
    expect(m.check('sub/.git', false)).toBe('ignored by default pattern ".git"');
    for (const p of ['a~$b.docx', 'lock.report.odt', '.~lock.report.odt', 'kate-swp.txt', 'goutputstream.txt'])
      expect(m.check(p, false)).toBeNull();
  });

  it('lets ordinary files through', () => {
    const m = createIgnoreMatcher(none);
    for (const p of [
      'report.pdf',
      'a/b/c.txt',
      '.gitignore',
      '.github/workflows/ci.yml',
      'tmp/file',
      'file.partial',
      'a~b',
    ]) {
      expect(m.check(p, false)).toBeNull();
    }
    expect(m.check('docs', true)).toBeNull();
  });

  it('applies user patterns in gitignore syntax, naming the pattern', () => {
    const m = createIgnoreMatcher({ ignore: ['*.log', 'build/', '/top.txt', 'secret/**/*.key'], include: [] });
    expect(m.check('debug.log', false)).toBe('ignored by pattern "*.log"');
    expect(m.check('a/b/debug.log', false)).toBe('ignored by pattern "*.log"');
    expect(m.check('build', true)).toBe('ignored by pattern "build/"');
    expect(m.check('app/build/out.js', false)).toBe('ignored by pattern "build/"');
    expect(m.check('build', false)).toBeNull();
    expect(m.check('top.txt', false)).toMatch(/top\.txt/);
    expect(m.check('sub/top.txt', false)).toBeNull();
    expect(m.check('secret/a/b/x.key', false)).toMatch(/x?\*\.key/);
  });

  it('lets a user negation bring back a default-ignored name', () => {
    const m = createIgnoreMatcher({ ignore: ['!keep.tmp'], include: [] });
    expect(m.check('keep.tmp', false)).toBeNull();
    expect(m.check('other.tmp', false)).not.toBeNull();
  });

  it('ignores the state directory inside the folder, even with special characters', () => {
    const m = createIgnoreMatcher({
      ignore: [],
      include: [],
      own: ownLayout([{ rel: '.state [cfs]!#', dir: true, what: 'the state directory' }]),
    });
    expect(m.check('.state [cfs]!#', true)).toBe('ignored: it is the state directory of claude-filesync');
    expect(m.check('.state [cfs]!#/index.sqlite', false)).toMatch(/state directory/);
    expect(m.check('sub/.state [cfs]!#', true)).toBeNull();
    expect(m.check('.state c', true)).toBeNull();
  });

  it("never lets a user pattern bring back the daemon's own files", () => {
    const m = createIgnoreMatcher({
      ignore: ['!api-key', '!.state/', '!cfg/config.json'],
      include: ['api-key', 'cfg/*.json'],
      own: ownLayout([
        { rel: 'api-key', dir: false, what: 'the API key file' },
        { rel: 'cfg/config.json', dir: false, what: 'the configuration file' },
        { rel: '.state', dir: true, what: 'the state directory' },
      ]),
    });
    expect(m.check('api-key', false)).toBe('ignored: it is the API key file of claude-filesync');
    expect(m.check('cfg/config.json', false)).toBe('ignored: it is the configuration file of claude-filesync');
    expect(m.check('.state/manifest.json', false)).toBe('ignored: it is the state directory of claude-filesync');
    expect(m.check('cfg/other.json', false)).toBeNull();
    expect(m.check('sub/api-key', false)).toBeNull();
    expect(m.check('other.txt', false)).toBe('not matched by any include pattern');
  });

  it("knows another name of the daemon's own files by its inode and device", () => {
    const m = createIgnoreMatcher({
      ignore: [],
      include: [],
      own: ownLayout([], [{ dev: 7, ino: 42, reason: ownReason('the API key file') }]),
    });
    expect(m.ownIdentity({ dev: 7, ino: 42 })).toBe('ignored: it is the API key file of claude-filesync');
    expect(m.ownIdentity({ dev: 8, ino: 42 })).toBeNull();
    expect(m.ownIdentity({ dev: 7, ino: 43 })).toBeNull();
    expect(createIgnoreMatcher(none).ownIdentity({ dev: 7, ino: 42 })).toBeNull();
  });

  it('include patterns select files only; directories are still walked', () => {
    const m = createIgnoreMatcher({ ignore: ['drafts/'], include: ['*.pdf', 'notes/'] });
    expect(m.check('a/b/report.pdf', false)).toBeNull();
    expect(m.check('notes/x.txt', false)).toBeNull();
    expect(m.check('a/b/report.txt', false)).toBe('not matched by any include pattern');
    expect(m.check('a', true)).toBeNull();
    expect(m.check('drafts/x.pdf', false)).toBe('ignored by pattern "drafts/"');
    expect(m.check('x.pdf.tmp', false)).toMatch(/default pattern/);
  });

  it('keeps answering the same after its cache is rebuilt', () => {
    const m = createIgnoreMatcher({ ignore: ['*.log'], include: [] });
    let last: string | null = null;
    for (let i = 0; i < 200_050; i++) last = m.check(`d${i % 1000}/f${i}.log`, false);
    expect(last).toBe('ignored by pattern "*.log"');
    expect(m.check('x.txt', false)).toBeNull();
  });
});
