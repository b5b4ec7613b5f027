/**
 * The library entry point (`import { openIndex } from 'claude-filesync'`): read-only lookups over
 * a state directory, for Node programs that build Messages requests or agent sessions from a synced
 * folder. It opens the index read-only (sqlite in WAL mode lets readers and the daemon's writer
 * coexist), so it is safe while the daemon runs; it never writes and never sends a request.
 */
import { indexFile } from './daemon/state-files.js';
import { IndexStore } from './index/store.js';
import { contentBlockFor, toEntry } from './sync/report.js';
import type { FileEntry } from './sync/types.js';

import type { FilesyncIndex, IndexedFile, openIndex as OpenIndex } from './lib-api.js';

export type { BlockType, FilesyncIndex, IndexedFile } from './lib-api.js';

/** Opens the index in `stateDir` read-only; throws E_INDEX_MISSING when no daemon has run there. */
export const openIndex: typeof OpenIndex = (stateDir: string): FilesyncIndex => {
  const store = IndexStore.open(indexFile(stateDir), { readonly: true });
  const entryOf = (path: string): FileEntry | null => {
    const row = store.get(path);
    return row ? toEntry(row) : null;
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
    entries: (): IndexedFile[] => store.all().map(toEntry),
    close: () => store.close(),
  };
};
