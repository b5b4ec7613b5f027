/**
 * Property tests of the planner without the network or the disk: a simulated world (folder
 * contents, remote files, an index in :memory: sqlite) is planned, applied with the real
 * applyPlan, and its jobs run in a random order against an in-memory remote. The planner must
 * terminate, converge, never delete a remote file the index does not own, and respect the
 * deletion-safety limits.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IndexStore } from '../../src/store/store.js';
import type { LocalObservation } from '../../src/store/types.js';
import { applyPlan } from '../../src/jobs/apply-plan.js';
import { remoteNameFor } from '../../src/plan/naming.js';
import { planSync, type LocalSnapshot, type PlanOptions, type RemoteFile } from '../../src/plan/plan.js';
import { planOptions } from '../helpers/plan-inputs.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

interface World {
  local: Map<string, string>; // path -> content
  remote: Map<string, RemoteFile & { sha256: string }>;
  index: IndexStore;
  clock: number;
  nextId: number;
  /** Remote files that existed before and were not ours: must survive unless deleteUnmanaged. */
  foreign: Set<string>;
}

/** The owner tag our simulated uploads carry. */
const OWNER = '0a0b0c0d';

const OPTIONS = planOptions({ maxDeleteFloor: 3, ownerTag: OWNER });

function snapshot(w: World): LocalSnapshot {
  const files = new Map<string, LocalObservation>();
  for (const [p, c] of w.local) files.set(p, { path: p, size: c.length, mtimeMs: 1, ino: 1, sha256: sha(c) });
  return { files, skipped: new Map(), unreadable: new Set(), unreadableDirs: [], rootMissing: false };
}

function storeRemote(w: World, filename: string, content: string): RemoteFile & { sha256: string } {
  const f = {
    id: `file_${w.nextId++}`,
    filename,
    size: content.length,
    createdAt: w.clock++,
    expiresAt: null,
    sha256: sha(content),
  };
  w.remote.set(f.id, f);
  return f;
}

/** Runs one pass: plan, apply, then every job in `order` (a permutation seed). */
function pass(w: World, options: PlanOptions, order: number, deleted: string[]): ReturnType<typeof planSync> {
  const plan = planSync({
    rows: w.index.all(),
    intents: w.index.intents(),
    pendingDeletes: w.index.pendingDeletes(),
    local: snapshot(w),
    remote: w.remote,
    now: w.clock,
    options,
  });
  const applied = applyPlan(w.index, plan, w.clock);
  type Job = { kind: 'upload'; path: string } | { kind: 'delete'; fileId: string };
  const jobs: Job[] = [
    ...applied.uploads.map((path) => ({ kind: 'upload' as const, path })),
    ...applied.deletes.map((d) => ({ kind: 'delete' as const, fileId: d.fileId })),
  ];
  // A deterministic shuffle from `order`.
  let seed = order + 1;
  for (let i = jobs.length - 1; i > 0; i -= 1) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const j = seed % (i + 1);
    [jobs[i], jobs[j]] = [jobs[j] as Job, jobs[i] as Job];
  }
  const runDelete = (fileId: string) => {
    expect(w.index.ownedFileIds().has(fileId), `deleting ${fileId}, which the index does not own`).toBe(true);
    w.remote.delete(fileId);
    deleted.push(fileId);
    w.index.retireDelete(fileId);
  };
  for (const job of jobs) {
    if (job.kind === 'delete') {
      if (w.index.pendingDeletes().some((d) => d.fileId === job.fileId)) runDelete(job.fileId);
      continue;
    }
    const row = w.index.get(job.path);
    if (!row || row.sha256 === null || (row.fileId && row.remoteSha256 === row.sha256)) continue;
    const content = w.local.get(job.path) as string;
    const name = remoteNameFor(job.path, row.sha256, OWNER);
    const intent = w.index.recordIntent({
      path: job.path,
      remoteName: name,
      size: row.size,
      sha256: row.sha256,
      startedAt: w.clock,
    });
    const f = storeRemote(w, name, content);
    const superseded = w.index.commitUpload(intent.id, {
      path: job.path,
      fileId: f.id,
      remoteName: name,
      size: f.size,
      sha256: f.sha256,
      createdAt: f.createdAt,
      expiresAt: null,
    });
    if (superseded) runDelete(superseded.fileId);
  }
  return plan;
}

