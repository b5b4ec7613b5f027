/**
 * The keyed job queue of the sync engine, on p-queue. A key is a path (or a remote id): never
 * two jobs of one key at once, and pushes for a key that is already waiting collapse into the
 * waiting job. Jobs read the latest state (disk, index) when they run, so running one job for
 * many pushes is both safe and the point: a file saved ten times in a row is uploaded once.
 */
import PQueue from 'p-queue';
import { FilesyncError, ErrorCode } from '../errors.js';
import type { RequestGate } from '../rate/request-gate.js';

type KeyedJob = (signal: AbortSignal) => Promise<void>;

interface KeyedQueueOptions {
  /** Jobs running at once. */
  readonly concurrency: number;
  /** When given, no job starts while the gate is paused by a 429 (the gate alone decides that wait). */
  readonly gate?: RequestGate;
}

/** A push after close(), or a waiting job dropped by close(). */
class QueueClosedError extends FilesyncError {
  constructor(key: string) {
    super(ErrorCode.QueueClosed, `The sync queue is closed; the job for "${key}" did not run`, {
      hint: 'The daemon is shutting down; the next start scans the folder and picks the change up.',
    });
  }
}

interface Entry {
  readonly key: string;
  job: KeyedJob;
  readonly promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface KeyState {
  /** Pushed and not started; collapses further pushes. */
  waiting: Entry | null;
  /** Set while a job of this key runs. */
  running: { controller: AbortController; done: Promise<void> } | null;
}

function makeEntry(key: string, job: KeyedJob): Entry {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { key, job, promise, resolve, reject };
}

export class KeyedQueue {
  #pq: PQueue;
  #gate: RequestGate | undefined;
  #keys = new Map<string, KeyState>();
  #waiting = 0;
  #inFlight = 0;
  #userPaused = false;
  #closed = false;
  #closePromise: Promise<void> | undefined;
  #idleWaiters: (() => void)[] = [];
  #drainWaiters: (() => void)[] = [];

  constructor(options: KeyedQueueOptions) {
    const c = options.concurrency;
    if (!Number.isInteger(c) || c < 1) {
      throw new TypeError(`Expected concurrency to be an integer >= 1, got ${String(c)} (${typeof c})`);
    }
    this.#pq = new PQueue({ concurrency: c });
    this.#gate = options.gate;
  }

  /** Jobs pushed and not started (one per key at most). */
  get size(): number {
    return this.#waiting;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get isPaused(): boolean {
    return this.#pq.isPaused;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Runs `job` for `key` once no other job of that key runs. A push for a key already waiting
   * replaces its job with this newer one and shares its promise.
   */
  push(key: string, job: KeyedJob): Promise<void> {
    if (this.#closed) return Promise.reject(new QueueClosedError(key));
    let state = this.#keys.get(key);
    if (state === undefined) {
      state = { waiting: null, running: null };
      this.#keys.set(key, state);
    }
    if (state.waiting !== null) {
      state.waiting.job = job;
      return state.waiting.promise;
    }
    const entry = makeEntry(key, job);
    state.waiting = entry;
    this.#waiting += 1;
    // A key that runs gets its next job enqueued when the running one ends (see #run).
    if (state.running === null) this.#enqueue(entry);
    return entry.promise;
  }

  /** Resolves when nothing waits and nothing runs. */
  onIdle(): Promise<void> {
    if (this.#waiting === 0 && this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Resolves when no job runs (waiting ones may remain). With pause(), it is how a reconcile lets
   * running jobs finish so that the listing and the index agree.
   */
  onInFlightDrained(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Stops starting jobs (running ones go on) until start(). */
  pause(): void {
    this.#userPaused = true;
    this.#pq.pause();
  }

  start(): void {
    this.#userPaused = false;
    this.#resumeIfFree();
  }

  /**
   * Stops taking work: waiting jobs are dropped (their promises reject with E_QUEUE_CLOSED),
   * running ones get `graceMs` to finish, then their signal aborts. Resolves when every running
   * job has ended, or `graceMs` after the abort for a job that ignores its signal. Idempotent.
   */
  close(graceMs = 10_000): Promise<void> {
    this.#closePromise ??= this.#close(graceMs);
    return this.#closePromise;
  }

  async #close(graceMs: number): Promise<void> {
    this.#closed = true;
    this.#pq.pause();
    this.#pq.clear();
    const running: Promise<void>[] = [];
    const controllers: AbortController[] = [];
    for (const state of this.#keys.values()) {
      if (state.waiting !== null) {
        const entry = state.waiting;
        state.waiting = null;
        this.#waiting -= 1;
        entry.reject(new QueueClosedError(entry.key));
      }
      if (state.running !== null) {
        running.push(state.running.done);
        controllers.push(state.running.controller);
      }
    }
    this.#checkIdle();
    if (running.length === 0) return;
    const allDone = Promise.all(running).then(() => true);
    if (await raceTimeout(allDone, graceMs)) return;
    for (const c of controllers)
      c.abort(new FilesyncError(ErrorCode.Aborted, 'The sync queue closed before the job finished'));
    await raceTimeout(allDone, Math.max(1000, graceMs));
  }

  #enqueue(entry: Entry): void {
    // p-queue never sees a rejection: the job's outcome goes to its pusher's promise.
    void this.#pq.add(() => this.#run(entry));
  }

  async #run(entry: Entry): Promise<void> {
    const state = this.#keys.get(entry.key);
    if (state === undefined || state.waiting !== entry || this.#closed) return;
    const controller = new AbortController();
    let markDone!: () => void;
    const done = new Promise<void>((resolve) => (markDone = resolve));
    state.waiting = null;
    state.running = { controller, done };
    this.#waiting -= 1;
    this.#inFlight += 1;
    try {
      if (this.#gate) await this.#gate.whenUnpaused(controller.signal);
      await entry.job(controller.signal);
      entry.resolve();
    } catch (err) {
      entry.reject(err);
    } finally {
      state.running = null;
      this.#inFlight -= 1;
      markDone();
      if (state.waiting !== null) {
        if (!this.#closed) this.#enqueue(state.waiting);
      } else {
        this.#keys.delete(entry.key);
      }
      this.#checkIdle();
    }
  }

  #resumeIfFree(): void {
    if (this.#closed || this.#userPaused) return;
    this.#pq.start();
  }

  #checkIdle(): void {
    if (this.#inFlight === 0 && this.#drainWaiters.length > 0) {
      const drained = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const resolve of drained) resolve();
    }
    if (this.#waiting !== 0 || this.#inFlight !== 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

async function raceTimeout(promise: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
