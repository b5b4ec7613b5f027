/**
 * Moves and held deletes in the pure planner (src/plan/moves.ts, src/plan/held-deletes.ts),
 * driven with an injected `now`: a removal whose content reappeared is a move, and a held delete
 * stays held across passes until --allow-mass-delete.
 */
import { describe, expect, it } from 'vitest';
import type { FileRow, LocalObservation } from '../../src/store/types.js';
import { formatHeld, nextHeld, parseHeld } from '../../src/plan/held-deletes.js';
import { pairMoves } from '../../src/plan/moves.js';
import { planSync, type LocalSnapshot, type PlanInput } from '../../src/plan/plan.js';
import { planOptions, syncedRow } from '../helpers/plan-inputs.js';

const OPTIONS = planOptions({ maxDeleteFloor: 3, intentSkewMs: 600_000, expiryMarginMs: 300_000 });
const NOW = 100_000;
const sha = (n: number) => n.toString(16).padStart(64, '0');

function synced(path: string, n: number): FileRow {
  return syncedRow(path, sha(n), 10, { fileId: `file_${n}`, remoteName: `${path}~${sha(n).slice(0, 10)}` }, { ino: n });
}

function snapshot(files: LocalObservation[]): LocalSnapshot {
  return {
    files: new Map(files.map((f) => [f.path, f])),
    skipped: new Map(),
    unreadable: new Set(),
    unreadableDirs: [],
    rootMissing: false,
  };
}

const obs = (path: string, n: number, ino = n + 1000): LocalObservation => ({
  path,
  size: 10,
  mtimeMs: 2,
  ino,
  sha256: sha(n),
});

function fullPass(
  rows: FileRow[],
  files: LocalObservation[],
  extra: Partial<PlanInput> = {},
): ReturnType<typeof planSync> {
  return planSync({
    rows,
    intents: [],
    pendingDeletes: [],
    local: snapshot(files),
    remote: null,
    now: NOW,
    options: OPTIONS,
    ...extra,
  });
}

const many = (n: number, dir: string) => Array.from({ length: n }, (_, i) => synced(`${dir}/f${i}.txt`, i + 1));

describe('pairing moves', () => {
  it('pairs a gone file with the new path of the same inode first, then of the same content, one to one', () => {
    const pairs = pairMoves(
      [
        { path: 'a/x', sha256: 'S', ino: 1 },
        { path: 'a/y', sha256: 'S', ino: 2 },
        { path: 'a/z', sha256: 'T', ino: 3 },
      ],
      [
        { path: 'b/copy-of-x', sha256: 'S', ino: 9 },
        { path: 'b/y', sha256: 'S', ino: 2 },
      ],
    );
    expect(Object.fromEntries(pairs)).toEqual({ 'a/y': 'b/y', 'a/x': 'b/copy-of-x' });
  });

  it('does not trust a reused inode whose content differs', () => {
    expect(pairMoves([{ path: 'old', sha256: 'S', ino: 7 }], [{ path: 'new', sha256: 'T', ino: 7 }]).size).toBe(0);
  });
});

describe('planning moves', () => {
  it('a full pass pairs a renamed folder of 200 files with its new paths: no hold, every old copy deleted', () => {
    const rows = many(200, 'big');
    const plan = fullPass(
      rows,
      rows.map((r, i) => obs(`big2/f${i}.txt`, i + 1, r.ino)),
    );
    expect(plan.held).toBeNull();
    expect(plan.heldPaths).toEqual([]);
    expect(plan.moves).toHaveLength(200);
    expect(plan.removals).toHaveLength(200);
    expect(plan.uploads.every((u) => u.reason === 'new')).toBe(true);
  });

  it('a watcher batch of removals pairs with files that appeared in the window and does not count them', () => {
    const rows = many(200, 'big');
    const appeared = rows.map((r, i) => ({ path: `big2/f${i}.txt`, sha256: r.sha256, ino: r.ino }));
    const scope = { paths: new Set(rows.map((r) => r.path)), managed: 300, recentRemovals: [], windowMs: 5_000 };
    const plan = fullPass(rows, [], { scope, appeared });
    expect(plan.held).toBeNull();
    expect(plan.moves).toHaveLength(200);
    expect(plan.removals).toHaveLength(200);
    // Moves do not fill the removal window: a real loss right after is still judged alone.
    expect(plan.recentRemovals).toEqual([]);
    const withoutTargets = fullPass(rows, [], { scope });
    expect(withoutTargets.held?.count).toBe(200);
    expect(withoutTargets.removals).toEqual([]);
  });

  it('a removal without a matching new file still counts against the share', () => {
    const rows = many(10, 'd');
    const plan = fullPass(rows, [obs('e/f0.txt', 1, rows[0]!.ino)]);
    expect(plan.moves).toEqual([{ from: 'd/f0.txt', to: 'e/f0.txt' }]);
    expect(plan.held?.count).toBe(9);
    expect(plan.heldPaths).toHaveLength(9);
  });
});

describe('held deletes across passes', () => {
  const rows = [...many(20, 'old')];
  const heldPass = fullPass(rows, []);
  const held = new Set(heldPass.heldPaths);

  it('the first pass holds every delete over the share', () => {
    expect(heldPass.held?.count).toBe(20);
    expect(held.size).toBe(20);
    expect(heldPass.removals).toEqual([]);
  });

  it('a later pass keeps them held although new files dropped the share under the limit', () => {
    const newRows = many(30, 'new');
    const plan = fullPass(
      [...rows, ...newRows],
      newRows.map((r) => obs(r.path, r.ino + 500, r.ino)),
      { held },
    );
    expect(plan.removals).toEqual([]);
    expect(plan.heldPaths).toHaveLength(20);
    expect(plan.held?.count).toBe(20);
    expect(plan.held?.message).toMatch(/--allow-mass-delete/);
  });

  it('--allow-mass-delete releases and removes them; a file that came back is released', () => {
    const forced = fullPass(rows, [], { held, options: { ...OPTIONS, allowMassDelete: true } });
    expect(forced.removals).toHaveLength(20);
    expect(forced.heldPaths).toEqual([]);
    const back = fullPass(rows, [obs('old/f0.txt', 1, rows[0]!.ino)], { held });
    expect(back.heldPaths).not.toContain('old/f0.txt');
    expect(back.heldPaths).toHaveLength(19);
  });

  it('a held path whose content reappears under a new path is released as a move', () => {
    const scope = { paths: new Set(rows.map((r) => r.path)), managed: 20, recentRemovals: [], windowMs: 5_000 };
    const appeared = [{ path: 'moved/f0.txt', sha256: rows[0]!.sha256, ino: 999 }];
    const plan = fullPass(rows, [], { held, scope, appeared });
    expect(plan.moves).toEqual([{ from: 'old/f0.txt', to: 'moved/f0.txt' }]);
    expect(plan.removals.map((r) => r.path)).toEqual(['old/f0.txt']);
    expect(plan.heldPaths).toHaveLength(19);
  });

  it('a watcher batch keeps held paths outside its scope', () => {
    const next = nextHeld(held, new Set(['old/f0.txt', 'other']), ['other']);
    expect(next.has('old/f0.txt')).toBe(false);
    expect(next.has('other')).toBe(true);
    expect(next.size).toBe(20);
    expect(parseHeld(formatHeld(next))).toEqual(next);
    expect(parseHeld('not json').size).toBe(0);
  });
});