function newWorld(local: Map<string, string>): World {
  return { local, remote: new Map(), index: IndexStore.open(':memory:'), clock: 1000, nextId: 1, foreign: new Set() };
}

/** Uploads whose response was lost: an intent and a stored file the index never heard of (for paths `after` holds). */
function loseUploads(w: World, paths: readonly string[], after: Readonly<Record<string, string>>): void {
  for (const p of paths) {
    const c = after[p];
    if (c === undefined) continue;
    const name = remoteNameFor(p, sha(c), OWNER);
    w.index.recordIntent({ path: p, remoteName: name, size: c.length, sha256: sha(c), startedAt: w.clock });
    storeRemote(w, name, c);
  }
}

function checkConverged(w: World, deleteUnmanaged: boolean): void {
  const owned = w.index.ownedFileIds();
  for (const [p, c] of w.local) {
    const row = w.index.get(p);
    expect(row?.state, p).toBe('synced');
    const copies = [...w.remote.values()].filter(
      (f) => f.filename === remoteNameFor(p, sha(c), OWNER) && owned.has(f.id),
    );
    expect(
      copies.map((f) => f.id),
      `one remote copy of ${p}`,
    ).toEqual([row?.fileId]);
    expect(w.remote.get(row?.fileId as string)?.sha256).toBe(sha(c));
  }
  // Nothing owned beyond one copy per local file; no queued delete left.
  expect(w.index.pendingDeletes()).toEqual([]);
  expect(w.index.intents()).toEqual([]);
  for (const id of w.remote.keys()) {
    if (w.foreign.has(id)) continue;
    expect(owned.has(id), `remote ${id} is neither ours nor foreign`).toBe(true);
  }
  if (!deleteUnmanaged) for (const id of w.foreign) expect(w.remote.has(id), `foreign ${id} kept`).toBe(true);
}

const pathArb = fc.constantFrom(
  'a.txt',
  'b.md',
  'dir/c.pdf',
  'dir/sub/d.txt',
  'e e.txt',
  'ünï.txt',
  'x/y/z.bin',
  'f.json',
);
const contentArb = fc.constantFrom('', 'one', 'two', 'three', 'four four');

const worldArb = fc.record({
  before: fc.dictionary(pathArb, contentArb, { maxKeys: 8 }),
  after: fc.dictionary(pathArb, contentArb, { maxKeys: 8 }),
  foreign: fc.array(fc.tuple(pathArb, contentArb), { maxLength: 3 }),
  lostUploads: fc.array(pathArb, { maxLength: 3 }),
  order: fc.nat(1000),
});

