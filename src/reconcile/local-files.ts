/**
 * The planner's map of local files (LocalSnapshot.files) over a scan made with
 * `unchangedAsRows`: the files that changed are observations, the unchanged ones are their index
 * rows, whose facts are the file's (the scan matched them against its stat). An observation is
 * made from a row only when it is read, and dropped after use, so a pass over 100,000 unchanged
 * files holds one map entry for each of them beside the rows, not an object and a path string.
 */
import type { LocalObservation } from '../store/types.js';
import type { LocalFacts } from '../scan/scanner.js';

type UnchangedRow = LocalFacts & { sha256: string };

/** The observation the scan would have made of an unchanged file (see scanTree). */
function observationOf(path: string, row: UnchangedRow): LocalObservation {
  const obs: LocalObservation = { path, size: row.size, mtimeMs: row.mtimeMs, ino: row.ino, sha256: row.sha256 };
  // rowMatches found the row's ctime equal to the file's, so it is a number here.
  if (row.ctimeMs !== null && row.ctimeMs !== undefined) obs.ctimeMs = row.ctimeMs;
  return obs;
}

export class LocalFiles implements ReadonlyMap<string, LocalObservation> {
  readonly #changed: ReadonlyMap<string, LocalObservation>;
  readonly #unchanged: ReadonlyMap<string, UnchangedRow>;

  /** A path is in at most one of the two (the scan sees each file once). */
  constructor(changed: ReadonlyMap<string, LocalObservation>, unchanged: ReadonlyMap<string, UnchangedRow>) {
    this.#changed = changed;
    this.#unchanged = unchanged;
  }

  get size(): number {
    return this.#changed.size + this.#unchanged.size;
  }

  has(path: string): boolean {
    return this.#changed.has(path) || this.#unchanged.has(path);
  }

  get(path: string): LocalObservation | undefined {
    const obs = this.#changed.get(path);
    if (obs !== undefined) return obs;
    const row = this.#unchanged.get(path);
    return row === undefined ? undefined : observationOf(path, row);
  }

  *keys(): MapIterator<string> {
    yield* this.#changed.keys();
    yield* this.#unchanged.keys();
  }

  *values(): MapIterator<LocalObservation> {
    yield* this.#changed.values();
    for (const [path, row] of this.#unchanged) yield observationOf(path, row);
  }

  *entries(): MapIterator<[string, LocalObservation]> {
    yield* this.#changed.entries();
    for (const [path, row] of this.#unchanged) yield [path, observationOf(path, row)];
  }

  [Symbol.iterator](): MapIterator<[string, LocalObservation]> {
    return this.entries();
  }

  forEach(
    fn: (value: LocalObservation, key: string, map: ReadonlyMap<string, LocalObservation>) => void,
    thisArg?: unknown,
  ): void {
    for (const [path, obs] of this.entries()) fn.call(thisArg, obs, path, this);
  }
}
