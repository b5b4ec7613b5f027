/**
 * The one way a request reaches the Files API: headers, the per-attempt progress timeout, the
 * classification of every failure, and ONE retry loop with the SDKs' policy (./retry.ts) that
 * every verb goes through. A verb with special needs (an upload's per-attempt body, its search for
 * a stored file after a lost answer, a delete whose lost answer did the work) says so through its
 * RequestSpec; it never runs a loop of its own.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import PQueue from 'p-queue';
import { Agent, type Dispatcher } from 'undici';
import { USER_AGENT } from '../version.js';
import { APIError, APIUserAbortError, errorFromResponse, redact, type ResponseHeaders } from './errors.js';
import { classifyFailure } from './classify-failure.js';
import { ProgressTimer } from './progress-timer.js';
import { readAll } from './read-all.js';
import type { AttemptResult, RequestSpec } from './request-spec.js';
import { decideRetry, isRetryable, type AttemptOutcome } from './retry.js';
import { MAX_ERROR_BODY_BYTES } from '../files-api/limits.js';
import type { FilesClientOptions } from './types.js';
import { ANTHROPIC_VERSION, BETA_HEADER_VALUE, type ApiShape } from '../files-api/wire.js';
import { ErrorCode } from '../errors.js';

export interface TransportOptions {
  apiKey: string;
  /** Without a trailing slash. */
  baseURL: string;
  shape: ApiShape;
  maxRetries: number;
  timeoutMs: number;
  dispatcher?: Dispatcher | undefined;
  beforeRequest?: FilesClientOptions['beforeRequest'];
  maxInFlight?: number | undefined;
  onRetryWait?: FilesClientOptions['onRetryWait'];
  onAttempt?: FilesClientOptions['onAttempt'];
  onResponse?: FilesClientOptions['onResponse'];
  onWorkspaceId?: FilesClientOptions['onWorkspaceId'];
  now: () => number;
  random: () => number;
}

