/**
 * Issue 14, symptom 8: a file moved over another about a second after it was created stayed
 * "synced" under the old content until the next reconcile. chokidar drops an event when the
 * file's mtime is the one it saw last and its atime is later (it takes that for a mere read), and
 * does so even when the path now names another inode: a file created in the same clock tick as the
 * target's last write, read once (by our hash) and then moved over the target, was never reported.
 * Real files, the real watcher, the emulator.
 */
import { createHash } from 'node:crypto';
import { rename, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkInvariants, createHarness, waitUntil, type Harness } from '../helpers/engine-harness.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
/** Whole seconds, so that two files can be given exactly the same mtime. */
const T = 1_700_000_000;

function remoteSha(x: Harness, rel: string): string | null {
  const id = x.index.get(rel)?.fileId;
  return x.emulator.files().find((f) => f.id === id)?.sha256 ?? null;
}

describe('a file moved over another soon after it was created', () => {
  it('is synced under its new name even when it shares the mtime of the file it replaced', async () => {
    h = await createHarness({ watch: true, settleMs: 150 });
    await writeFile(path.join(h.dir, 'target.txt'), 'the old content');
    await h.engine.start();
    await h.engine.onIdle();
    // The target's last change, as the watcher sees it: mtime T.
    await utimes(path.join(h.dir, 'target.txt'), T, T);
    await waitUntil(() => h!.index.get('target.txt')?.mtimeMs === T * 1000, 5_000, 'the touch to be seen');
    await h.engine.onIdle();

    // Made in the same mtime tick as the target's last write, and read (synced) before the move.
    await writeFile(path.join(h.dir, 'fresh.md'), 'brand new content, longer');
    await utimes(path.join(h.dir, 'fresh.md'), T + 100, T);
    await waitUntil(() => h!.index.get('fresh.md')?.state === 'synced', 5_000, 'the new file to be synced');
    await h.engine.onIdle();

    await rename(path.join(h.dir, 'fresh.md'), path.join(h.dir, 'target.txt'));
    await waitUntil(
      () => remoteSha(h!, 'target.txt') === sha('brand new content, longer'),
      5_000,
      'the moved content to be synced',
    );
    await h.engine.onIdle();
    expect(await checkInvariants(h)).toEqual([]);
  });
});
