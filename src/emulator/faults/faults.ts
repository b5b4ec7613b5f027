/**
 * Fault configuration and the seeded PRNG that draws faults. The limiters behind
 * `requestsPerMinute` live in rate-limiter.ts (TokenBucket is re-exported here for old imports).
 */
import { RATE_LIMIT_MODES } from './server-limiter.js';
import type { FaultConfig } from '../emulator-types.js';

export { TokenBucket } from './server-limiter.js';

export const DEFAULT_FAULTS: FaultConfig = Object.freeze({
  error500Rate: 0,
  error529Rate: 0,
  error429Rate: 0,
  retryAfterSeconds: null,
  retryAfterMs: null,
  resetRate: 0,
  lostResponseRate: 0,
  latencyMs: 0,
  requestsPerMinute: null,
  rateLimitMode: 'token-bucket',
  rateLimitRetryAfterMs: true,
  hang: false,
  seed: 1,
});

const RATES = ['error500Rate', 'error529Rate', 'error429Rate', 'resetRate', 'lostResponseRate'] as const;
const NULLABLE_NON_NEGATIVE = ['retryAfterSeconds', 'retryAfterMs'] as const;

/** Merges `partial` over `base`, refusing values that make no sense (with what was expected and got). */
export function mergeFaults(base: FaultConfig, partial: Partial<FaultConfig>): FaultConfig {
  const known = new Set(Object.keys(DEFAULT_FAULTS));
  for (const key of Object.keys(partial)) {
    if (!known.has(key))
      throw new TypeError(`Unknown fault setting ${JSON.stringify(key)}; expected one of ${[...known].join(', ')}`);
  }
  const next = { ...base, ...partial };
  for (const key of RATES) {
    const v = next[key];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1))
      throw new TypeError(`Expected ${key} to be a number from 0 to 1, got ${describe(v)}`);
  }
  for (const key of NULLABLE_NON_NEGATIVE) {
    const v = next[key];
    if (v !== null && (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v))) {
      throw new TypeError(`Expected ${key} to be null or a finite number >= 0, got ${describe(v)}`);
    }
  }
  if (typeof next.latencyMs !== 'number' || !(next.latencyMs >= 0) || !Number.isFinite(next.latencyMs)) {
    throw new TypeError(`Expected latencyMs to be a finite number >= 0, got ${describe(next.latencyMs)}`);
  }
  const rpm = next.requestsPerMinute;
  if (rpm !== null && (typeof rpm !== 'number' || !(rpm > 0) || !Number.isFinite(rpm))) {
    throw new TypeError(`Expected requestsPerMinute to be null or a finite number > 0, got ${describe(rpm)}`);
  }
  if (!RATE_LIMIT_MODES.includes(next.rateLimitMode)) {
    throw new TypeError(
      `Expected rateLimitMode to be one of ${RATE_LIMIT_MODES.join(', ')}, got ${describe(next.rateLimitMode)}`,
    );
  }
  if (typeof next.rateLimitRetryAfterMs !== 'boolean') {
    throw new TypeError(`Expected rateLimitRetryAfterMs to be a boolean, got ${describe(next.rateLimitRetryAfterMs)}`);
  }
  if (typeof next.hang !== 'boolean') throw new TypeError(`Expected hang to be a boolean, got ${describe(next.hang)}`);
  if (!Number.isInteger(next.seed)) throw new TypeError(`Expected seed to be an integer, got ${describe(next.seed)}`);
  if (next.error500Rate + next.error529Rate + next.error429Rate > 1) {
    throw new TypeError(
      `Expected error500Rate + error529Rate + error429Rate to be at most 1, got ${next.error500Rate + next.error529Rate + next.error429Rate}`,
    );
  }
  return Object.freeze(next);
}

function describe(v: unknown): string {
  return `${JSON.stringify(v)} (${v === null ? 'null' : typeof v})`;
}

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
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

export type InjectedError = 500 | 529 | 429 | null;

/** One draw decides which injected error (if any) a request gets. */
export function pickInjectedError(faults: FaultConfig, r: number): InjectedError {
  if (r < faults.error500Rate) return 500;
  if (r < faults.error500Rate + faults.error529Rate) return 529;
  if (r < faults.error500Rate + faults.error529Rate + faults.error429Rate) return 429;
  return null;
}