function normalizeHeaders(raw: Record<string, string | string[] | undefined>): ResponseHeaders {
  const out: ResponseHeaders = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

export class Transport {
  readonly options: Readonly<TransportOptions>;
  #dispatcher: Dispatcher;
  #ownsDispatcher: boolean;
  #origin: string;
  #basePath: string;
  #closing: Promise<void> | undefined;
  /** Whether a request gate answers 429s (see FilesClientOptions.beforeRequest). */
  #gateDecides: boolean;
  /** Attempts in flight at once (FilesClientOptions.maxInFlight); null: no bound. */
  #slots: PQueue | null;
  /** 401 answers so far, and the last: a request that waited for a slot across one is not sent. */
  #keyRefusals = 0;
  #lastRefusal: Error | null = null;
  /**
   * The key stands refused: the last 401, until an answer succeeds. Uploads and deletes made
   * meanwhile would be refused alike and fail unsent with it; reads still go, since a read is
   * how the engine tries the key again (src/jobs/api-problems.ts).
   */
  #refusedKey: Error | null = null;

  constructor(options: TransportOptions) {
    this.options = Object.freeze({ ...options });
    // The key must not leak through util.inspect() into a log line.
    Object.defineProperty(this, 'options', { enumerable: false });
    const url = new URL(options.baseURL);
    this.#origin = url.origin;
    this.#basePath = url.pathname.replace(/\/+$/, '');
    this.#gateDecides = options.beforeRequest !== undefined && options.onRetryWait !== undefined;
    this.#slots = options.maxInFlight === undefined ? null : new PQueue({ concurrency: options.maxInFlight });
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.#dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 30_000 });
  }

  /** Closes the connection pool if this transport created it. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#ownsDispatcher ? this.#dispatcher.close() : Promise.resolve();
    return this.#closing;
  }

  /** A request with the SDKs' retries: the one retry loop of the client. */
  async request<T>(spec: RequestSpec<T>): Promise<T> {
    let earlierUnanswered = false;
    // 429s the gate answers (waiting, not failing): they never use up the retry budget.
    let rateLimitedInARow = 0;
    for (let attempt = 1, retriesTaken = 0; ; attempt++) {
      const { result, attemptStart } = await this.#inSlot(spec.signal, spec.method !== 'GET', async () => {
        await this.#gate(spec.signal);
        // The body is built before the attempt's timer starts; its progress reaches that timer here.
        let touchTimer: () => void = () => {};
        const prepared = spec.body ? await spec.body(() => touchTimer()) : undefined;
        const attemptStart = this.options.now();
        const result = await this.#attempt(spec, prepared, (touch) => (touchTimer = touch));
        if (result.status === 401) {
          this.#keyRefusals++;
          this.#lastRefusal = result.ok ? null : result.error;
          this.#refusedKey = this.#lastRefusal;
        } else if (result.ok) this.#refusedKey = null;
        return { result, attemptStart };
      });
      this.options.onAttempt?.({
        method: spec.method,
        path: spec.path,
        status: result.status,
        outcome: result.ok ? 'ok' : result.outcome.kind,
      });
      if (result.ok) return result.value;
      const ended = await spec.onFailure?.({ ...result, attempt, attemptStart, earlierUnanswered });
      if (ended) return ended.value;
      if (result.outcome.kind === 'connection' || result.outcome.kind === 'timeout') earlierUnanswered = true;
      const gateWaits = this.#gateDecides && result.status === 429;
      const decision = gateWaits
        ? decideRetry(result.outcome, rateLimitedInARow, Infinity, this.options.now(), this.options.random())
        : decideRetry(result.outcome, retriesTaken, this.options.maxRetries, this.options.now(), this.options.random());
      if (!decision.retry) throw result.error;
      await this.#wait(decision, attempt, result, spec.method, spec.path, spec.signal);
      if (gateWaits) rateLimitedInARow++;
      else {
        rateLimitedInARow = 0;
        retriesTaken++;
      }
    }
  }

  /** Reads a whole body as JSON; a body that is not JSON is a bad response (retried as a lost one). */
  async json<T>(body: AsyncIterable<Uint8Array>, touch: () => void): Promise<T> {
    const text = (await readAll(body, touch)).toString('utf8');
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new APIError(
        ErrorCode.ApiBadResponse,
        `The API answered with a body that is not JSON: ${JSON.stringify(redact(text.slice(0, 200), this.options.apiKey))}.`,
        { hint: 'Check the API base URL: it may point at something other than the Files API.', cause },
      );
    }
  }

  /**
   * Runs one attempt (the gate's wait included) in a slot: the slot is taken before the gate, so
   * the gate counts a request as started only when it can start, and given back as soon as the
   * answer is read, so what the caller does next (a retry's wait, a lost upload's lookup) never
   * holds one.
   */
  async #inSlot<R>(signal: AbortSignal | undefined, mutates: boolean, attempt: () => Promise<R>): Promise<R> {
    // A key refused while this request waited, or (for an upload or a delete) refused and not
    // accepted since, would refuse it alike: it fails unsent with that answer, so a refused key
    // costs the requests in flight, not every one prepared behind them or made after them.
    const refusalsBefore = this.#keyRefusals;
    const afterRefusal = (): Promise<R> => {
      if (this.#keyRefusals !== refusalsBefore && this.#lastRefusal) throw this.#lastRefusal;
      if (mutates && this.#refusedKey) throw this.#refusedKey;
      return attempt();
    };
    if (this.#slots === null) return afterRefusal();
    if (signal?.aborted) throw new APIUserAbortError();
    try {
      return await this.#slots.add(afterRefusal, signal ? { signal } : {});
    } catch (err) {
      // Aborted while waiting for a slot: the same error as an abort anywhere else.
      if (signal?.aborted && !(err instanceof APIUserAbortError)) throw new APIUserAbortError();
      throw err;
    }
  }

  async #gate(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw new APIUserAbortError();
    await this.options.beforeRequest?.(signal);
    if (signal?.aborted) throw new APIUserAbortError();
  }

  async #wait(
    decision: { waitMs: number; fromServer: boolean },
    attempt: number,
    failed: { status: number | null; requestId: string | null },
    method: string,
    path: string,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    this.options.onRetryWait?.({
      status: failed.status,
      waitMs: decision.waitMs,
      fromServer: decision.fromServer,
      attempt,
      requestId: failed.requestId,
      method,
      path,
    });
    // A 429 is the gate's to answer when there is one: it has just been told the wait, holds every
    // request (not only this one) until it is over, and the loop goes back through it next.
    if (failed.status === 429 && this.#gateDecides) return;
    try {
      await sleep(decision.waitMs, undefined, signal ? { signal } : undefined);
    } catch {
      throw new APIUserAbortError();
    }
  }

  /**
   * One attempt: send, read the whole response. Never throws for HTTP or network failures: they
   * come back as an outcome for the retry policy.
   */
  async #attempt<T>(
    spec: RequestSpec<T>,
    prepared: { stream: AsyncIterable<Uint8Array>; length: number } | undefined,
    onTimer: (touch: () => void) => void,
  ): Promise<AttemptResult<T>> {
    const startedAt = this.options.now();
    const controller = new AbortController();
    const timer = new ProgressTimer(this.options.timeoutMs, () => controller.abort());
    onTimer(timer.touch);
    const signal = spec.signal ? AbortSignal.any([spec.signal, controller.signal]) : controller.signal;
    const headers: Record<string, string> = {
      'x-api-key': this.options.apiKey,
      'anthropic-version': ANTHROPIC_VERSION,
      'user-agent': USER_AGENT,
      accept: 'application/json',
      ...(this.options.shape === 'beta' ? { 'anthropic-beta': BETA_HEADER_VALUE } : {}),
      ...spec.headers,
    };
    if (prepared) headers['content-length'] = String(prepared.length);
    const path = `${this.#basePath}${spec.path}`;
    let status: number | null = null;
    let requestId: string | null = null;
    try {
      const res = await this.#dispatcher.request({
        origin: this.#origin,
        path,
        method: spec.method,
        headers,
        body: prepared?.stream as Dispatcher.DispatchOptions['body'],
        signal,
        // Backstops for our progress timer; undici pauses the headers timer while it writes.
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
      });
      timer.touch();
      status = res.statusCode;
      const resHeaders = normalizeHeaders(res.headers);
      this.options.onResponse?.({ status, headers: resHeaders, startedAt });
      requestId = resHeaders['request-id'] ?? null;
      const workspaceId = resHeaders['anthropic-workspace-id'];
      if (workspaceId) this.options.onWorkspaceId?.(workspaceId);
      if (res.statusCode >= 200 && res.statusCode < 300) {
        return { ok: true, value: await spec.consume(res.body, timer.touch), status: res.statusCode };
      }
      const text = (await readAll(res.body, timer.touch, MAX_ERROR_BODY_BYTES)).toString('utf8');
      const outcome: AttemptOutcome = { kind: 'response', status: res.statusCode, headers: resHeaders };
      const error = errorFromResponse({
        status: res.statusCode,
        headers: resHeaders,
        bodyText: text,
        method: spec.method,
        path: spec.path,
        retryable: isRetryable(outcome),
        apiKey: this.options.apiKey,
        now: this.options.now(),
      });
      return { ok: false, outcome, error, requestId: error.requestId, status };
    } catch (err) {
      if (status === null) this.options.onResponse?.({ status: null, headers: {}, startedAt });
      return { ok: false, ...classifyFailure(err, spec, timer.fired, this.options), requestId, status: null };
    } finally {
      timer.clear();
    }
  }
}
