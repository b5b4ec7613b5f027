import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  UploadSourceError,
  redact,
} from './errors.js';
import type { RequestSpec } from './request-spec.js';
import {
  CLIENT_CLOSED_ERROR_CODES,
  LOCAL_FAILURE_ERROR_CODES,
  TIMEOUT_ERROR_CODES,
  isRetryable,
  type AttemptOutcome,
} from './retry.js';
import { ErrorCode } from '../errors.js';

/**
 * What a request that got no HTTP answer (or whose answer could not be read) means for the retry
 * policy, and the error the caller sees.
 */
export function classifyFailure(
  err: unknown,
  spec: RequestSpec<unknown>,
  timedOut: boolean,
  options: { readonly timeoutMs: number; readonly apiKey: string; readonly baseURL: string },
): { outcome: AttemptOutcome; error: Error } {
  const where = `${spec.method} ${spec.path}`;
  if (err instanceof UploadSourceError) return { outcome: { kind: 'fatal' }, error: err };
  if (spec.signal?.aborted) {
    return { outcome: { kind: 'user-abort' }, error: new APIUserAbortError(`Request was aborted (${where}).`) };
  }
  // A 2xx whose body is garbled (a proxy, a truncated answer) is treated like a lost response:
  // retried, and an upload first looks for the file it may have stored.
  if (err instanceof APIError && err.code === ErrorCode.ApiBadResponse)
    return { outcome: { kind: 'connection' }, error: err };
  if (err instanceof APIError) return { outcome: { kind: 'fatal' }, error: err };
  const code = errorCodeOf(err);
  if (timedOut || (code !== undefined && TIMEOUT_ERROR_CODES.has(code))) {
    const outcome: AttemptOutcome = { kind: 'timeout' };
    return {
      outcome,
      error: new APIConnectionTimeoutError(`No progress from the API for ${options.timeoutMs} ms (${where}).`, {
        hint: 'Check the network, or raise the API timeout if the link is slow.',
        retryable: isRetryable(outcome),
        cause: err,
      }),
    };
  }
  if (code !== undefined && CLIENT_CLOSED_ERROR_CODES.has(code)) {
    const outcome: AttemptOutcome = { kind: 'fatal' };
    return {
      outcome,
      error: new APIConnectionError(`The Files API client is closed (${where}).`, {
        retryable: isRetryable(outcome),
        cause: err,
      }),
    };
  }
  if (code !== undefined && LOCAL_FAILURE_ERROR_CODES.has(code))
    return { outcome: { kind: 'fatal' }, error: err as Error };
  const detail = err instanceof Error ? redact(err.message, options.apiKey) : 'unknown error';
  const outcome: AttemptOutcome = { kind: 'connection' };
  return {
    outcome,
    error: new APIConnectionError(`Connection to the API failed: ${detail} (${where}).`, {
      hint: `Check the network, any proxy, and the API base URL (${options.baseURL}).`,
      retryable: isRetryable(outcome),
      cause: err,
    }),
  };
}

function errorCodeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
