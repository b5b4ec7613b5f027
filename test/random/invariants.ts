/**
 * The end-of-sequence check: the shared engine invariants (test/helpers/engine-harness.ts
 * checkInvariants) over the remote files we manage, plus what the randomized runs count: files
 * lost or duplicated, remote files leaked, and foreign files (put there by someone else) deleted.
 */
import type { Emulator, StoredFile } from '../../src/emulator/index.js';
import type { IndexStore } from '../../src/index/store.js';
import { remoteNameFor } from '../../src/sync/naming.js';
import { checkInvariants, defaultOwnerTag, localFiles } from '../helpers/engine-harness.js';

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

export async function checkEndState(dir: string, emulator: Emulator, index: IndexStore, foreign: readonly StoredFile[]): Promise<EndState> {
  const foreignIds = new Set(foreign.map((f) => f.id));
  const all = emulator.files();
  const ours = all.filter((f) => !foreignIds.has(f.id));
  // checkInvariants reads only files() of the emulator: hand it a view without the foreign files.
  const view = { files: () => ours } as unknown as Emulator;
  const problems = await checkInvariants({ dir, emulator: view, index });

  const local = await localFiles(dir);
  const lost: string[] = [];
  const duplicated: string[] = [];
  const owners = new Set<string>();
  for (const [p, digest] of local) {
    const name = remoteNameFor(p, digest, defaultOwnerTag(dir));
    const copies = ours.filter((f) => f.filename === name && f.sha256 === digest);
    if (copies.length === 0) lost.push(p);
    if (copies.length > 1) duplicated.push(p);
    const row = index.get(p);
    if (row?.fileId) owners.add(row.fileId);
  }
  const leaked = ours.filter((f) => !owners.has(f.id)).map((f) => `${f.id} ${f.filename}`);
  const byId = new Map(all.map((f) => [f.id, f]));
  const foreignDeleted = foreign.filter((f) => byId.get(f.id)?.sha256 !== f.sha256).map((f) => `${f.id} ${f.filename}`);
  for (const f of foreignDeleted) problems.push(`foreign remote file ${f} was deleted or changed`);
  return { problems, localFiles: local.size, remoteFiles: ours.length, lost, duplicated, leaked, foreignDeleted };
}
