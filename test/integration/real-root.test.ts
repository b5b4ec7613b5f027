/**
 * The folder's real path is resolved once for all uploads (src/jobs/real-root.ts) and again
 * when asked: a link to the folder re-pointed, or a folder missing for a while, must not leave a
 * stale or failed answer behind.
 */
import { mkdir, mkdtemp, realpath, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RealRoot } from '../../src/jobs/real-root.js';

let base: string | null = null;
afterEach(async () => {
  if (base) await rm(base, { recursive: true, force: true });
  base = null;
});

describe('the real root', () => {
  it('is resolved once, and afresh on refresh after its link was re-pointed', async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'cfs-realroot-'));
    await mkdir(path.join(base, 'a'));
    await mkdir(path.join(base, 'b'));
    const link = path.join(base, 'folder');
    await symlink(path.join(base, 'a'), link);
    const root = new RealRoot(link);
    expect(await root.get()).toBe(await realpath(path.join(base, 'a')));
    await rm(link);
    await symlink(path.join(base, 'b'), link);
    expect(await root.get()).toBe(await realpath(path.join(base, 'a')));
    expect(await root.refresh()).toBe(await realpath(path.join(base, 'b')));
    expect(await root.get()).toBe(await realpath(path.join(base, 'b')));
  });

  it('does not keep a failed resolution: the folder back, the next get finds it', async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'cfs-realroot-'));
    const dir = path.join(base, 'folder');
    const root = new RealRoot(dir);
    await expect(root.get()).rejects.toMatchObject({ code: 'ENOENT' });
    await mkdir(dir);
    expect(await root.get()).toBe(await realpath(dir));
  });
});
