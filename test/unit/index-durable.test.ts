/**
 * flushDurable: the fsync of the WAL that makes an upload intent survive a power loss, taken off
 * the event loop. We cannot cut the power in a test; we check that it really syncs the WAL file
 * that holds the intent, shares one sync between concurrent callers, and reports a missing WAL.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IndexStore } from '../../src/store/store.js';

const dirs: string[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function openStore(): Promise<{ store: IndexStore; file: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cfs-durable-'));
  dirs.push(dir);
  const file = path.join(dir, 'index.sqlite');
  return { store: IndexStore.open(file), file };
}

const intent = (p: string) => ({
  path: p,
  remoteName: `${p}~0123456789.txt`,
  size: 1,
  sha256: 'a'.repeat(64),
  startedAt: Date.now(),
});

describe('IndexStore.flushDurable', () => {
  it('syncs the WAL that holds a new intent', async () => {
    const { store, file } = await openStore();
    store.recordIntent(intent('a.txt'));
    // The intent is in the WAL (not yet checkpointed into the main file).
    expect((await stat(`${file}-wal`)).size).toBeGreaterThan(0);
    await expect(store.flushDurable()).resolves.toBeUndefined();
    expect(store.intents().map((i) => i.path)).toEqual(['a.txt']);
    store.close();
  });

  it('callers that arrive while a sync runs share the next one', async () => {
    const { store } = await openStore();
    store.recordIntent(intent('a.txt'));
    const first = store.flushDurable();
    store.recordIntent(intent('b.txt'));
    const second = store.flushDurable();
    const third = store.flushDurable();
    // Both late callers wait for one more sync after the running one (their intent may be newer).
    expect(third).toBe(second);
    expect(second).not.toBe(first);
    await Promise.all([first, second, third]);
    store.close();
  });

  it('is a no-op for an in-memory index', async () => {
    const store = IndexStore.open(':memory:');
    store.recordIntent(intent('a.txt'));
    await expect(store.flushDurable()).resolves.toBeUndefined();
    store.close();
  });

  it('fails rather than pretend when the WAL cannot be synced', async () => {
    const { store, file } = await openStore();
    store.recordIntent(intent('a.txt'));
    await rm(`${file}-wal`);
    await expect(store.flushDurable()).rejects.toThrow();
    store.close();
  });
});
