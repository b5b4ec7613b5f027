/**
 * The end-of-sequence check, for one host or two sharing a workspace (issue 14): every local file
 * of each host maps to exactly one remote copy of its own with its bytes, under its name; every
 * index row is synced and points at that copy; no copy carrying a host's owner tag is left
 * unreferenced (an orphan); no host's index points at another host's copy; no foreign file (put
 * there by another tool) is deleted or changed. Counted: files lost, duplicated, leaked, foreign
 * files deleted.
 *
 * Whose copy a remote file is: by its owner tag (`~o{8 hex}~`) once the daemon writes one, the
 * host's tag read off the copies its index references; before that, by the indexes alone (a copy
 * neither index references belongs to nobody and is counted leaked once).
 */
import type { Emulator, StoredFile } from '../../src/emulator/index.js';
import type { IndexStore } from '../../src/store/store.js';
import { localFiles, testConfig } from '../helpers/engine-harness.js';
import { expectedName, ownerTagOf } from './names.js';

export interface EndState {
  problems: string[];
  localFiles: number;
  remoteFiles: number;
  /** Local files with no remote copy of their bytes under their name. */
  lost: string[];
  /** Local files with more than one such copy. */
  duplicated: string[];
  /** Remote files (ours) that are the copy of no local file. */
  leaked: string[];
  /** Foreign remote files that are gone or changed. */
  foreignDeleted: string[];
}

export interface HostsState extends EndState {
  /** Each host's owner tag as read off its copies (null before owner tags, or none referenced). */
  ownerTags: (string | null)[];
}

export interface HostView {
  dir: string;
  index: IndexStore;
  /** The host's owner tag; by default the one its configuration gives (see configuredOwnerTag). */
  ownerTag?: string | null;
}

/**
 * The owner tag the daemon on `dir` is configured with (testConfig's `sync.ownerTag`, derived from
 * this host and folder), or null while the configuration has none (before owner tags).
 */
export function configuredOwnerTag(dir: string): string | null {
  const sync = testConfig(dir, dir, 'http://127.0.0.1:9').sync as unknown as Record<string, unknown>;
  return typeof sync.ownerTag === 'string' ? sync.ownerTag : null;
}

/** One host: the check the single-host runs always made. */
export async function checkEndState(
  dir: string,
  emulator: Emulator,
  index: IndexStore,
  foreign: readonly StoredFile[],
): Promise<EndState> {
  const { ownerTags: _tags, ...end } = await checkHosts([{ dir, index }], emulator, foreign);
  return end;
}

