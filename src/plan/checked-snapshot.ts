/**
 * A watcher batch as the planner sees it: the settled paths, checked one by one, become a local
 * snapshot scoped to those paths (pure). Paths found missing are gathered for a moment before
 * they are planned (see the engine), so an `rm -rf` arriving in several batches is judged whole.
 */
import type { CheckPathResult } from '../scan/check-path.js';
import type { LocalObservation } from '../store/types.js';
import type { LocalSnapshot, SkippedFile } from './plan.js';

export interface CheckedPath {
  path: string;
  result: CheckPathResult;
}

/** The snapshot of a batch: only its paths; a path missing here is simply absent from it. */
export function batchSnapshot(checked: readonly CheckedPath[]): LocalSnapshot {
  const files = new Map<string, LocalObservation>();
  const skipped = new Map<string, SkippedFile>();
  const unreadable = new Set<string>();
  for (const { path, result } of checked) {
    if (result.kind === 'file') files.set(path, result.obs);
    else if (result.kind === 'skipped')
      skipped.set(path, { reason: result.reason, size: result.size, mtimeMs: result.mtimeMs, ino: result.ino });
    else if (result.kind === 'error') unreadable.add(path);
  }
  return { files, skipped, unreadable, unreadableDirs: [], rootMissing: false };
}
