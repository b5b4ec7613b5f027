import { linkSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { relativeInside } from '../../src/scan/inside.js';
import {
  locateOwnFiles,
  OWN_IDENTITY_REFRESH_MS,
  ownPathReason,
  ownReason,
  ownRelPaths,
} from '../../src/scan/own-files.js';

const temps: string[] = [];
afterEach(() => {
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

describe('own files: which paths in the folder are the daemon’s', () => {
  it('names a path inside the folder relative to it, and nothing outside or the folder itself', () => {
    expect(relativeInside('/w/docs', '/w/docs/api-key')).toBe('api-key');
    expect(relativeInside('/w/docs', '/w/docs/a/b.json')).toBe('a/b.json');
    expect(relativeInside('/w/docs', '/w/docs')).toBeNull();
    expect(relativeInside('/w/docs', '/w/docs2/x')).toBeNull();
    expect(relativeInside('/w/docs', '/w/x')).toBeNull();
    expect(relativeInside('/w/docs', '/w/docs/..foo')).toBe('..foo');
  });

  it('matches an own file exactly and everything under an own folder', () => {
    const own = ownRelPaths(
      ['/w'],
      [
        { path: '/w/cfg/api-key', what: 'the API key file', dir: false },
        { path: '/w/.state', what: 'the state directory', dir: true },
        { path: '/elsewhere/config.json', what: 'the configuration file', dir: false },
      ],
    );
    expect(own.map((o) => o.rel)).toEqual(['cfg/api-key', '.state']);
    expect(ownPathReason(own, 'cfg/api-key')).toBe(ownReason('the API key file'));
    expect(ownPathReason(own, 'cfg/api-key2')).toBeNull();
    expect(ownPathReason(own, 'cfg/api-key/x')).toBeNull();
    expect(ownPathReason(own, '.state')).toBe(ownReason('the state directory'));
    expect(ownPathReason(own, '.state/index.sqlite-wal')).toBe(ownReason('the state directory'));
    expect(ownPathReason(own, '.statex')).toBeNull();
  });

  it('finds an own file through a symbolic link to the folder and by the inode of its hard links', () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'cfs-own-'));
    temps.push(base);
    const real = path.join(base, 'real');
    mkdirSync(real);
    writeFileSync(path.join(real, 'api-key'), 'sk-ant-secret\n');
    symlinkSync(real, path.join(base, 'link'));
    linkSync(path.join(real, 'api-key'), path.join(real, 'copy-of-key'));
    // The folder is named through the link; the key file by its real path.
    const layout = locateOwnFiles(path.join(base, 'link'), [
      { path: path.join(real, 'api-key'), what: 'the API key file', dir: false },
      { path: path.join(base, 'not-there-yet.json'), what: 'the configuration file', dir: false },
    ]);
    expect(layout.relPaths.map((o) => o.rel)).toEqual(['api-key']);
    const st = statSync(path.join(real, 'copy-of-key'));
    expect(layout.identityReason(st)).toBe(ownReason('the API key file'));
    expect(layout.identityReason({ dev: st.dev, ino: st.ino + 1 })).toBeNull();
  });

  it('knows the files in an own folder and the inode of a key replaced since, once a second has passed', () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'cfs-own-'));
    temps.push(base);
    const cfg = path.join(base, 'cfg');
    const state = path.join(base, 'state');
    mkdirSync(cfg);
    mkdirSync(state);
    writeFileSync(path.join(cfg, 'env'), 'ANTHROPIC_API_KEY=sk-ant-secret\n');
    writeFileSync(path.join(state, 'index-0a1b2c3d.sqlite'), 'rows');
    const key = path.join(cfg, 'api-key');
    writeFileSync(key, 'sk-ant-old\n');
    let t = 0;
    const layout = locateOwnFiles(
      path.join(base, 'folder'),
      [
        { path: key, what: 'the API key file', dir: false },
        { path: cfg, what: 'the configuration folder', dir: true },
        { path: state, what: 'the state directory', dir: true },
      ],
      () => t,
    );
    // A file directly in an own folder: the service's env file, the index.
    expect(layout.identityReason(statSync(path.join(cfg, 'env')))).toBe(ownReason('the configuration folder'));
    expect(layout.identityReason(statSync(path.join(state, 'index-0a1b2c3d.sqlite')))).toBe(
      ownReason('the state directory'),
    );
    // The key rotated by an editor (a new inode), and a file the daemon creates later.
    writeFileSync(path.join(base, 'new-key'), 'sk-ant-new\n');
    renameSync(path.join(base, 'new-key'), key);
    writeFileSync(path.join(state, 'index-0a1b2c3d.sqlite-wal'), 'wal');
    // Without a ctime: read again once the reading is a second old; with one: at once.
    const { dev, ino } = statSync(key);
    expect(layout.identityReason({ dev, ino })).toBeNull();
    t += OWN_IDENTITY_REFRESH_MS;
    expect(layout.identityReason({ dev, ino })).toBe(ownReason('the API key file'));
    writeFileSync(path.join(base, 'newer-key'), 'sk-ant-newer\n');
    renameSync(path.join(base, 'newer-key'), key);
    expect(layout.identityReason(statSync(key))).toBe(ownReason('the API key file'));
    expect(layout.identityReason(statSync(path.join(state, 'index-0a1b2c3d.sqlite-wal')))).toBe(
      ownReason('the state directory'),
    );
  });
});
