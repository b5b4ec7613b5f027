import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HASH_CHUNK_BYTES, hashFile } from '../../src/scan/hash.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('hashFile', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cfs-hash-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const sizes = [
    0,
    1,
    65_535,
    65_536,
    HASH_CHUNK_BYTES - 1,
    HASH_CHUNK_BYTES,
    HASH_CHUNK_BYTES + 1,
    3 * HASH_CHUNK_BYTES + 12_345,
  ];
  for (const size of sizes) {
    it(`matches sha256 of the bytes for ${size} bytes, with and without a size hint`, async () => {
      const data = randomBytes(size);
      const file = join(dir, `f${size}`);
      writeFileSync(file, data);
      expect(await hashFile(file)).toEqual({ sha256: sha(data), size });
      expect(await hashFile(file, { sizeHint: size })).toEqual({ sha256: sha(data), size });
      // A wrong hint (the file grew since stat) still reads everything.
      expect(await hashFile(file, { sizeHint: 0 })).toEqual({ sha256: sha(data), size });
    });
  }

  it('rejects a missing file with ENOENT', async () => {
    await expect(hashFile(join(dir, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('stops when aborted', async () => {
    const file = join(dir, 'big');
    writeFileSync(file, randomBytes(4 * HASH_CHUNK_BYTES));
    const ac = new AbortController();
    ac.abort();
    await expect(hashFile(file, { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});
