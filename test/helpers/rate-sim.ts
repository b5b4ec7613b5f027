/**
 * A deterministic discrete-event simulation of daemons sharing one Files API rate limit, in
 * virtual time: each client has its own rate controller and a number of workers, each request
 * takes a random latency, and the server is the emulator's own limiter (token bucket or strict
 * sliding window) with or without the `anthropic-ratelimit-requests-*` headers, and an optional
 * 429 storm. A seed makes every run replayable. Used by test/unit/rate-simulation.test.ts and
 * the bench (issue 9's targets in virtual time).
 */
import { createRateLimiter, type RateLimitMode } from '../../src/emulator/faults/server-limiter.js';
import { RateController, type RateAnswer } from '../../src/rate/rate-controller.js';

/** What a client's controller must offer (RateController does). */
export interface SimController {
  wait(now: number): number;
  start(now: number): void;
  answer(now: number, answer: RateAnswer): void;
}

export interface SimServer {
  readonly mode: RateLimitMode;
  readonly requestsPerMinute: number;
  /** Send `anthropic-ratelimit-requests-limit/-remaining/-reset` on every answer. @default true */
  readonly headers?: boolean;
  /** Send `retry-after-ms` next to `retry-after` on the limiter's 429s. @default true */
  readonly retryAfterMs?: boolean;
  /** Every request is answered 429 with this retry-after from `atMs` for `durationMs`. */
  readonly storm?: { readonly atMs: number; readonly durationMs: number; readonly retryAfterSeconds: number };
  /** Random faults, as the emulator's fault mix (bench case 10). */
  readonly faults?: SimFaults;
}

/**
 * The emulator's fault mix: each request is answered 500 / 529 / 429 (with `retry-after-ms`) or
 * reset with these probabilities, before the limiter is asked. The client retries a 5xx or a
 * reset after its backoff (the gate not involved); a 429 goes back through the controller, as
 * the request gate has it.
 */
export interface SimFaults {
  readonly error500Rate: number;
  readonly error529Rate: number;
  readonly error429Rate: number;
  readonly retryAfterMs: number;
  readonly resetRate: number;
}

export interface SimClient {
  /** The configured upper bound. */
  readonly requestsPerMinute: number;
  /** Requests to get accepted (one per file). */
  readonly requests: number;
  /** @default 4 */
  readonly concurrency?: number;
  /** @default 0 */
  readonly startAtMs?: number;
}

export interface SimOptions {
  readonly seed: number;
  readonly server: SimServer;
  readonly clients: readonly SimClient[];
  /** Uniform request latency, ms. @default [50, 300] */
  readonly latencyMs?: readonly [number, number];
  /** @default a RateController per client */
  readonly controller?: (client: SimClient, now: number, random: () => number) => SimController;
  /** Stop here even if work remains. @default 30 minutes */
  readonly maxTimeMs?: number;
}

export interface SimClientResult {
  readonly accepted: number;
  readonly rejected429: number;
  /** Virtual ms from the simulation's start to the last acceptance. */
  readonly finishedAtMs: number;
  readonly done: boolean;
}

export interface SimResult {
  readonly clients: readonly SimClientResult[];
  readonly accepted: number;
  readonly rejected429: number;
  /** From the first start to the last acceptance, ms. */
  readonly durationMs: number;
  /** Acceptance times (ms from the start), ascending. */
  readonly acceptedAtMs: readonly number[];
  /** The server's limit per minute. */
  readonly limit: number;
  readonly mode: RateLimitMode;
  /** Every answer (and every reset), all clients together. */
  readonly requests: number;
}

/** Small, fast, seedable (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Virtual time starts here so that RFC 3339 reset headers are ordinary dates. */
const EPOCH = Date.UTC(2026, 0, 1);

type Event =
  | { kind: 'wake'; client: number }
  | { kind: 'arrive'; client: number; startedAt: number; respondAt: number; retries: number }
  | { kind: 'respond'; client: number; startedAt: number; answer: RateAnswer; retries: number }
  | { kind: 'retry'; client: number; retries: number };

