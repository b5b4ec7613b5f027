/**
 * A minimal bounded pool for the scanner: tasks may add more tasks; `onIdle()` resolves when none
 * are queued or running, or rejects with the first task error (after which nothing new starts).
 */
export class TaskPool {
  readonly #concurrency: number;
  readonly #queue: Array<() => Promise<void>> = [];
  #active = 0;
  #error: { err: unknown } | null = null;
  #waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];

  constructor(concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new TypeError(
        `Expected concurrency to be an integer >= 1, got ${String(concurrency)} (${typeof concurrency})`,
      );
    }
    this.#concurrency = concurrency;
  }

  add(task: () => Promise<void>): void {
    if (this.#error) return;
    this.#queue.push(task);
    this.#pump();
  }

  get pending(): number {
    return this.#queue.length + this.#active;
  }

  onIdle(): Promise<void> {
    if (this.#error) return Promise.reject(this.#error.err);
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  #pump(): void {
    while (this.#active < this.#concurrency && this.#queue.length > 0 && !this.#error) {
      // Last in, first out: a depth-first walk keeps the queue of directories short.
      const task = this.#queue.pop() as () => Promise<void>;
      this.#active++;
      task().then(
        () => this.#done(),
        (err: unknown) => {
          this.#error ??= { err };
          this.#queue.length = 0;
          this.#done();
        },
      );
    }
    this.#settle();
  }

  #done(): void {
    this.#active--;
    this.#pump();
  }

  #settle(): void {
    if (this.#error) {
      if (this.#active > 0) return;
      const { err } = this.#error;
      for (const w of this.#waiters.splice(0)) w.reject(err);
    } else if (this.pending === 0) {
      for (const w of this.#waiters.splice(0)) w.resolve();
    }
  }
}
