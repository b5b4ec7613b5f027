/** What a verb asks of the transport (./transport.ts), and what one attempt comes back as. */
import type { AttemptOutcome } from './retry.js';

/** An attempt that failed, as a RequestSpec's `onFailure` sees it. */
export interface FailedAttempt {
  outcome: AttemptOutcome;
  error: Error;
  status: number | null;
  requestId: string | null;
  /** 1 for the first attempt. */
  attempt: number;
  /** The clock when this attempt's body was ready and it was sent. */
  attemptStart: number;
  /** Whether an earlier attempt of this request got no answer (the server may have done the work). */
  earlierUnanswered: boolean;
}

export interface RequestSpec<T> {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path and query, relative to the base URL's path. */
  path: string;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
  /**
   * Builds a fresh body for each attempt, after the gate let it through and before it is sent.
   * `touch` tells the attempt's progress timer that bytes moved.
   */
  body?: (touch: () => void) => Promise<{ stream: AsyncIterable<Uint8Array>; length: number }>;
  /** Reads a 2xx body; `touch` tells the progress timer that bytes arrived. */
  consume: (body: AsyncIterable<Uint8Array>, touch: () => void) => Promise<T>;
  /**
   * Consulted after each failed attempt, before the retry policy: `{ value }` ends the request
   * with that value (the work was found done), a throw ends it with that error, undefined leaves
   * the decision to the policy.
   */
  onFailure?: (failed: FailedAttempt) => Promise<{ value: T } | undefined> | { value: T } | undefined;
}

export type AttemptResult<T> =
  | { ok: true; value: T; status: number }
  | { ok: false; outcome: AttemptOutcome; error: Error; requestId: string | null; status: number | null };
