/**
 * Reconcile: a full paginated listing of the remote, a fresh scan of the folder and the index,
 * compared by the pure planner (src/plan/plan.ts). This file holds the IO edges of that
 * comparison: reading the listing into the planner's shape and turning a scan into a snapshot.
 */
import type { FilesApi } from '../api/types.js';
import type { ScanResult } from '../scan/scanner.js';
import type { LocalSnapshot, SkippedFile } from '../plan/plan.js';
import { LocalFiles } from './local-files.js';
import { toRemoteFile, type RemoteFile } from '../plan/remote-file.js';

/** The listing's page size, and the size of the batches handed to the sink. */
export const LISTING_PAGE = 1000;

/** Where the listing goes, a page at a time (the index's TEMP table: src/store/listing-table.ts). */
export interface ListingSink {
  add(files: readonly RemoteFile[]): void;
}

/**
 * Reads every page of the listing (1,000 per page) into `sink`, a page at a time: only the
 * planner's fields of each file are kept, and no page outlives its hand-over, so memory does not
 * grow with the number of remote files. Returns the sink, filled.
 */
export async function listRemote<S extends ListingSink>(
  client: FilesApi,
  sink: S,
  signal?: AbortSignal,
  onListed?: (files: number) => void,
): Promise<S> {
  let page: RemoteFile[] = [];
  let listed = 0;
  for await (const f of client.list({ limit: LISTING_PAGE, ...(signal ? { signal } : {}) })) {
    page.push(toRemoteFile(f));
    onListed?.(++listed);
    if (page.length >= LISTING_PAGE) {
      sink.add(page);
      page = [];
    }
  }
  if (page.length > 0) sink.add(page);
  return sink;
}

export function snapshotFromScan(scan: ScanResult): LocalSnapshot {
  const changed = new Map<string, ScanResult['files'][number]>();
  for (const f of scan.files) changed.set(f.path, f);
  // Without unchanged rows (a scan made without unchangedAsRows) the plain map does.
  const files = scan.unchanged.size > 0 ? new LocalFiles(changed, scan.unchanged) : changed;
  const skipped = new Map<string, SkippedFile>();
  for (const s of scan.skipped) skipped.set(s.path, { reason: s.reason, size: s.size, mtimeMs: s.mtimeMs, ino: s.ino });
  const unreadable = new Set(scan.errors.map((e) => e.path));
  return { files, skipped, unreadable, unreadableDirs: scan.unreadableDirs, rootMissing: scan.rootMissing };
}
