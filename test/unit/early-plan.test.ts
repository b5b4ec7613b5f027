/**
 * Planning a reconcile's files in batches while the walk runs (src/reconcile/early-plan.ts): pure,
 * no IO. The batches must decide exactly what the full plan decides for the same paths, so that
 * the batches plus the full plan made afterwards (over the index the batches wrote, their paths
 * left out as handled, their new files told as appeared) is the full plan.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/emulator/faults/faults.js';
import { attachedRow, observedRow } from '../../src/store/row-transitions.js';
import type { FileRow, LocalObservation, RemoteDelete, UploadIntent } from '../../src/store/types.js';
import { planEarly, withDecided, type EarlyPlan } from '../../src/reconcile/early-plan.js';
import type { MoveTarget } from '../../src/plan/moves.js';
import { remoteNameFor } from '../../src/plan/naming.js';
import { planSync, type Plan, type PlanOptions } from '../../src/plan/plan.js';
import type { RemoteFile } from '../../src/plan/remote-file.js';
import * as inputs from '../helpers/plan-inputs.js';

const OWNER = '0a1b2c3d';
const NOW = 10_000_000;
const OPTIONS = inputs.planOptions({
  maxDeleteFloor: 3,
  intentSkewMs: 600_000,
  expiryMarginMs: 300_000,
  ownerTag: OWNER,
});

const sha = (content: string) => createHash('sha256').update(content).digest('hex');

function obs(path: string, content: string, ino = 1): LocalObservation {
  return { path, size: content.length, mtimeMs: 1, ino, sha256: sha(content), ctimeMs: 1 };
}

function syncedRow(path: string, content: string, fileId: string, ino = 1): FileRow {
  const s = sha(content);
  return inputs.syncedRow(
    path,
    s,
    content.length,
    { fileId, remoteName: remoteNameFor(path, s, OWNER) },
    { ino, ctimeMs: 1 },
  );
}

function copy(
  id: string,
  path: string,
  content: string,
  o: { owner?: string | null; expiresAt?: number | null; createdAt?: number } = {},
): RemoteFile {
  return {
    id,
    filename: remoteNameFor(path, sha(content), o.owner === undefined ? OWNER : o.owner),
    size: content.length,
    createdAt: o.createdAt ?? 1,
    expiresAt: o.expiresAt ?? null,
  };
}

interface World {
  rows: FileRow[];
  intents: UploadIntent[];
  pendingDeletes: RemoteDelete[];
  local: LocalObservation[];
  remote: RemoteFile[];
}

/** A batch planned against the world as the index holds it now (the listing by id and by name). */
function early(w: World, files: LocalObservation[], options: PlanOptions = OPTIONS): EarlyPlan {
  const byPath = new Map(w.rows.map((r) => [r.path, r]));
  const byId = new Map(w.remote.map((f) => [f.id, f]));
  const owned = new Set<string>([...w.pendingDeletes.map((d) => d.fileId)]);
  for (const r of w.rows) if (r.fileId) owned.add(r.fileId);
  return planEarly({
    files,
    rowOf: (p) => byPath.get(p),
    hasIntent: (p) => w.intents.some((i) => i.path === p),
    owned: (id) => owned.has(id),
    listing: { get: (id) => byId.get(id), named: (name) => w.remote.filter((f) => f.filename === name) },
    now: NOW,
    options,
  });
}

/** What the pipeline writes for a batch (observations, then adoptions), as the index would. */
function applyEarly(w: World, e: EarlyPlan): void {
  const byPath = new Map(w.rows.map((r) => [r.path, r]));
  for (const o of e.observe) byPath.set(o.path, observedRow(byPath.get(o.path), o, NOW));
  for (const a of e.adoptions) {
    const row = byPath.get(a.path) as FileRow;
    const copy = {
      path: a.path,
      fileId: a.file.id,
      remoteName: a.file.filename,
      size: a.file.size,
      sha256: a.sha256,
      createdAt: a.file.createdAt,
      expiresAt: a.file.expiresAt,
    };
    w.pendingDeletes = w.pendingDeletes.filter((d) => d.fileId !== a.file.id);
    // One queued delete per copy, as in the index's table.
    if (row.fileId !== null && row.fileId !== a.file.id && !w.pendingDeletes.some((d) => d.fileId === row.fileId)) {
      w.pendingDeletes.push({
        fileId: row.fileId,
        remoteName: row.remoteName,
        path: row.path,
        reason: 'superseded',
        queuedAt: NOW,
        attempts: 0,
        lastError: null,
      });
    }
    byPath.set(a.path, attachedRow(row, copy, NOW));
  }
  w.rows = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
}

function full(
  w: World,
  options: PlanOptions = OPTIONS,
  decided: ReadonlySet<string> = new Set(),
  appeared: MoveTarget[] = [],
): Plan {
  return planSync({
    rows: w.rows,
    intents: w.intents,
    pendingDeletes: w.pendingDeletes,
    local: {
      files: new Map(w.local.map((o) => [o.path, o])),
      skipped: new Map(),
      unreadable: new Set(),
      unreadableDirs: [],
      rootMissing: false,
    },
    remote: new Map(w.remote.map((f) => [f.id, f])),
    now: NOW,
    options,
    ...(decided.size > 0 ? { concurrent: withDecided(undefined, decided, NOW) } : {}),
    ...(appeared.length > 0 ? { appeared } : {}),
  });
}