/** The most frequent owner tag among the copies a host's index references. */
function tagOfHost(referenced: readonly StoredFile[]): string | null {
  const counts = new Map<string, number>();
  for (const f of referenced) {
    const t = ownerTagOf(f.filename);
    if (t) counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
}

export async function checkHosts(
  hosts: readonly HostView[],
  emulator: Emulator,
  foreign: readonly StoredFile[],
): Promise<HostsState> {
  const problems: string[] = [];
  const foreignIds = new Set(foreign.map((f) => f.id));
  const all = emulator.files();
  const byId = new Map(all.map((f) => [f.id, f]));
  const ours = all.filter((f) => !foreignIds.has(f.id));
  const label = (h: number, p: string) => (hosts.length > 1 ? `host${h + 1}:${p}` : p);

  const rows = hosts.map((h) => h.index.all());
  const referencedIds = rows.map((rs) => new Set(rs.flatMap((r) => (r.fileId ? [r.fileId] : []))));
  const written = rows.map((rs) =>
    tagOfHost(rs.flatMap((r) => (r.fileId && byId.has(r.fileId) ? [byId.get(r.fileId) as StoredFile] : []))),
  );
  const tags = hosts.map(
    (h, i) => (h.ownerTag !== undefined ? h.ownerTag : configuredOwnerTag(h.dir)) ?? written[i] ?? null,
  );
  for (const [i, w] of written.entries()) {
    if (w && tags[i] && w !== tags[i])
      problems.push(
        `${hosts.length > 1 ? `host${i + 1}: ` : ''}its index points mostly at copies tagged ${w}, but its owner tag is ${tags[i]}`,
      );
  }
  if (hosts.length > 1 && tags[0] && tags[0] === tags[1]) problems.push(`both hosts write the owner tag ${tags[0]}`);

  const lost: string[] = [];
  const duplicated: string[] = [];
  const leaked = new Map<string, string>();
  let localCount = 0;
  for (const [h, host] of hosts.entries()) {
    const tag = tags[h] ?? null;
    const others = referencedIds.filter((_, i) => i !== h);
    // This host's copies: by tag once names carry one; else every copy no other host references.
    const mine = ours.filter((f) => (tag ? ownerTagOf(f.filename) === tag : !others.some((ids) => ids.has(f.id))));
    const local = await localFiles(host.dir);
    localCount += local.size;
    const mineIds = new Set<string>();
    for (const [p, digest] of local) {
      const name = expectedName(p, digest, tag);
      const copies = mine.filter((f) => f.filename === name && f.sha256 === digest);
      if (copies.length === 0) lost.push(label(h, p));
      if (copies.length > 1) duplicated.push(label(h, p));
      if (copies.length !== 1) problems.push(`${label(h, p)}: ${copies.length} remote copies named ${name}`);
      const row = host.index.get(p);
      if (!row) {
        problems.push(`${label(h, p)}: no index row`);
        continue;
      }
      if (row.state !== 'synced')
        problems.push(`${label(h, p)}: state ${row.state} (${row.lastError ?? row.skipReason ?? ''})`);
      if (row.sha256 !== digest) problems.push(`${label(h, p)}: index sha ${row.sha256} != local ${digest}`);
      const f = row.fileId ? byId.get(row.fileId) : undefined;
      if (!f) problems.push(`${label(h, p)}: index file id ${row.fileId} not on the remote`);
      else {
        if (f.sha256 !== digest) problems.push(`${label(h, p)}: remote bytes differ`);
        if (foreignIds.has(f.id))
          problems.push(`${label(h, p)}: the index adopted the foreign file ${f.id} ${f.filename}`);
        if (others.some((ids) => ids.has(f.id)))
          problems.push(`${label(h, p)}: ${f.id} ${f.filename} is also another host's copy`);
        if (tag && ownerTagOf(f.filename) !== tag)
          problems.push(`${label(h, p)}: points at ${f.filename}, which carries another owner's tag`);
        mineIds.add(f.id);
      }
    }
    for (const r of rows[h] ?? [])
      if (!local.has(r.path) && r.state !== 'skipped')
        problems.push(`${label(h, r.path)}: index row has no local file (${r.state})`);
    const queued = host.index.pendingDeletes().length;
    if (queued) problems.push(`${hosts.length > 1 ? `host${h + 1}: ` : ''}${queued} deletes still queued`);
    for (const it of host.index.intents())
      problems.push(`${hosts.length > 1 ? `host${h + 1}: ` : ''}intent left: ${JSON.stringify(it)}`);
    // Orphans: a copy of this host's (by tag, or unreferenced by anyone) that no local file maps to.
    for (const f of mine) {
      if (mineIds.has(f.id)) continue;
      leaked.set(f.id, `${f.id} ${f.filename}`);
    }
  }
  // Once every host's tag is known, every copy of ours must carry one of them: a copy under an
  // unknown tag (the tag changed after a state loss?) or none is nobody's, an orphan.
  if (tags.length && tags.every(Boolean)) {
    for (const f of ours) {
      const t = ownerTagOf(f.filename);
      if (t === null || !tags.includes(t))
        leaked.set(f.id, `${f.id} ${f.filename} (owner tag ${t ?? 'none'}, no host's)`);
    }
  }
  for (const l of leaked.values())
    problems.push(
      `remote ${l} is not the copy of any local file${tags.some(Boolean) ? ' (an orphan with our tag)' : ''}`,
    );
  const foreignDeleted = foreign.filter((f) => byId.get(f.id)?.sha256 !== f.sha256).map((f) => `${f.id} ${f.filename}`);
  for (const f of foreignDeleted) problems.push(`foreign remote file ${f} was deleted or changed`);
  return {
    problems,
    localFiles: localCount,
    remoteFiles: ours.length,
    lost,
    duplicated,
    leaked: [...leaked.values()],
    foreignDeleted,
    ownerTags: tags,
  };
}

/**
 * The other target (after a switch and back): its foreign files untouched, and no two copies of
 * ours with one name and the same bytes. Its own copies stay there (the index for that target
 * keeps them); whether they are referenced is that target's business.
 */
export function checkOtherTarget(emulator: Emulator, foreign: readonly StoredFile[]): string[] {
  const problems: string[] = [];
  const foreignIds = new Set(foreign.map((f) => f.id));
  const all = emulator.files();
  const byId = new Map(all.map((f) => [f.id, f]));
  const seen = new Map<string, number>();
  for (const f of all)
    if (!foreignIds.has(f.id)) seen.set(`${f.filename} ${f.sha256}`, (seen.get(`${f.filename} ${f.sha256}`) ?? 0) + 1);
  for (const [k, n] of seen) if (n > 1) problems.push(`other target: ${n} copies of ${k.split(' ')[0]}`);
  for (const f of foreign)
    if (byId.get(f.id)?.sha256 !== f.sha256)
      problems.push(`other target: foreign remote file ${f.id} ${f.filename} was deleted or changed`);
  return problems;
}
