/**
 * The watcher's settled paths go through the same planner as reconcile, scoped to those paths,
 * without a listing (remote: null). Driven with an injected `now`: no timers, no IO.
 */
import { describe, expect, it } from 'vitest';
import type { FileRow } from '../../src/store/types.js';
import { batchSnapshot, type CheckedPath } from '../../src/plan/checked-snapshot.js';
import { planSync, type PlanInput } from '../../src/plan/plan.js';
import { knownRoot, sameRoot, type RootIdentity } from '../../src/plan/root-identity.js';
import { planOptions, syncedRow } from '../helpers/plan-inputs.js';

const OPTIONS = planOptions({ maxDeleteFloor: 3, intentSkewMs: 600_000, expiryMarginMs: 300_000 });
const WINDOW = 5_000;
const ROOT: RootIdentity = { dev: '2049', ino: '77' };

function synced(path: string, n: number): FileRow {
  const sha = n.toString(16).padStart(64, '0');
  return syncedRow(path, sha, 10, { fileId: `file_${n}`, remoteName: `${path}~${sha.slice(0, 10)}` }, { ino: n });
}

/** A batch where `gone` paths are missing and `back` paths hold their synced content. */
function batch(
  rows: FileRow[],
  gone: string[],
  o: {
    now?: number;
    recent?: number[];
    managed?: number;
    seen?: RootIdentity | null;
    known?: RootIdentity | null;
  } = {},
): ReturnType<typeof planSync> {
  const checked: CheckedPath[] = rows.map((r) =>
    gone.includes(r.path)
      ? { path: r.path, result: { kind: 'missing' } }
      : {
          path: r.path,
          result: {
            kind: 'file',
            obs: { path: r.path, size: r.size, mtimeMs: r.mtimeMs, ino: r.ino, sha256: r.sha256 },
          },
        },
  );
  const input: PlanInput = {
    rows,
    intents: [],
    pendingDeletes: [],
    local: batchSnapshot(checked),
    remote: null,
    now: o.now ?? 100_000,
    options: OPTIONS,
    scope: {
      paths: new Set(rows.map((r) => r.path)),
      managed: o.managed ?? 20,
      recentRemovals: o.recent ?? [],
      windowMs: WINDOW,
    },
    root: { seen: o.seen === undefined ? ROOT : o.seen, known: o.known === undefined ? ROOT : o.known },
  };
  return planSync(input);
}

const rows = (n: number) => Array.from({ length: n }, (_, i) => synced(`f${i}.txt`, i + 1));

describe('planning a watcher batch', () => {
  it('removes the few files gone from the batch and counts them in the removal window', () => {
    const all = rows(3);
    const plan = batch(all, ['f0.txt', 'f1.txt']);
    expect(plan.held).toBeNull();
    expect(plan.removals.map((r) => r.path)).toEqual(['f0.txt', 'f1.txt']);
    expect(plan.uploads).toEqual([]);
    expect(plan.recentRemovals).toEqual([100_000, 100_000]);
  });

  it('holds the deletes of an rm of most files arriving in several batches within the window', () => {
    // 20 managed; first batch removes 3 (the floor); the next, 2 s later, removes 9 more: 12 of 20.
    const first = batch(rows(3), ['f0.txt', 'f1.txt', 'f2.txt'], { now: 100_000 });
    expect(first.held).toBeNull();
    const next = rows(12).slice(3);
    const second = batch(
      next,
      next.map((r) => r.path),
      { now: 102_000, recent: first.recentRemovals, managed: 17 },
    );
    expect(second.held?.count).toBe(9);
    expect(second.held?.message).toMatch(/12 of 20 synced files/);
    expect(second.removals).toEqual([]);
  });

  it('forgets removals older than the window: deleting files one by one is never a mass vanish', () => {
    const next = rows(12).slice(3);
    const plan = batch(
      next,
      next.slice(0, 3).map((r) => r.path),
      { now: 100_000 + WINDOW + 1, recent: [100_000, 100_000, 100_000], managed: 17 },
    );
    expect(plan.held).toBeNull();
    expect(plan.removals).toHaveLength(3);
    expect(plan.recentRemovals).toEqual([105_001, 105_001, 105_001]);
  });

  it('rows outside the batch are not removal candidates', () => {
    const all = rows(5);
    const checked: CheckedPath[] = [{ path: 'f0.txt', result: { kind: 'missing' } }];
    const plan = planSync({
      rows: all,
      intents: [],
      pendingDeletes: [],
      local: batchSnapshot(checked),
      remote: null,
      now: 1,
      options: OPTIONS,
      scope: { paths: new Set(['f0.txt']), managed: 5, recentRemovals: [], windowMs: WINDOW },
    });
    expect(plan.removals.map((r) => r.path)).toEqual(['f0.txt']);
  });

  it('a file that came back is planned as present, not removed', () => {
    const plan = batch(rows(2), []);
    expect(plan.removals).toEqual([]);
    expect(plan.held).toBeNull();
  });

  it('holds every delete when the watched folder is missing', () => {
    const plan = batch(rows(2), ['f0.txt', 'f1.txt'], { seen: null });
    expect(plan.removals).toEqual([]);
    expect(plan.held?.message).toMatch(/the watched folder is missing/);
  });

  it('holds every delete when another folder stands at the watched path (device and inode)', () => {
    const plan = batch(rows(2), ['f0.txt'], { seen: { dev: '2049', ino: '78' } });
    expect(plan.removals).toEqual([]);
    expect(plan.held?.message).toMatch(/the watched folder was replaced/);
    expect(plan.rootToRecord).toBeNull();
    const otherDisk = batch(rows(2), ['f0.txt'], { seen: { dev: '2050', ino: '77' } });
    expect(otherDisk.held?.message).toMatch(/was replaced/);
  });
});

describe('the root identity', () => {
  it('is device and inode together; an identity known by its inode alone compares by inode once', () => {
    expect(sameRoot(ROOT, { dev: '2049', ino: '77' })).toBe(true);
    expect(sameRoot(ROOT, { dev: '2050', ino: '77' })).toBe(false);
    const legacy = knownRoot((k) => (k === 'root_ino' ? '77' : undefined));
    expect(legacy).toEqual({ dev: null, ino: '77' });
    expect(sameRoot(legacy!, { dev: '2050', ino: '77' })).toBe(true);
    expect(sameRoot(legacy!, { dev: '2050', ino: '78' })).toBe(false);
    // Once a pass accepted the folder, both are recorded and preferred over the legacy inode.
    expect(knownRoot((k) => ({ root_id: '2049:77', root_ino: '5' })[k])).toEqual(ROOT);
  });

  it('a plan records the folder it accepted, so a legacy inode-only index is upgraded', () => {
    const plan = batch(rows(1), [], { known: { dev: null, ino: '77' } });
    expect(plan.rootToRecord).toEqual(ROOT);
  });
});
