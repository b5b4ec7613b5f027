import { describe, expect, it } from 'vitest';
import type { LocalObservation } from '../../src/store/types.js';
import { ScannedHandOff } from '../../src/reconcile/scanned-handoff.js';

const obs = (path: string): LocalObservation => ({
  path,
  size: 1,
  mtimeMs: 1,
  ino: 1,
  ctimeMs: 1,
  sha256: 'a'.repeat(64),
});
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('ScannedHandOff', () => {
  it('hands over what one turn of the event loop brought, before the walk ends', async () => {
    const got: string[][] = [];
    const h = new ScannedHandOff((files) => got.push(files.map((f) => f.path)));
    h.add(obs('a'));
    h.add(obs('b'));
    expect(got).toEqual([]);
    await turn();
    expect(got).toEqual([['a', 'b']]);
    h.add(obs('c'));
    await turn();
    expect(got).toEqual([['a', 'b'], ['c']]);
  });

  it('finish hands over what waits at once, and nothing after', async () => {
    const got: string[][] = [];
    const h = new ScannedHandOff((files) => got.push(files.map((f) => f.path)));
    h.add(obs('a'));
    h.finish();
    expect(got).toEqual([['a']]);
    h.add(obs('b'));
    await turn();
    expect(got).toEqual([['a']]);
  });

  it('hands over at most `limit` files in all: past it the plan judges the rest', async () => {
    const got: string[] = [];
    const h = new ScannedHandOff((files) => got.push(...files.map((f) => f.path)), 3);
    h.add(obs('a'));
    h.add(obs('b'));
    await turn();
    for (const p of ['c', 'd', 'e']) h.add(obs(p));
    h.finish();
    expect(got).toEqual(['a', 'b', 'c']);
  });
});
