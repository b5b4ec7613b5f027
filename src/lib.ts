/**
 * The library entry point (`import { openIndex } from 'claude-filesync'`): read-only lookups over
 * a state directory, for Node programs that build Messages requests or agent sessions from a synced
 * folder. It opens the index read-only (sqlite in WAL mode lets readers and the daemon's writer
 * coexist), so it is safe while the daemon runs; it never writes and never sends a request.
 */
import { indexFile, legacyIndexFile, targetIndexes, targetKey } from './state-dir/state-files.js';
import { ErrorCode, FilesyncError } from './errors.js';
import { IndexStore } from './store/store.js';
import { contentBlockFor, readHeld, toEntry } from './engine/report.js';
import type { FileEntry } from './engine/contract.js';

import type { FilesyncIndex, IndexedFile, OpenIndexOptions, openIndex as OpenIndex } from './lib-api.js';

export type { BlockType, FilesyncIndex, IndexedFile, OpenIndexOptions } from './lib-api.js';

/** The index file of the asked target, or the only one in the state directory. */
function indexFor(stateDir: string, target: string | undefined): string {
  if (target !== undefined) {
    return indexFile(
      stateDir,
      targetKey(target === 'emulator' ? { target: 'emulator', baseURL: '' } : { target: 'api', baseURL: target }),
    );
  }
  const files = targetIndexes(stateDir);
  if (files.length === 1) return files[0] as string;
  // None per target: a state directory from before per-target indexes (or none, which opening reports as E_INDEX_MISSING).
  if (files.length === 0) return legacyIndexFile(stateDir);
  throw new FilesyncError(ErrorCode.Config, `${stateDir} holds the indexes of ${files.length} targets`, {
    hint: "pass { target: 'emulator' } or { target: '<the API base URL>' } to openIndex",
  });
}

/** Opens the index in `stateDir` read-only; throws E_INDEX_MISSING when no daemon has run there. */
export const openIndex: typeof OpenIndex = (stateDir: string, options: OpenIndexOptions = {}): FilesyncIndex => {
  const store = IndexStore.open(indexFor(stateDir, options.target), { readonly: true });
  const entryOf = (path: string): FileEntry | null => {
    const row = store.get(path);
    return row ? toEntry(row, readHeld(store)) : null;
  };
  return {
    fileIdOf(path) {
      const e = entryOf(path);
      return e && e.state === 'synced' ? e.fileId : null;
    },
    blockOf(path) {
      const e = entryOf(path);
      return e ? contentBlockFor(e) : null;
    },
    entries: (): IndexedFile[] => {
      const held = readHeld(store);
      return store.all().map((r) => toEntry(r, held));
    },
    close: () => store.close(),
  };
};