/** The full plan made after the batches: their paths left out, their new files as appeared. */
function rest(w: World, batches: EarlyPlan[], options: PlanOptions = OPTIONS): Plan {
  const decided = new Set(batches.flatMap((e) => e.decided));
  return full(
    w,
    options,
    decided,
    batches.flatMap((e) => e.appeared),
  );
}

function clone(w: World): World {
  return {
    rows: [...w.rows],
    intents: [...w.intents],
    pendingDeletes: [...w.pendingDeletes],
    local: [...w.local],
    remote: [...w.remote],
  };
}

describe('planning a reconcile batch', () => {
  it('uploads new and changed files and leaves unchanged ones alone', () => {
    const w: World = {
      rows: [syncedRow('same.txt', 'same', 'file_same'), syncedRow('edited.txt', 'v1', 'file_v1')],
      intents: [],
      pendingDeletes: [],
      local: [obs('same.txt', 'same'), obs('edited.txt', 'v2'), obs('new.txt', 'new')],
      remote: [copy('file_same', 'same.txt', 'same'), copy('file_v1', 'edited.txt', 'v1')],
    };
    const e = early(w, w.local);
    expect(e.decided.sort()).toEqual(['edited.txt', 'new.txt', 'same.txt']);
    expect(e.uploads).toEqual([
      { path: 'edited.txt', reason: 'changed' },
      { path: 'new.txt', reason: 'new' },
    ]);
    expect(e.observe.map((o) => o.path)).toEqual(['edited.txt', 'new.txt']);
    expect(e.adoptions).toEqual([]);
  });

  it('adopts our own copy of a file after the index was lost instead of uploading it again', () => {
    const w: World = {
      rows: [],
      intents: [],
      pendingDeletes: [],
      local: [obs('a.md', 'alpha')],
      remote: [copy('file_a', 'a.md', 'alpha'), copy('file_old', 'a.md', 'older')],
    };
    const e = early(w, w.local);
    expect(e.uploads).toEqual([]);
    expect(e.adoptions.map((a) => [a.path, a.file.id, a.via])).toEqual([['a.md', 'file_a', 'owner']]);
  });

  it('never adopts a copy the index owns elsewhere or has queued for deletion', () => {
    const w: World = {
      rows: [],
      intents: [],
      pendingDeletes: [
        {
          fileId: 'file_a',
          remoteName: null,
          path: 'a.md',
          reason: 'removed',
          queuedAt: 1,
          attempts: 0,
          lastError: null,
        },
      ],
      local: [obs('a.md', 'alpha')],
      remote: [copy('file_a', 'a.md', 'alpha')],
    };
    const e = early(w, w.local);
    expect(e.adoptions).toEqual([]);
    expect(e.uploads).toEqual([{ path: 'a.md', reason: 'new' }]);
  });

  it('leaves to the full plan a path with an upload intent or whose copy is gone or expiring', () => {
    const w: World = {
      rows: [syncedRow('gone.txt', 'g', 'file_gone'), syncedRow('expiring.txt', 'x', 'file_x')],
      intents: [
        {
          id: 7,
          pathKey: 'crashed.txt',
          path: 'crashed.txt',
          remoteName: remoteNameFor('crashed.txt', sha('c'), OWNER),
          size: 1,
          sha256: sha('c'),
          startedAt: NOW - 1000,
        },
      ],
      pendingDeletes: [],
      local: [obs('gone.txt', 'g'), obs('expiring.txt', 'x'), obs('crashed.txt', 'c'), obs('fine.txt', 'f')],
      remote: [copy('file_x', 'expiring.txt', 'x', { expiresAt: NOW + 1000 })],
    };
    const e = early(w, w.local);
    expect(e.deferred.sort()).toEqual(['crashed.txt', 'expiring.txt', 'gone.txt']);
    expect(e.decided).toEqual(['fine.txt']);
  });

  it('the full plan without the early paths still pairs a file uploaded early with the path it left', () => {
    // 4 of 5 managed files renamed: as plain removals the share would hold them; as moves they go.
    const names = ['a', 'b', 'c', 'd', 'e'];
    const w: World = {
      rows: names.map((n, i) => syncedRow(`old/${n}.txt`, n, `file_${n}`, 10 + i)),
      intents: [],
      pendingDeletes: [],
      local: [...names.slice(0, 4).map((n, i) => obs(`new/${n}.txt`, n, 10 + i)), obs('old/e.txt', 'e', 14)],
      remote: names.map((n) => copy(`file_${n}`, `old/${n}.txt`, n)),
    };
    const e = early(w, w.local);
    expect(e.uploads.map((u) => u.path)).toEqual(['new/a.txt', 'new/b.txt', 'new/c.txt', 'new/d.txt']);
    applyEarly(w, e);
    const after = rest(w, [e]);
    expect(after.uploads).toEqual([]);
    expect(after.observe).toEqual([]);
    expect(after.held).toBeNull();
    expect(after.moves).toHaveLength(4);
    expect(after.removals.map((r) => r.path)).toEqual(['old/a.txt', 'old/b.txt', 'old/c.txt', 'old/d.txt']);
  });

  it('batches in any split decide what the full plan decides for their paths (random worlds, seeds replayable)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rand = seededRandom(seed);
      const w = randomWorld(rand);
      const options = { ...OPTIONS, adopt: rand() < 0.3, freshIndex: rand() < 0.5 };
      const whole = full(w, options);
      const batches: EarlyPlan[] = [];
      const got = {
        uploads: [] as Plan['uploads'],
        observe: [] as LocalObservation[],
        adoptions: [] as Plan['adoptions'],
      };
      const index = clone(w);
      // The walk hands over some of the files before it ends; the full plan takes the rest.
      const walked = Math.floor(rand() * (w.local.length + 1));
      for (let i = 0; i < walked; ) {
        const n = 1 + Math.floor(rand() * 4);
        const e = early(index, w.local.slice(i, Math.min(i + n, walked)), options);
        i += n;
        applyEarly(index, e);
        batches.push(e);
        got.uploads.push(...e.uploads);
        got.observe.push(...e.observe);
        got.adoptions.push(...e.adoptions);
      }
      const after = rest(index, batches, options);
      const superseded = new Set(
        index.pendingDeletes.filter((d) => !w.pendingDeletes.some((x) => x.fileId === d.fileId)).map((d) => d.fileId),
      );
      const byPath = <T extends { path: string }>(list: T[]) => [...list].sort((a, b) => (a.path < b.path ? -1 : 1));
      expect(byPath([...got.uploads, ...after.uploads]), `seed ${seed}`).toEqual(byPath(whole.uploads));
      expect(byPath([...got.observe, ...after.observe]), `seed ${seed}`).toEqual(byPath(whole.observe));
      const adoptions = (list: Plan['adoptions']) => byPath(list).map((a) => [a.path, a.file.id, a.via]);
      expect(adoptions([...got.adoptions, ...after.adoptions]), `seed ${seed}`).toEqual(adoptions(whole.adoptions));
      // The copies a batch's adoption replaced are queued deletes now; the whole plan's
      // adoptions queue the same when applied.
      const byId = (list: Plan['deletes']) => [...list].sort((x, y) => (x.fileId < y.fileId ? -1 : 1));
      expect(byId(after.deletes.filter((d) => !superseded.has(d.fileId))), `seed ${seed}`).toEqual(byId(whole.deletes));
      expect(after.removals, `seed ${seed}`).toEqual(whole.removals);
      expect(after.moves, `seed ${seed}`).toEqual(whole.moves);
      expect(after.held?.count ?? 0, `seed ${seed}`).toEqual(whole.held?.count ?? 0);
    }
  });
});

