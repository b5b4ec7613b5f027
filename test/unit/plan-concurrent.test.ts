/**
 * A full pass planned while the watcher path kept working (src/plan/plan-concurrent.ts), pure:
 * what the watcher path handled, stored and deleted since the pass began is never undone or done
 * twice by the pass's older listing and scan.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { FileRow, LocalObservation, UploadIntent } from '../../src/store/types.js';
import { remoteNameFor } from '../../src/plan/naming.js';
import { scanChanges } from '../../src/plan/plan-concurrent.js';
import {
  planSync,
  type ConcurrentChanges,
  type LocalSnapshot,
  type PlanInput,
  type PlanOptions,
  type RemoteFile,
} from '../../src/plan/plan.js';
import { planOptions, syncedRow } from '../helpers/plan-inputs.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const OURS = 'aaaa0001';
const NOW = 10_000_000;
const SINCE = NOW - 20_000;

const OPTIONS = planOptions({ ownerTag: OURS, freshIndex: false });

function snapshot(files: Record<string, string>): LocalSnapshot {
  const map = new Map<string, LocalObservation>();
  for (const [p, c] of Object.entries(files))
    map.set(p, { path: p, size: c.length, mtimeMs: c.length, ino: 1, sha256: sha(c) });
  return { files: map, skipped: new Map(), unreadable: new Set(), unreadableDirs: [], rootMissing: false };
}

function listed(
  ...files: { id: string; path: string; content: string; createdAt?: number }[]
): Map<string, RemoteFile> {
  return new Map(
    files.map((f) => [
      f.id,
      {
        id: f.id,
        filename: remoteNameFor(f.path, sha(f.content), OURS),
        size: f.content.length,
        createdAt: f.createdAt ?? NOW - 60_000,
        expiresAt: null,
      },
    ]),
  );
}

function row(path: string, content: string, fileId: string): FileRow {
  const copy = { fileId, remoteName: remoteNameFor(path, sha(content), OURS) };
  return syncedRow(path, sha(content), content.length, copy, {
    mtimeMs: content.length,
    remoteCreatedAt: NOW - 5000,
    updatedAt: NOW - 5000,
  });
}

function changes(over: Partial<ConcurrentChanges> = {}): ConcurrentChanges {
  return { since: SINCE, handled: new Set(), stored: new Set(), gone: new Set(), liveAtStart: new Set(), ...over };
}

function plan(over: Partial<PlanInput> & Pick<PlanInput, 'local' | 'remote'>, options: Partial<PlanOptions> = {}) {
  return planSync({
    rows: [],
    intents: [],
    pendingDeletes: [],
    now: NOW,
    ...over,
    options: { ...OPTIONS, ...options },
  });
}

describe('planning a pass that ran while the watcher path worked', () => {
  it('a row whose copy was stored after the listing began is not judged missing (no second upload)', () => {
    const input = { rows: [row('a.txt', 'new', 'file_new')], local: snapshot({ 'a.txt': 'new' }), remote: listed() };
    // Without the facts: the copy looks gone and is uploaded again.
    expect(plan(input).uploads.map((u) => [u.path, u.reason])).toEqual([['a.txt', 'missing-remote']]);
    const p = plan({ ...input, concurrent: changes({ stored: new Set(['file_new']) }) });
    expect(p.remoteGone).toEqual([]);
    expect(p.uploads).toEqual([]);
  });

  it("a path the watcher path handled is left to it: the scan's older content is neither observed nor uploaded", () => {
    const input = {
      rows: [row('a.txt', 'new!', 'file_new')],
      local: snapshot({ 'a.txt': 'old' }),
      remote: listed({ id: 'file_new', path: 'a.txt', content: 'new!' }),
    };
    expect(plan(input).uploads.map((u) => u.path)).toEqual(['a.txt']);
    const p = plan({ ...input, concurrent: changes({ handled: new Set(['a.txt']), stored: new Set(['file_new']) }) });
    expect(p.observe).toEqual([]);
    expect(p.uploads).toEqual([]);
    expect(p.removals).toEqual([]);
    // Its copy is still ours: never an orphan, even with a fresh index that deletes orphans.
    expect(
      plan({ ...input, concurrent: changes({ handled: new Set(['a.txt']) }) }, { freshIndex: true }).deletes,
    ).toEqual([]);
  });

  it('a file the watcher path removed during the listing is not adopted back from the listing', () => {
    // b.txt: seen by the scan, then removed; its row went and its copy was deleted meanwhile,
    // but the listing was read before the delete.
    const input = {
      rows: [],
      local: snapshot({ 'b.txt': 'beta' }),
      remote: listed({ id: 'file_b', path: 'b.txt', content: 'beta' }),
    };
    expect(plan(input).adoptions.map((a) => a.path)).toEqual(['b.txt']);
    const p = plan({ ...input, concurrent: changes({ handled: new Set(['b.txt']), gone: new Set(['file_b']) }) });
    expect(p.adoptions).toEqual([]);
    expect(p.uploads).toEqual([]);
    expect(p.orphans).toEqual([]);
    expect(p.deletes).toEqual([]);
  });

  it('a superseded copy deleted during the listing is no orphan and is not deleted again', () => {
    const input = {
      rows: [row('a.txt', 'v2', 'file_v2')],
      local: snapshot({ 'a.txt': 'v2' }),
      remote: listed({ id: 'file_v1', path: 'a.txt', content: 'v1' }, { id: 'file_v2', path: 'a.txt', content: 'v2' }),
    };
    expect(plan(input, { freshIndex: true }).deletes.map((d) => d.fileId)).toEqual(['file_v1']);
    const p = plan({ ...input, concurrent: changes({ gone: new Set(['file_v1']) }) }, { freshIndex: true });
    expect(p.deletes).toEqual([]);
    expect(p.orphans).toEqual([]);
  });

  it('a queued delete of a copy stored after the listing began is run, not retired as already gone (no leaked copy)', () => {
    // a.txt was uploaded during the pass (file_v1), then changed again: file_v2 replaced it and
    // file_v1's delete was queued. The listing, read before either existed, shows neither.
    const pendingDeletes = [
      {
        fileId: 'file_v1',
        remoteName: remoteNameFor('a.txt', sha('v1'), OURS),
        path: 'a.txt',
        reason: 'superseded' as const,
        queuedAt: NOW - 1000,
        attempts: 0,
        lastError: null,
      },
    ];
    const input = {
      rows: [row('a.txt', 'v2', 'file_v2')],
      pendingDeletes,
      local: snapshot({ 'a.txt': 'v2' }),
      remote: listed(),
    };
    const p = plan({
      ...input,
      concurrent: changes({ handled: new Set(['a.txt']), stored: new Set(['file_v1', 'file_v2']) }),
    });
    expect(p.retire).toEqual([]);
    expect(p.deletes.map((d) => d.fileId)).toEqual(['file_v1']);
    // A queued delete whose copy was listed at no time and stored before the pass is gone: retired.
    expect(
      plan({ ...input, concurrent: changes({ handled: new Set(['a.txt']), stored: new Set(['file_v2']) }) }).retire,
    ).toEqual(['file_v1']);
  });

  it('a mass delete of files with equal content is held: the guard counts files by inode, not by content', () => {
    const rows = Array.from({ length: 20 }, (_, i) => ({ ...row(`empty${i}.txt`, '', `file_${i}`), ino: 100 + i }));
    const p = plan({
      rows,
      local: snapshot({}),
      remote: listed(...rows.map((r) => ({ id: r.fileId as string, path: r.path, content: '' }))),
    });
    expect(p.removals.filter((r) => r.fileId !== null)).toEqual([]);
    expect(p.held?.count).toBe(20);
    // The same file under two paths (moved, then removed with its new path) counts once: 10 files, at the floor.
    const moved = Array.from({ length: 10 }, (_, i) => [
      { ...row(`x/f${i}.txt`, `c${i}`, `file_x${i}`), ino: 200 + i },
      { ...row(`y/f${i}.txt`, `c${i}`, `file_y${i}`), ino: 200 + i },
    ]).flat();
    const q = plan({
      rows: moved,
      local: snapshot({}),
      remote: listed(
        ...moved.map((r) => ({
          id: r.fileId as string,
          path: r.path,
          content: r.path.slice(2).replace('f', 'c').replace('.txt', ''),
        })),
      ),
    });
    expect(q.held).toBeNull();
    expect(q.removals).toHaveLength(20);
  });

  it('an upload that began during the pass keeps its intent, and its listed copy is no orphan', () => {
    const intent: UploadIntent = {
      id: 7,
      path: 'c.txt',
      pathKey: 'c.txt',
      remoteName: remoteNameFor('c.txt', sha('gamma'), OURS),
      size: 5,
      sha256: sha('gamma'),
      startedAt: SINCE + 1000,
    };
    const early: UploadIntent = { ...intent, id: 6, startedAt: SINCE - 1000 };
    const input = {
      rows: [],
      intents: [intent, early],
      local: snapshot({}),
      remote: listed({ id: 'file_c', path: 'c.txt', content: 'gamma', createdAt: SINCE + 2000 }),
    };
    expect(plan(input, { freshIndex: true }).intentsDone.sort()).toEqual([6, 7]);
    const p = plan({ ...input, concurrent: changes({ liveAtStart: new Set([6]) }) }, { freshIndex: true });
    expect(p.intentsDone).toEqual([]);
    expect(p.deletes).toEqual([]);
    expect(p.orphans).toEqual([]);
  });

  it('a held path the watcher path handled stays held', () => {
    const rows = [row('gone.txt', 'x', 'file_x')];
    const p = plan({
      rows,
      local: snapshot({}),
      remote: listed({ id: 'file_x', path: 'gone.txt', content: 'x' }),
      held: new Set(['gone.txt']),
      concurrent: changes({ handled: new Set(['gone.txt']) }),
    });
    expect(p.removals).toEqual([]);
    expect(p.heldPaths).toEqual(['gone.txt']);
  });

  it('without concurrent facts the plan is the same as before', () => {
    const input = {
      rows: [row('a.txt', 'one', 'file_1')],
      local: snapshot({ 'a.txt': 'one', 'n.txt': 'new' }),
      remote: listed({ id: 'file_1', path: 'a.txt', content: 'one' }),
    };
    expect(plan({ ...input, concurrent: changes() })).toEqual(plan(input));
  });
});

describe('scan changes handed to the watcher path ahead of the listing', () => {
  const facts = new Map([
    ['same.txt', { size: 3, mtimeMs: 3, ino: 1, sha256: sha('one') }],
    ['edited.txt', { size: 3, mtimeMs: 3, ino: 2, sha256: sha('two') }],
  ]);
  const obs = (p: string, content: string, ino: number) => ({
    path: p,
    size: content.length,
    mtimeMs: content.length,
    ino,
    sha256: sha(content),
  });

  it('are the new and changed files, not the unchanged ones', () => {
    const files = [obs('same.txt', 'one', 1), obs('edited.txt', 'twoo', 2), obs('new.txt', 'n', 3)];
    expect(scanChanges(files, (p) => facts.get(p))).toEqual(['edited.txt', 'new.txt']);
  });

  it('are left to the plan when there are more than the limit', () => {
    const files = Array.from({ length: 5 }, (_, i) => obs(`n${i}.txt`, 'x', i));
    expect(scanChanges(files, (p) => facts.get(p), 4)).toBeNull();
    expect(scanChanges(files, (p) => facts.get(p), 5)).toHaveLength(5);
  });
});
