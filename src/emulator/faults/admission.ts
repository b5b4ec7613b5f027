/**
 * What stands between an authenticated /v1 request and its handler: the 429 storm and the
 * per-key rate limiters, plus the `anthropic-ratelimit-requests-*` headers the API sends on its
 * other endpoints (docs/files-api-facts.md §7; whether Files sends them is undocumented, the emulator does
 * whenever a limit is set). Pure apart from the headers it sets; takes `now` in ms.
 */
import { EmulatorApiError } from '../api-error.js';
import { createRateLimiter, type RateLimitMode, type RateLimiter } from './server-limiter.js';
import type { FaultConfig } from '../emulator-types.js';

export interface StormSettings {
  /** How long every /v1 request is answered 429, from now. */
  durationMs: number;
  /** `retry-after` on each storm 429. @default 1 */
  retryAfterSeconds?: number;
  /** `retry-after-ms` on each storm 429; null sends none. @default null */
  retryAfterMs?: number | null;
}

export interface StormState {
  /** RFC 3339 end of the storm. */
  endsAt: string;
  retryAfterSeconds: number;
  retryAfterMs: number | null;
}

export interface LimitSettings {
  requestsPerMinute: number | null;
  mode: RateLimitMode;
  /** Whether limiter 429s carry `retry-after-ms` next to `retry-after`. */
  sendRetryAfterMs: boolean;
}

export function limitSettings(f: FaultConfig): LimitSettings {
  return { requestsPerMinute: f.requestsPerMinute, mode: f.rateLimitMode, sendRetryAfterMs: f.rateLimitRetryAfterMs };
}

export type Refusal = { cause: 'storm' | 'rateLimited'; error: EmulatorApiError };

type SetHeader = (name: string, value: string) => void;

export class RequestGate {
  readonly #limiters = new Map<string, RateLimiter>();
  #limits: LimitSettings;
  #storm: { until: number; retryAfterSeconds: number; retryAfterMs: number | null } | null = null;

  constructor(limits: LimitSettings) {
    this.#limits = limits;
  }

  /** A new limit or mode starts every key afresh (a full bucket, an empty window). */
  configure(limits: LimitSettings): void {
    if (limits.requestsPerMinute !== this.#limits.requestsPerMinute || limits.mode !== this.#limits.mode)
      this.#limiters.clear();
    this.#limits = limits;
  }

  startStorm(settings: StormSettings, nowMs: number): StormState {
    const { durationMs, retryAfterSeconds = 1, retryAfterMs = null } = settings;
    if (typeof durationMs !== 'number' || !(durationMs > 0) || !Number.isFinite(durationMs)) {
      throw new TypeError(`Expected durationMs to be a finite number > 0, got ${JSON.stringify(durationMs)}`);
    }
    if (typeof retryAfterSeconds !== 'number' || !Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 0) {
      throw new TypeError(`Expected retryAfterSeconds to be an integer >= 0, got ${JSON.stringify(retryAfterSeconds)}`);
    }
    if (
      retryAfterMs !== null &&
      (typeof retryAfterMs !== 'number' || !(retryAfterMs >= 0) || !Number.isFinite(retryAfterMs))
    ) {
      throw new TypeError(
        `Expected retryAfterMs to be null or a finite number >= 0, got ${JSON.stringify(retryAfterMs)}`,
      );
    }
    this.#storm = { until: nowMs + durationMs, retryAfterSeconds, retryAfterMs };
    return this.storm(nowMs) as StormState;
  }

  endStorm(): void {
    this.#storm = null;
  }

  storm(nowMs: number): StormState | null {
    const s = this.#storm;
    if (s === null || s.until <= nowMs) return null;
    return {
      endsAt: new Date(s.until).toISOString(),
      retryAfterSeconds: s.retryAfterSeconds,
      retryAfterMs: s.retryAfterMs,
    };
  }

  /**
   * Admits a request presented with `key`, or returns the 429 to answer. Sets the rate-limit
   * headers either way when a limit is set. A storm 429 takes nothing from the limiter: the
   * real server would not have counted a request it refused wholesale.
   */
  admit(key: string, nowMs: number, setHeader: SetHeader): Refusal | null {
    const limiter = this.#limiterFor(key, nowMs);
    const storm = this.storm(nowMs);
    if (storm) {
      if (limiter) this.#headers(limiter, limiter.remaining(nowMs), nowMs, setHeader);
      const headers: Record<string, string> = { 'retry-after': String(storm.retryAfterSeconds) };
      if (storm.retryAfterMs !== null) headers['retry-after-ms'] = String(storm.retryAfterMs);
      return {
        cause: 'storm',
        error: new EmulatorApiError(
          429,
          'Number of requests has exceeded your rate limit (429 storm injected by the emulator)',
          { headers },
        ),
      };
    }
    if (!limiter) return null;
    const took = limiter.take(nowMs);
    this.#headers(limiter, took.ok ? took.remaining : 0, nowMs, setHeader);
    if (took.ok) return null;
    const headers: Record<string, string> = { 'retry-after': String(Math.ceil(took.waitMs / 1000)) };
    if (this.#limits.sendRetryAfterMs) headers['retry-after-ms'] = String(Math.ceil(took.waitMs));
    return {
      cause: 'rateLimited',
      error: new EmulatorApiError(429, 'Number of requests has exceeded your per-minute rate limit', { headers }),
    };
  }

  #limiterFor(key: string, nowMs: number): RateLimiter | null {
    const rpm = this.#limits.requestsPerMinute;
    if (rpm === null) return null;
    let limiter = this.#limiters.get(key);
    if (!limiter) {
      limiter = createRateLimiter(this.#limits.mode, rpm, nowMs);
      this.#limiters.set(key, limiter);
    }
    return limiter;
  }

  #headers(limiter: RateLimiter, remaining: number, nowMs: number, setHeader: SetHeader): void {
    setHeader('anthropic-ratelimit-requests-limit', String(limiter.perMinute));
    setHeader('anthropic-ratelimit-requests-remaining', String(Math.max(0, remaining)));
    setHeader('anthropic-ratelimit-requests-reset', new Date(Math.ceil(limiter.fullAt(nowMs))).toISOString());
  }
}