describe('planner properties', () => {
  it('converges in any job order, never deletes what it does not own, and leaves foreign files alone', () => {
    fc.assert(
      fc.property(worldArb, ({ before, after, foreign, lostUploads, order }) => {
        const w = newWorld(new Map(Object.entries(before)));
        try {
          for (const [p, c] of foreign)
            w.foreign.add(storeRemote(w, remoteNameFor(`foreign/${p}`, sha(c), null), c).id);
          const deleted: string[] = [];
          const all = { ...OPTIONS, allowMassDelete: true };
          for (let i = 0; i < 3; i += 1) pass(w, all, order + i, deleted);
          checkConverged(w, false);
          loseUploads(w, lostUploads, after);
          w.local = new Map(Object.entries(after));
          let passes = 0;
          for (;;) {
            const plan = pass(w, all, order + 10 + passes, deleted);
            passes += 1;
            if (
              plan.uploads.length === 0 &&
              plan.deletes.length === 0 &&
              plan.removals.length === 0 &&
              plan.adoptions.length === 0 &&
              plan.intentsDone.length === 0
            )
              break;
            expect(passes, 'terminates within a few passes').toBeLessThan(5);
          }
          checkConverged(w, false);
          for (const id of w.foreign) expect(deleted).not.toContain(id);
        } finally {
          w.index.close();
        }
      }),
      { numRuns: 150 },
    );
  });

  it("plans the same from the index's compact rows and the listing table as from full rows and a Map", () => {
    const variants: PlanOptions[] = [
      OPTIONS,
      { ...OPTIONS, adopt: true },
      { ...OPTIONS, adopt: true, deleteUnmanaged: true },
      { ...OPTIONS, deleteOrphans: true, freshIndex: true },
    ];
    fc.assert(
      fc.property(worldArb, fc.nat(variants.length - 1), ({ before, after, foreign, lostUploads, order }, variant) => {
        const w = newWorld(new Map(Object.entries(before)));
        try {
          for (const [p, c] of foreign)
            w.foreign.add(storeRemote(w, remoteNameFor(`foreign/${p}`, sha(c), null), c).id);
          pass(w, { ...OPTIONS, allowMassDelete: true }, order, []);
          loseUploads(w, lostUploads, after);
          // Stray copies of ours that no row references (orphans), and one the index lost.
          storeRemote(w, remoteNameFor('gone.txt', sha('old'), OWNER), 'old');
          w.local = new Map(Object.entries(after));
          const listed = [...w.remote.values()].map((f) => ({
            id: f.id,
            filename: f.filename,
            size: f.size,
            createdAt: f.createdAt,
            expiresAt: f.expiresAt,
            mimeType: null,
          }));
          const table = w.index.listingTable();
          table.add(listed.slice(0, 2));
          table.add(listed.slice(2));
          const input = {
            intents: w.index.intents(),
            pendingDeletes: w.index.pendingDeletes(),
            local: snapshot(w),
            now: w.clock,
            options: variants[variant] as PlanOptions,
          };
          const fromMap = planSync({ ...input, rows: w.index.all(), remote: new Map(listed.map((f) => [f.id, f])) });
          const fromTable = planSync({ ...input, rows: w.index.planRows(), remote: table });
          expect(fromTable).toEqual(fromMap);
          expect(table.size).toBe(listed.length);
        } finally {
          w.index.close();
        }
      }),
      { numRuns: 100 },
    );
  });

  it('a lost upload is adopted, not uploaded again', () => {
    const w = newWorld(new Map([['doc.txt', 'hello']]));
    const name = remoteNameFor('doc.txt', sha('hello'), OWNER);
    w.index.recordIntent({ path: 'doc.txt', remoteName: name, size: 5, sha256: sha('hello'), startedAt: w.clock });
    const stored = storeRemote(w, name, 'hello');
    const plan = pass(w, OPTIONS, 0, []);
    expect(plan.adoptions.map((a) => a.file.id)).toEqual([stored.id]);
    expect(plan.uploads).toEqual([]);
    expect(w.remote.size).toBe(1);
    expect(w.index.get('doc.txt')?.fileId).toBe(stored.id);
    w.index.close();
  });

  it('holds deletes when more than the allowed share of files vanished at once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 40 }), fc.integer({ min: 0, max: 40 }), (n, gone) => {
        const vanish = Math.min(gone, n);
        const w = newWorld(new Map());
        try {
          for (let i = 0; i < n; i += 1) w.local.set(`f${i}.txt`, `content ${i}`);
          pass(w, OPTIONS, 1, []);
          for (let i = 0; i < vanish; i += 1) w.local.delete(`f${i}.txt`);
          const deleted: string[] = [];
          const plan = pass(w, OPTIONS, 2, deleted);
          const allowed = vanish <= OPTIONS.maxDeleteFloor || (vanish / n) * 100 <= OPTIONS.maxDeletePercent;
          if (allowed) {
            expect(deleted.length).toBe(vanish);
            expect(plan.held).toBeNull();
          } else {
            expect(deleted).toEqual([]);
            expect(plan.held?.count).toBe(vanish);
            expect(plan.held?.message).toMatch(/--allow-mass-delete/);
          }
        } finally {
          w.index.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it('a missing folder deletes nothing', () => {
    const w = newWorld(new Map([['a.txt', 'a']]));
    pass(w, OPTIONS, 0, []);
    const plan = planSync({
      rows: w.index.all(),
      intents: [],
      pendingDeletes: [],
      local: { files: new Map(), skipped: new Map(), unreadable: new Set(), unreadableDirs: [], rootMissing: true },
      remote: w.remote,
      now: w.clock,
      options: { ...OPTIONS, allowMassDelete: true },
    });
    expect(plan.removals).toEqual([]);
    expect(plan.deletes).toEqual([]);
    expect(plan.held?.message).toMatch(/missing/);
    w.index.close();
  });

  it('files under an unreadable directory are not treated as removed', () => {
    const w = newWorld(
      new Map([
        ['locked/a.txt', 'a'],
        ['b.txt', 'b'],
      ]),
    );
    pass(w, OPTIONS, 0, []);
    const snap = snapshot({ ...w, local: new Map([['b.txt', 'b']]) });
    const plan = planSync({
      rows: w.index.all(),
      intents: [],
      pendingDeletes: [],
      local: { ...snap, unreadableDirs: ['locked'] },
      remote: w.remote,
      now: w.clock,
      options: OPTIONS,
    });
    expect(plan.removals).toEqual([]);
    w.index.close();
  });

  it('an expired remote copy is uploaded again and the expired one deleted', () => {
    const w = newWorld(new Map([['a.txt', 'a']]));
    pass(w, OPTIONS, 0, []);
    const row = w.index.get('a.txt');
    const f = w.remote.get(row?.fileId as string);
    if (f) f.expiresAt = w.clock - 1;
    const plan = pass(w, OPTIONS, 0, []);
    expect(plan.uploads.map((u) => u.reason)).toEqual(['expired']);
    expect(plan.deletes.map((d) => d.reason)).toEqual(['expired']);
    expect(w.index.get('a.txt')?.fileId).not.toBe(row?.fileId);
    expect(w.remote.has(row?.fileId as string)).toBe(false);
    w.index.close();
  });

  it('unmanaged files are adopted only when asked, and deleted only when asked', () => {
    const w = newWorld(new Map([['a.txt', 'a']]));
    const match = storeRemote(w, remoteNameFor('a.txt', sha('a'), null), 'a');
    const other = storeRemote(w, 'someone-elses.pdf', 'zzz');
    const plain = planSync({
      rows: [],
      intents: [],
      pendingDeletes: [],
      local: snapshot(w),
      remote: w.remote,
      now: w.clock,
      options: OPTIONS,
    });
    expect(plain.adoptions).toEqual([]);
    expect(plain.unmanaged.map((f) => f.id).sort()).toEqual([match.id, other.id].sort());
    const adopt = planSync({
      rows: [],
      intents: [],
      pendingDeletes: [],
      local: snapshot(w),
      remote: w.remote,
      now: w.clock,
      options: { ...OPTIONS, adopt: true },
    });
    expect(adopt.adoptions.map((a) => a.file.id)).toEqual([match.id]);
    expect(adopt.uploads).toEqual([]);
    expect(adopt.unmanaged.map((f) => f.id)).toEqual([other.id]);
    const del = planSync({
      rows: [],
      intents: [],
      pendingDeletes: [],
      local: snapshot(w),
      remote: w.remote,
      now: w.clock,
      options: { ...OPTIONS, adopt: true, deleteUnmanaged: true },
    });
    expect(del.deletes.map((d) => [d.fileId, d.reason])).toEqual([[other.id, 'unmanaged']]);
    w.index.close();
  });
});
