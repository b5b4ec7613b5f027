/**
 * The pure settle debouncer: a path is due once it has been quiet for `settleMs`. Every touch
 * pushes the path's deadline. Time comes in as an argument, so tests drive it without timers.
 *
 * A Map holds each path's current deadline; a min-heap holds (deadline, path) entries lazily:
 * a re-touch pushes a new entry and leaves the old one stale, to be skipped when it surfaces.
 * That keeps a touch at O(log n). The heap is rebuilt from the Map when stale entries outnumber
 * live ones, so memory stays O(paths) even when one file is touched a million times.
 */
interface HeapEntry {
  readonly deadline: number;
  readonly path: string;
}

export class SettleTracker {
  readonly settleMs: number;
  #deadlines = new Map<string, number>();
  #heap: HeapEntry[] = [];

  constructor(settleMs: number) {
    if (!Number.isFinite(settleMs) || settleMs < 0) {
      throw new TypeError(`Expected settleMs to be a finite number >= 0, got ${String(settleMs)} (${typeof settleMs})`);
    }
    this.settleMs = settleMs;
  }

  get size(): number {
    return this.#deadlines.size;
  }

  has(path: string): boolean {
    return this.#deadlines.has(path);
  }

  touch(path: string, now: number): void {
    const deadline = now + this.settleMs;
    this.#deadlines.set(path, deadline);
    this.#push({ deadline, path });
    if (this.#heap.length > 2 * this.#deadlines.size + 1024) this.#rebuild();
  }

  forget(path: string): void {
    this.#deadlines.delete(path);
    if (this.#deadlines.size === 0) this.#heap = [];
  }

  /** Paths quiet for settleMs at `now`, in deadline order; they leave the tracker. */
  due(now: number): string[] {
    const out: string[] = [];
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || top.deadline > now) break;
      this.#pop();
      if (this.#deadlines.get(top.path) === top.deadline) {
        this.#deadlines.delete(top.path);
        out.push(top.path);
      }
    }
    return out;
  }

  /** The earliest live deadline, or null when nothing waits. */
  nextDueAt(): number | null {
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined) return null;
      if (this.#deadlines.get(top.path) === top.deadline) return top.deadline;
      this.#pop();
    }
  }

  /** Every path still waiting, in no particular order. */
  paths(): string[] {
    return [...this.#deadlines.keys()];
  }

  #rebuild(): void {
    this.#heap = [];
    for (const [path, deadline] of this.#deadlines) this.#push({ deadline, path });
  }

  #push(entry: HeapEntry): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (p.deadline <= entry.deadline) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = entry;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && heap[r]!.deadline < heap[l]!.deadline ? r : l;
      if (heap[c]!.deadline >= last.deadline) break;
      heap[i] = heap[c]!;
      i = c;
    }
    heap[i] = last;
  }
}