class EventQueue {
  #heap: { t: number; seq: number; e: Event }[] = [];
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  push(t: number, e: Event): void {
    const h = this.#heap;
    h.push({ t, seq: this.#seq++, e });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  pop(): { t: number; e: Event } {
    const h = this.#heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.#less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.#less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }

  #less(a: { t: number; seq: number }, b: { t: number; seq: number }): boolean {
    return a.t < b.t || (a.t === b.t && a.seq < b.seq);
  }
}

export function simulate(options: SimOptions): SimResult {
  const random = seededRandom(options.seed);
  const [latMin, latMax] = options.latencyMs ?? [50, 300];
  const server = options.server;
  const limiter = createRateLimiter(server.mode, server.requestsPerMinute, EPOCH);
  const sendHeaders = server.headers ?? true;
  const sendRetryAfterMs = server.retryAfterMs ?? true;
  const maxTime = EPOCH + (options.maxTimeMs ?? 30 * 60_000);
  const makeController =
    options.controller ??
    ((c: SimClient, now: number, rnd: () => number) =>
      new RateController({ requestsPerMinute: c.requestsPerMinute, now, random: rnd }));

  const clients = options.clients.map((c, i) => ({
    spec: c,
    ctl: makeController(c, EPOCH + (c.startAtMs ?? 0), seededRandom(options.seed * 7919 + i + 1)),
    pending: c.requests,
    /** Retries of 5xx / resets due now (their backoff over), with the retries taken so far. */
    retryQueue: [] as number[],
    inFlight: 0,
    accepted: 0,
    rejected429: 0,
    finishedAt: EPOCH,
    wakeAt: Infinity,
  }));
  const acceptedAt: number[] = [];
  let requests = 0;
  const faults = server.faults;
  const q = new EventQueue();
  for (let i = 0; i < clients.length; i++)
    q.push(EPOCH + (options.clients[i]!.startAtMs ?? 0), { kind: 'wake', client: i });

  const stormAt = server.storm ? EPOCH + server.storm.atMs : Infinity;
  const stormEnd = server.storm ? stormAt + server.storm.durationMs : -Infinity;

  function headers(now: number, remaining: number): Record<string, string> {
    if (!sendHeaders) return {};
    return {
      'anthropic-ratelimit-requests-limit': String(server.requestsPerMinute),
      'anthropic-ratelimit-requests-remaining': String(Math.max(0, remaining)),
      'anthropic-ratelimit-requests-reset': new Date(Math.ceil(limiter.fullAt(now))).toISOString(),
    };
  }

  function pump(i: number, now: number): void {
    const c = clients[i]!;
    const concurrency = c.spec.concurrency ?? 4;
    while (c.pending + c.retryQueue.length > 0 && c.inFlight < concurrency) {
      const w = c.ctl.wait(now);
      if (w > 0) {
        // Infinity: the controller waits for an answer, which pumps again.
        if (Number.isFinite(w) && now + w < c.wakeAt) {
          c.wakeAt = now + w;
          q.push(now + w, { kind: 'wake', client: i });
        }
        return;
      }
      c.ctl.start(now);
      let retries = 0;
      if (c.retryQueue.length > 0) retries = c.retryQueue.shift() as number;
      else c.pending--;
      c.inFlight += 1;
      requests += 1;
      const latency = latMin + random() * (latMax - latMin);
      q.push(now + latency / 2, { kind: 'arrive', client: i, startedAt: now, respondAt: now + latency, retries });
    }
  }

  while (q.size > 0) {
    const { t: now, e } = q.pop();
    if (now > maxTime) break;
    const c = clients[e.client]!;
    if (e.kind === 'retry') {
      c.retryQueue.push(e.retries);
      pump(e.client, now);
    } else if (e.kind === 'wake') {
      if (now >= c.wakeAt) c.wakeAt = Infinity;
      pump(e.client, now);
    } else if (e.kind === 'arrive') {
      let answer: RateAnswer;
      // As the emulator: a reset before anything; the storm, then the limiter; the injected
      // errors after the limiter admitted the request (they cost a token, and carry its headers).
      const f = faults ? random() : 1;
      const failAt = faults ? faults.error500Rate + faults.error529Rate + faults.error429Rate : 0;
      if (faults && f >= failAt && f < failAt + faults.resetRate) {
        answer = { status: null, startedAt: e.startedAt };
      } else if (now >= stormAt && now < stormEnd) {
        answer = {
          status: 429,
          headers: { ...headers(now, limiter.remaining(now)), 'retry-after': String(server.storm!.retryAfterSeconds) },
          startedAt: e.startedAt,
        };
      } else {
        const took = limiter.take(now);
        if (!took.ok) {
          const h: Record<string, string> = {
            ...headers(now, 0),
            'retry-after': String(Math.ceil(took.waitMs / 1000)),
          };
          if (sendRetryAfterMs) h['retry-after-ms'] = String(Math.ceil(took.waitMs));
          answer = { status: 429, headers: h, startedAt: e.startedAt };
        } else if (faults && f < faults.error500Rate + faults.error529Rate) {
          answer = {
            status: f < faults.error500Rate ? 500 : 529,
            headers: headers(now, took.remaining),
            startedAt: e.startedAt,
          };
        } else if (faults && f < failAt) {
          answer = {
            status: 429,
            headers: { ...headers(now, took.remaining), 'retry-after-ms': String(faults.retryAfterMs) },
            startedAt: e.startedAt,
          };
        } else {
          answer = { status: 200, headers: headers(now, took.remaining), startedAt: e.startedAt };
        }
      }
      q.push(e.respondAt, { kind: 'respond', client: e.client, startedAt: e.startedAt, answer, retries: e.retries });
    } else {
      c.inFlight -= 1;
      c.ctl.answer(now, e.answer);
      const status = e.answer.status;
      if (status === 429) {
        c.rejected429 += 1;
        c.pending += 1;
      } else if (status === null || status >= 500) {
        // The client's own backoff, outside the gate: 0.5 s then 1 s (the SDK's, two retries), then
        // the engine requeues the job after 0.5 s (src/plan/backoff.ts) and the cycle repeats.
        const backoff = (e.retries % 3 === 1 ? 1_000 : 500) * (1 - random() * 0.25);
        q.push(now + backoff, { kind: 'retry', client: e.client, retries: e.retries + 1 });
      } else {
        c.accepted += 1;
        c.finishedAt = now;
        acceptedAt.push(now - EPOCH);
      }
      pump(e.client, now);
    }
  }

  const results = clients.map((c) => ({
    accepted: c.accepted,
    rejected429: c.rejected429,
    finishedAtMs: c.finishedAt - EPOCH,
    done: c.accepted === c.spec.requests,
  }));
  const firstStart = Math.min(...options.clients.map((c) => c.startAtMs ?? 0));
  return {
    clients: results,
    accepted: results.reduce((n, r) => n + r.accepted, 0),
    rejected429: results.reduce((n, r) => n + r.rejected429, 0),
    durationMs: Math.max(...results.map((r) => r.finishedAtMs)) - firstStart,
    acceptedAtMs: acceptedAt,
    limit: server.requestsPerMinute,
    mode: server.mode,
    requests,
  };
}

/**
 * Bench case 9's "% of the server's rate": the least time the server's limiter needs to accept
 * the job's accepted requests (token bucket: (accepted − limit) / limit minutes from a full
 * bucket; sliding window: ⌊(accepted − 1) / limit⌋ minutes), over the job's duration plus
 * `startupMs` (the engine's start-up before its first request).
 */
export function serverRateShare(r: SimResult, startupMs = 0): number {
  const least =
    r.mode === 'token-bucket'
      ? (Math.max(0, r.accepted - r.limit) / r.limit) * 60_000
      : Math.floor(Math.max(0, r.accepted - 1) / r.limit) * 60_000;
  return least / (r.durationMs + startupMs);
}

/** Accepted per minute over the whole job, as a share of the server's limit. */
export function rateShare(r: SimResult): number {
  return (r.accepted * 60_000) / r.durationMs / r.limit;
}

/** Requests answered 429, as a share of all answers. */
export function share429(r: SimResult): number {
  return r.rejected429 / (r.accepted + r.rejected429);
}

/** (latest − earliest) / latest finish time of the clients. */
export function finishSpread(r: SimResult): number {
  const f = r.clients.map((c) => c.finishedAtMs);
  return (Math.max(...f) - Math.min(...f)) / Math.max(...f);
}

/**
 * How long after `fromMs` the accepted rate is back to `share` of the limit: the start of the
 * first `windowMs` window (stepping 100 ms) at or after `fromMs` holding that many acceptances.
 * Infinity if never.
 */
export function recoveryMs(r: SimResult, fromMs: number, share = 0.9, windowMs = 10_000): number {
  const need = (share * r.limit * windowMs) / 60_000;
  const times = r.acceptedAtMs;
  const last = times[times.length - 1] ?? 0;
  for (let start = fromMs; start + windowMs <= last; start += 100) {
    let n = 0;
    for (const t of times) if (t >= start && t < start + windowMs) n++;
    if (n >= need) return start - fromMs;
  }
  return Infinity;
}
