/**
 * The index's rows as the planner reads them (PlanRow: the local facts, state and remote copy),
 * held in one map by path for a full scan and a reconcile. The map is read in one query on first
 * use and kept current by every write of the store (IndexStore tells it of each one): reading
 * whole rows one by one costs several times more on a 100,000-file rescan, and a full FileRow
 * from sqlite costs about 1.3 KB where a PlanRow costs about 0.4 KB. A failed transaction drops
 * the map (it is rebuilt on the next read), so it never holds facts the database does not.
 */
import type { Queries } from './queries.js';
import type { FileRow, FileState, PlanRow } from './types.js';

export class PlanFacts {
  #s: Queries;
  #facts: Map<string, PlanRow> | null = null;
  /** The map is still in path order (no path was added since it was read). */
  #inOrder = false;

  constructor(s: Queries) {
    this.#s = s;
  }

  /** A lookup by path, from the map (read now if it is not held). */
  lookup(): (path: string) => PlanRow | undefined {
    this.#load();
    return (path) => this.#load().get(path);
  }

  /**
   * Every row, ordered by path: the same objects the lookup reads, so a reconcile holds each row
   * once. The objects are never changed in place: a write puts a new one, so the array is a snapshot.
   */
  rows(): PlanRow[] {
    const facts = this.#load();
    // Read in path order, no path added since (a Map keeps its order): no query, no path strings.
    if (this.#inOrder) return [...facts.values()];
    const rows: PlanRow[] = [];
    for (const path of this.#s.paths.iterate()) {
      const row = facts.get(path);
      if (row) rows.push(row);
    }
    return rows;
  }

  /** Rows by path, exactly those rows() gave, while no write comes between; else null. */
  rowLookup(): ((path: string) => PlanRow | undefined) | null {
    const facts = this.#load();
    return this.#inOrder ? (path) => facts.get(path) : null;
  }

  /** The paths under the folder `relDir`, from the map: no query, no full rows, no sort. */
  pathsUnder(relDir: string): string[] {
    const prefix = `${relDir}/`;
    const out: string[] = [];
    for (const path of this.#load().keys()) if (path.startsWith(prefix)) out.push(path);
    return out;
  }

  /** The store wrote `row`. */
  put(row: FileRow): void {
    if (this.#facts && !this.#facts.has(row.path)) this.#inOrder = false;
    this.#facts?.set(row.path, planRow(row));
  }

  /** The store deleted the row of `path`. */
  delete(path: string): void {
    this.#facts?.delete(path);
  }

  /** The store set the state of `path`'s row and nothing else. */
  setState(path: string, state: FileState): void {
    const cached = this.#facts?.get(path);
    if (cached) this.#facts?.set(path, { ...cached, state });
  }

  /** A transaction failed: the map may be ahead of the database. */
  drop(): void {
    this.#facts = null;
  }

  #load(): Map<string, PlanRow> {
    if (this.#facts === null) {
      const facts = new Map<string, PlanRow>();
      for (const [
        path,
        size,
        mtimeMs,
        ino,
        sha256,
        hashedAt,
        ctimeMs,
        state,
        fileId,
        remoteName,
        remoteSha256,
        remoteExpiresAt,
        skipReason,
      ] of this.#s.planRows.iterate()) {
        facts.set(
          path,
          planRow({
            path,
            size,
            mtimeMs,
            ino,
            sha256,
            hashedAt,
            ctimeMs,
            state,
            fileId,
            remoteName,
            remoteSha256,
            remoteExpiresAt,
            skipReason,
          }),
        );
      }
      this.#facts = facts;
      this.#inOrder = true;
    }
    return this.#facts;
  }
}

const STATES: Readonly<Record<string, FileState>> = {
  pending: 'pending',
  synced: 'synced',
  failed: 'failed',
  skipped: 'skipped',
};

/**
 * A PlanRow of exactly these fields, in one shape (V8 keeps such objects compact), its remote
 * hash sharing the local hash's string when they are equal (the usual, synced case).
 */
function planRow(r: PlanRow): PlanRow {
  const sha256 = r.sha256;
  return {
    path: r.path,
    size: r.size,
    mtimeMs: r.mtimeMs,
    ino: r.ino,
    sha256,
    hashedAt: r.hashedAt ?? null,
    ctimeMs: r.ctimeMs ?? null,
    // One string per state, not one per row as sqlite returns them (100,000 rows: 2.4 MB).
    state: STATES[r.state] ?? r.state,
    fileId: r.fileId,
    remoteName: r.remoteName,
    remoteSha256: r.remoteSha256 !== null && r.remoteSha256 === sha256 ? sha256 : r.remoteSha256,
    remoteExpiresAt: r.remoteExpiresAt,
    skipReason: r.skipReason,
  };
}
