/**
 * The held set: paths whose file is gone but whose remote delete deletion safety withheld. It is
 * kept in the index (meta `held_deletes`), so a held delete stays held until the user says
 * `--allow-mass-delete` or the file comes back: a later pass must not release it because new
 * uploads diluted the share, and `ls`, `status` and `id` show those paths as held, not synced.
 * Pure: parsing, formatting and the update rule; the callers read and write the meta.
 */

export const HELD_DELETES_META = 'held_deletes';

/** The message shown for held paths when the pass that held them is not known (after a restart). */
export const HELD_MESSAGE =
  'files gone from the folder are held: their remote copies are kept until you run ' +
  '`claude-filesync reconcile --allow-mass-delete` (or the files come back)';

export function parseHeld(raw: string | undefined): Set<string> {
  if (!raw) return new Set();
  try {
    const value: unknown = JSON.parse(raw);
    return new Set(Array.isArray(value) ? value.filter((p): p is string => typeof p === 'string') : []);
  } catch {
    // A damaged value holds nothing; the next plan holds again what is still gone.
    return new Set();
  }
}

export function formatHeld(held: ReadonlySet<string>): string {
  return JSON.stringify([...held].sort());
}

/**
 * The held set after a plan: paths in the plan's scope (all of them for a full pass) are replaced
 * by what the plan holds; paths outside it are kept.
 */
export function nextHeld(
  before: ReadonlySet<string>,
  scope: ReadonlySet<string> | null,
  heldNow: readonly string[],
): Set<string> {
  const next = new Set<string>();
  if (scope) for (const p of before) if (!scope.has(p)) next.add(p);
  for (const p of heldNow) next.add(p);
  return next;
}

/** Reads and writes the held set in the index meta. */
interface MetaStore {
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
}

export function readHeld(meta: Pick<MetaStore, 'getMeta'>): Set<string> {
  return parseHeld(meta.getMeta(HELD_DELETES_META));
}

/** Writes the set only when it changed (a pass that holds nothing new writes nothing). */
export function writeHeld(meta: MetaStore, held: ReadonlySet<string>): void {
  const value = formatHeld(held);
  if ((meta.getMeta(HELD_DELETES_META) ?? '[]') !== value) meta.setMeta(HELD_DELETES_META, value);
}