function randomWorld(rand: () => number): World {
  const pick = <T>(list: T[]): T => list[Math.floor(rand() * list.length)] as T;
  const contents = ['a', 'b', 'c', 'd'];
  const w: World = { rows: [], intents: [], pendingDeletes: [], local: [], remote: [] };
  let id = 0;
  for (let i = 0; i < 12; i++) {
    const path = `p${i}.txt`;
    const was = pick(contents);
    const now = pick(contents);
    const ino = 100 + i;
    if (rand() < 0.6) {
      const fileId = `file_${id++}`;
      w.rows.push(syncedRow(path, was, fileId, ino));
      const fate = rand();
      if (fate < 0.7) w.remote.push(copy(fileId, path, was));
      else if (fate < 0.85) w.remote.push(copy(fileId, path, was, { expiresAt: NOW + 1000 }));
      if (rand() < 0.1)
        w.pendingDeletes.push({
          fileId,
          remoteName: null,
          path,
          reason: 'superseded',
          queuedAt: 1,
          attempts: 0,
          lastError: null,
        });
    }
    if (rand() < 0.8) w.local.push(obs(path, now, ino));
    // Copies of some content under this path's names: ours, legacy, another owner's.
    if (rand() < 0.4)
      w.remote.push(
        copy(`file_${id++}`, path, pick(contents), {
          owner: pick([OWNER, OWNER, null, 'ffffffff']),
          createdAt: Math.floor(rand() * 100),
        }),
      );
    if (rand() < 0.15) {
      const c = pick(contents);
      w.intents.push({
        id: id++,
        pathKey: path,
        path,
        remoteName: remoteNameFor(path, sha(c), OWNER),
        size: c.length,
        sha256: sha(c),
        startedAt: 50,
      });
    }
  }
  // Now and then a copy the index points at twice (a queued delete of a live copy).
  if (rand() < 0.2 && w.rows[0]?.fileId)
    w.pendingDeletes.push({
      fileId: w.rows[0].fileId,
      remoteName: null,
      path: null,
      reason: 'orphan',
      queuedAt: 1,
      attempts: 0,
      lastError: null,
    });
  return w;
}
