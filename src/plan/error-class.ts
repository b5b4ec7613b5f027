/**
 * What a failed job's error means for the engine (retry it, stop, resolve an intent): decided from
 * the error the client built, never from its status number. Pure: the server's asked wait comes
 * parsed on the error (APIError.retryAfterMs), so no clock is read here.
 */
import { APIError } from '../api/errors.js';
import { ErrorCode, failureCodeOf, type FailureCode } from '../errors.js';

interface ErrorClass {
  message: string;
  /** The error's stable code (E_API_RATE_LIMIT, E_UPLOAD_SOURCE, EACCES, ...), or null. */
  code: FailureCode | null;
  status: number | null;
  retryable: boolean;
  fatal: boolean;
  /** No answer came back: the request may have stored a file. */
  ambiguous: boolean;
  /** The API's stable cause code (`details.error_code`: storage_quota_exceeded...), or null. */
  apiErrorCode?: string | null;
  /** The wait the server asked for (retry-after-ms / retry-after), when it did. */
  retryAfterMs: number | null;
}

/** What the engine needs to know about a failed job to decide when, or whether, to run it again. */
export interface FailureFacts {
  code: FailureCode | null;
  status: number | null;
  retryable: boolean;
  fatal: boolean;
  retryAfterMs: number | null;
  /** The API's stable cause code (`details.error_code`: storage_quota_exceeded...), or null. */
  apiErrorCode?: string | null;
}

export function factsOf(c: ErrorClass): FailureFacts {
  return {
    code: c.code,
    status: c.status,
    retryable: c.retryable,
    fatal: c.fatal,
    retryAfterMs: c.retryAfterMs,
    apiErrorCode: c.apiErrorCode ?? null,
  };
}

/** API codes that stop the engine: the key itself was refused. */
const FATAL_CODES: ReadonlySet<string> = new Set([ErrorCode.ApiAuth]);
/** Local file problems: the path is checked again by the watcher or the reconcile, not retried. */
const LOCAL_FS_CODES: ReadonlySet<string> = new Set(['ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'EIO', 'ENXIO', 'ESTALE']);

/**
 * Classifies an error thrown by the client (or by reading the local file). An APIError says
 * itself whether the policy retries it (`retryable`, from the client's policy data) and what it
 * is (`code`); nothing here re-derives that from status numbers.
 */
export function classifyError(err: unknown): ErrorClass {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof APIError) {
    const fatal = FATAL_CODES.has(err.code);
    // Only a request that got no answer at all is ambiguous: an answered one (even a 429 or a
    // 5xx) stored nothing, so no intent needs resolving.
    return {
      message,
      code: err.code,
      status: err.status ?? null,
      retryable: err.retryable && !fatal,
      fatal,
      ambiguous: err.status === undefined,
      retryAfterMs: err.retryAfterMs,
      apiErrorCode: err.errorCode ?? null,
    };
  }
  const code = failureCodeOf(err);
  if (code === ErrorCode.UploadSource || (code !== null && LOCAL_FS_CODES.has(code))) {
    // The file changed while streaming, or cannot be read: nothing was stored; it is checked again.
    return { message, code, status: null, retryable: false, fatal: false, ambiguous: false, retryAfterMs: null };
  }
  // Anything else thrown mid-request (a socket error outside the client's own classes): the
  // request may have reached the server.
  return { message, code, status: null, retryable: true, fatal: false, ambiguous: true, retryAfterMs: null };
}
