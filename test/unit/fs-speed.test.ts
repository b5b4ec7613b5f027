import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsSpeed, SLOW_CALL_MS, SMALL_READ_BYTES } from '../../src/scan/fs-speed.js';
import { hashFile, hashFileWith, readUpTo } from '../../src/scan/hash.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('FsSpeed', () => {
  it('turns slow once a whole window of calls is slow on average, and stays slow', () => {
    const speed = new FsSpeed();
    for (let i = 0; i < 255; i++) speed.note(SLOW_CALL_MS * 4);
    expect(speed.fast).toBe(true);
    speed.note(SLOW_CALL_MS * 4);
    expect(speed.fast).toBe(false);
    for (let i = 0; i < 1024; i++) speed.note(0);
    expect(speed.fast).toBe(false);
  });

  it('one slow call (a cold cache) among fast ones is not a slow filesystem', () => {
    const speed = new FsSpeed();
    speed.note(50);
    for (let i = 0; i < 255; i++) speed.note(0.001);
    expect(speed.fast).toBe(true);
  });

  it('times a call that throws, and rethrows it', () => {
    const speed = new FsSpeed();
    expect(() =>
      speed.time(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
  });
});

describe('hashFileWith (small files read in one call on a fast filesystem)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cfs-speed-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const size of [0, 1, 4096, SMALL_READ_BYTES, SMALL_READ_BYTES + 1]) {
    it(`gives hashFile's answer for ${size} bytes, fast or slow`, async () => {
      const data = randomBytes(size);
      const file = join(dir, `f${size}`);
      writeFileSync(file, data);
      const slow = new FsSpeed();
      for (let i = 0; i < 256; i++) slow.note(1);
      for (const speed of [new FsSpeed(), slow]) {
        expect(await hashFileWith(speed)(file, { sizeHint: size })).toEqual({ sha256: sha(data), size });
      }
    });
  }

  it('a small file that grew since its stat is read whole, as hashFile reads it', async () => {
    const data = randomBytes(3 * SMALL_READ_BYTES);
    const file = join(dir, 'grew');
    writeFileSync(file, data);
    expect(await hashFileWith(new FsSpeed())(file, { sizeHint: 10 })).toEqual(await hashFile(file));
    expect((await hashFile(file)).size).toBe(data.length);
  });

  it('rejects (does not throw) for a missing file', async () => {
    await expect(hashFileWith(new FsSpeed())(join(dir, 'nope'), { sizeHint: 5 })).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('readUpTo: the bytes of a file within the bound, null past it', () => {
    const file = join(dir, 'bound');
    writeFileSync(file, 'abcdef');
    expect(readUpTo(file, 6)?.toString()).toBe('abcdef');
    expect(readUpTo(file, 5)).toBeNull();
  });
});
