/**
 * The planner's ownership rules (src/plan/plan.ts step 4), pure: which listed copies the index
 * does not own are adopted, deleted or left alone, by the owner tag in their names.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { FileRow, LocalObservation } from '../../src/store/types.js';
import { remoteNameFor } from '../../src/plan/naming.js';
import {
  planSync,
  type LocalSnapshot,
  type PlanInput,
  type PlanOptions,
  type RemoteFile,
} from '../../src/plan/plan.js';
import { planOptions, syncedRow } from '../helpers/plan-inputs.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const OURS = 'aaaa0001';
const THEIRS = 'bbbb0002';
const NOW = 10_000_000;

const OPTIONS = planOptions({ ownerTag: OURS });

function snapshot(files: Record<string, string>, extra: Partial<LocalSnapshot> = {}): LocalSnapshot {
  const map = new Map<string, LocalObservation>();
  for (const [p, c] of Object.entries(files))
    map.set(p, { path: p, size: c.length, mtimeMs: 1, ino: 1, sha256: sha(c) });
  return { files: map, skipped: new Map(), unreadable: new Set(), unreadableDirs: [], rootMissing: false, ...extra };
}

let nextId = 1;
function remote(...files: { name: string; content: string }[]): Map<string, RemoteFile> {
  const m = new Map<string, RemoteFile>();
  for (const f of files) {
    const id = `file_${nextId++}`;
    m.set(id, { id, filename: f.name, size: f.content.length, createdAt: NOW - 1000 + nextId, expiresAt: null });
  }
  return m;
}

const copy = (path: string, content: string, owner: string | null) => ({
  name: remoteNameFor(path, sha(content), owner),
  content,
});
const idOf = (r: Map<string, RemoteFile>, name: string) => [...r.values()].find((f) => f.filename === name)?.id;

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

function row(path: string, content: string, fileId: string, remoteName: string): FileRow {
  return syncedRow(
    path,
    sha(content),
    content.length,
    { fileId, remoteName },
    { remoteCreatedAt: NOW - 5000, updatedAt: NOW - 5000 },
  );
}

describe('planner ownership by owner tag', () => {
  it('adopts our own tagged copy of an unchanged file instead of uploading it again', () => {
    const r = remote(copy('a.txt', 'alpha', OURS), copy('dir/b.md', 'beta', OURS));
    const p = plan({ local: snapshot({ 'a.txt': 'alpha', 'dir/b.md': 'beta' }), remote: r });
    expect(p.adoptions.map((a) => [a.path, a.via]).sort()).toEqual([
      ['a.txt', 'owner'],
      ['dir/b.md', 'owner'],
    ]);
    expect(p.uploads).toEqual([]);
  });

  it('never adopts a tagged copy whose size differs from the local file', () => {
    const r = remote({ name: remoteNameFor('a.txt', sha('alpha'), OURS), content: 'alph' });
    const p = plan({ local: snapshot({ 'a.txt': 'alpha' }), remote: r });
    expect(p.adoptions).toEqual([]);
    expect(p.uploads.map((u) => u.path)).toEqual(['a.txt']);
    expect(p.orphans).toHaveLength(1);
  });

  it('with a fresh index, deletes our unreferenced tagged copies (older versions, removed paths) and nothing else', () => {
    const r = remote(
      copy('a.txt', 'alpha', OURS),
      copy('a.txt', 'old alpha', OURS), // an older version
      copy('gone.txt', 'gone', OURS), // a removed path
      copy('a.txt', 'alpha', THEIRS), // another host's copy of the same file
      copy('a.txt', 'alpha', null), // a legacy copy
      { name: 'holiday.jpg', content: 'x' }, // another tool's file
    );
    const p = plan({ local: snapshot({ 'a.txt': 'alpha' }), remote: r }, { freshIndex: true });
    expect(p.adoptions.map((a) => a.file.id)).toEqual([idOf(r, remoteNameFor('a.txt', sha('alpha'), OURS))]);
    expect(p.deletes.map((d) => [d.remoteName, d.reason]).sort()).toEqual(
      [
        [remoteNameFor('a.txt', sha('old alpha'), OURS), 'orphan'],
        [remoteNameFor('gone.txt', sha('gone'), OURS), 'orphan'],
      ].sort(),
    );
    expect(p.foreign.map((f) => f.filename)).toEqual([remoteNameFor('a.txt', sha('alpha'), THEIRS)]);
    expect(p.unmanaged.map((f) => f.filename).sort()).toEqual(
      [remoteNameFor('a.txt', sha('alpha'), null), 'holiday.jpg'].sort(),
    );
    expect(p.held).toBeNull();
  });

  it('with an established index, reports our unreferenced tagged copies as orphans and deletes them only when asked', () => {
    const r = remote(copy('a.txt', 'alpha', OURS), copy('a.txt', 'old alpha', OURS), copy('x.txt', 'x', THEIRS), {
      name: 'notes~0123456789.txt',
      content: 'n',
    });
    const aId = idOf(r, remoteNameFor('a.txt', sha('alpha'), OURS)) as string;
    const rows = [row('a.txt', 'alpha', aId, remoteNameFor('a.txt', sha('alpha'), OURS))];
    const quiet = plan({ rows, local: snapshot({ 'a.txt': 'alpha' }), remote: r });
    expect(quiet.orphans.map((f) => f.filename)).toEqual([remoteNameFor('a.txt', sha('old alpha'), OURS)]);
    expect(quiet.deletes).toEqual([]);
    const cleanup = plan({ rows, local: snapshot({ 'a.txt': 'alpha' }), remote: r }, { deleteOrphans: true });
    expect(cleanup.deletes.map((d) => [d.remoteName, d.reason])).toEqual([
      [remoteNameFor('a.txt', sha('old alpha'), OURS), 'orphan'],
    ]);
    expect(cleanup.orphans).toEqual([]);
    // Neither the other owner's copy nor the untagged file is touched.
    expect(cleanup.foreign.map((f) => f.filename)).toEqual([remoteNameFor('x.txt', sha('x'), THEIRS)]);
    expect(cleanup.unmanaged.map((f) => f.filename)).toEqual(['notes~0123456789.txt']);
  });

  it('--adopt adopts a legacy copy but never a copy with another owner tag', () => {
    const r = remote(copy('a.txt', 'alpha', THEIRS), copy('b.txt', 'beta', null));
    const p = plan(
      { local: snapshot({ 'a.txt': 'alpha', 'b.txt': 'beta' }), remote: r },
      { adopt: true, freshIndex: true },
    );
    expect(p.adoptions.map((a) => [a.path, a.via])).toEqual([['b.txt', 'unmanaged']]);
    expect(p.uploads.map((u) => u.path)).toEqual(['a.txt']);
    expect(p.foreign.map((f) => f.filename)).toEqual([remoteNameFor('a.txt', sha('alpha'), THEIRS)]);
    expect(p.deletes).toEqual([]);
  });

  it('--delete-unmanaged deletes untagged files and our orphans, never another owner tagged copy', () => {
    const r = remote(copy('a.txt', 'alpha', THEIRS), copy('old.txt', 'o', OURS), { name: 'holiday.jpg', content: 'x' });
    const p = plan({ local: snapshot({}), remote: r }, { deleteUnmanaged: true });
    expect(p.deletes.map((d) => [d.remoteName, d.reason]).sort()).toEqual(
      [
        ['holiday.jpg', 'unmanaged'],
        [remoteNameFor('old.txt', sha('o'), OURS), 'orphan'],
      ].sort(),
    );
    expect(p.foreign.map((f) => f.filename)).toEqual([remoteNameFor('a.txt', sha('alpha'), THEIRS)]);
  });

  it('holds orphan deletes while part of the folder is unreadable or it is missing, even when asked', () => {
    const r = remote(copy('secret/a.txt', 'a', OURS), copy('b.txt', 'b', OURS));
    for (const [extra, options] of [
      [{ unreadableDirs: ['secret'] }, { freshIndex: true }],
      [{ rootMissing: true }, { freshIndex: true }],
      [{ unreadableDirs: ['secret'] }, { freshIndex: true, deleteOrphans: true }],
      [{ rootMissing: true }, { deleteOrphans: true }],
    ] as const) {
      const p = plan({ local: snapshot({ 'b.txt': 'b' }, extra), remote: r }, options);
      expect(p.deletes).toEqual([]);
      expect(p.orphans.map((f) => f.filename)).toEqual([remoteNameFor('secret/a.txt', sha('a'), OURS)]);
      expect(p.held?.message).toMatch(/--delete-orphans/);
    }
  });

  it('with a fresh index, holds orphan deletes beyond the deletion-safety share', () => {
    const names = Array.from({ length: 12 }, (_, i) => copy(`f${i}.txt`, `c${i}`, OURS));
    const r = remote(...names, copy('keep.txt', 'k', OURS));
    const p = plan({ local: snapshot({ 'keep.txt': 'k' }), remote: r }, { freshIndex: true });
    expect(p.deletes).toEqual([]);
    expect(p.orphans).toHaveLength(12);
    expect(p.held?.count).toBe(12);
    const allowed = plan(
      { local: snapshot({ 'keep.txt': 'k' }), remote: r },
      { freshIndex: true, allowMassDelete: true },
    );
    expect(allowed.deletes).toHaveLength(12);
  });

  it('leaves the copy of a running upload alone, though it carries our tag', () => {
    const name = remoteNameFor('a.txt', sha('new'), OURS);
    const r = remote({ name, content: 'new' });
    const p = plan(
      {
        local: snapshot({ 'a.txt': 'new' }),
        remote: r,
        intents: [
          {
            id: 7,
            pathKey: 'a.txt',
            path: 'a.txt',
            remoteName: name,
            size: 3,
            sha256: sha('new'),
            startedAt: NOW - 10,
          },
        ],
        liveIntentIds: new Set([7]),
      },
      { freshIndex: true, deleteOrphans: true },
    );
    expect(p.adoptions).toEqual([]);
    expect(p.deletes).toEqual([]);
    expect(p.orphans).toEqual([]);
  });
});
