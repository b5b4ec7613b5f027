/**
 * Files API errors in the SDKs' manner (docs/files-api-facts.md §4.4): one class per status family, each with
 * a stable `code`, the context (`status`, `errorType`, `errorCode`, `requestId`, `headers`) and a
 * hint the user can act on. The API key never appears in any of them: every text that came back
 * from the server passes through `redact` before it is stored.
 */
import { FilesyncError, ErrorCode } from '../errors.js';
import { RETRYABLE_ERROR_CODES, serverWaitMs } from './retry.js';

/**
 * Every stable code the client throws. Callers match these (never messages or status numbers);
 * the values never change once released.
 */
export const API_ERROR_CODES = {
  /** 400, or any 4xx without a class of its own. */
  BAD_REQUEST: ErrorCode.ApiBadRequest,
  /** 401: the key was refused (missing, mistyped, revoked, expired). Nothing works until it is fixed. */
  AUTH: ErrorCode.ApiAuth,
  /** 403: the key was refused for this workspace or the Files API. */
  PERMISSION: ErrorCode.ApiPermission,
  NOT_FOUND: ErrorCode.ApiNotFound,
  CONFLICT: ErrorCode.ApiConflict,
  TOO_LARGE: ErrorCode.ApiTooLarge,
  RATE_LIMIT: ErrorCode.ApiRateLimit,
  OVERLOADED: ErrorCode.ApiOverloaded,
  /** Any other 5xx. */
  SERVER: ErrorCode.ApiServer,
  /** A status no class covers. */
  OTHER: ErrorCode.Api,
  /** No answer: refused, reset, DNS, or the client was closed. */
  CONNECTION: ErrorCode.ApiConnection,
  TIMEOUT: ErrorCode.ApiTimeout,
  ABORTED: ErrorCode.ApiAborted,
  /** A 2xx whose body is not what the API sends (a proxy, a truncated answer). */
  BAD_RESPONSE: ErrorCode.ApiBadResponse,
  /** A call refused before anything was sent: an option out of range or of the other shape. */
  BAD_OPTION: ErrorCode.ApiBadOption,
  BAD_FILENAME: ErrorCode.ApiBadFilename,
  /** The file changed while it was sent; nothing was stored. */
  UPLOAD_SOURCE: ErrorCode.UploadSource,
  /** An upload's answer was lost and the listing that looks for the file failed: it may be stored. */
  UPLOAD_UNCONFIRMED: ErrorCode.UploadUnconfirmed,
} as const;

export type ApiErrorCode = (typeof API_ERROR_CODES)[keyof typeof API_ERROR_CODES];

/** The codes that mean "the API key was refused" (401, 403): retrying cannot help. */
export const KEY_REFUSED_CODES: ReadonlySet<string> = new Set([API_ERROR_CODES.AUTH, API_ERROR_CODES.PERMISSION]);

export type ResponseHeaders = Record<string, string>;

/** How much of a non-JSON body (a proxy's HTML page) goes into a message. */
const EXCERPT_CHARS = 200;

interface APIErrorOptions {
  status?: number | undefined;
  headers?: ResponseHeaders | undefined;
  /** The parsed body (already redacted), or undefined. */
  body?: unknown;
  errorType?: string | undefined;
  errorCode?: string | undefined;
  requestId?: string | null | undefined;
  retryable?: boolean;
  /** The wait the server asked for (src/api/retry.ts serverWaitMs), read when the answer came. */
  retryAfterMs?: number | null;
  hint?: string;
  cause?: unknown;
}

export class APIError extends FilesyncError {
  /** HTTP status, undefined when no response arrived (connection errors, timeouts, aborts). */
  readonly status: number | undefined;
  /** body.error.type, e.g. `rate_limit_error`. */
  readonly errorType: string | undefined;
  /** body.error.details.error_code, e.g. `file_not_downloadable`. */
  readonly errorCode: string | undefined;
  /** The `request-id` header, else body.request_id. Quote it to Anthropic support. */
  readonly requestId: string | null;
  /** Response headers, lower-cased names. */
  readonly headers: ResponseHeaders;
  /** The parsed error body, or the trimmed text of a non-JSON body. */
  readonly body: unknown;
  /**
   * Whether the SDKs' retry policy (./retry.ts) would retry this error: the client already did, up
   * to maxRetries, and a caller may try again later. Decided from the policy data (x-should-retry,
   * the status lists, RETRYABLE_ERROR_CODES), never re-derived by callers from `status`.
   */
  readonly retryable: boolean;
  /**
   * The wait the server asked for (`retry-after-ms` / `retry-after`), in ms from when the answer
   * came, or null when it asked none: parsed once, here, so no caller reads the headers again.
   */
  readonly retryAfterMs: number | null;

  constructor(code: ErrorCode, message: string, options: APIErrorOptions = {}) {
    super(code, message, { hint: options.hint, cause: options.cause });
    this.status = options.status;
    this.errorType = options.errorType;
    this.errorCode = options.errorCode;
    this.requestId = options.requestId ?? null;
    this.headers = options.headers ?? {};
    this.body = options.body;
    this.retryable = options.retryable ?? RETRYABLE_ERROR_CODES.has(code);
    this.retryAfterMs = options.retryAfterMs ?? null;
  }
}

export class BadRequestError extends APIError {}
export class AuthenticationError extends APIError {}
export class PermissionDeniedError extends APIError {}
export class NotFoundError extends APIError {}
export class ConflictError extends APIError {}
export class RequestTooLargeError extends APIError {}
export class RateLimitError extends APIError {}
export class InternalServerError extends APIError {}
export class OverloadedError extends APIError {}

/** No response: DNS, refused, reset, closed. Retried by the policy. */
export class APIConnectionError extends APIError {
  constructor(message: string, options: APIErrorOptions = {}) {
    super(API_ERROR_CODES.CONNECTION, message, options);
  }
}

/** No progress within the per-attempt timeout. Retried by the policy. */
export class APIConnectionTimeoutError extends APIError {
  constructor(message: string, options: APIErrorOptions = {}) {
    super(API_ERROR_CODES.TIMEOUT, message, options);
  }
}

/** The caller's AbortSignal fired. Never retried. */
export class APIUserAbortError extends APIError {
  constructor(message = 'Request was aborted.', options: APIErrorOptions = {}) {
    super(API_ERROR_CODES.ABORTED, message, options);
  }
}

/**
 * The upload's source did not deliver the bytes it promised: a file that shrank while it was sent,
 * or a stream shorter or longer than its declared size. Not retried: the sync engine uploads the
 * file again once it has settled.
 */
export class UploadSourceError extends FilesyncError {
  readonly expectedBytes: number;
  readonly actualBytes: number;
  constructor(message: string, expectedBytes: number, actualBytes: number, cause?: unknown) {
    super(ErrorCode.UploadSource, message, {
      hint: 'The file changed while it was being uploaded; it will be uploaded again once it stops changing.',
      cause,
    });
    this.expectedBytes = expectedBytes;
    this.actualBytes = actualBytes;
  }
}

/**
 * An upload may have been stored, and we could not find out: an attempt sent its whole body and
 * got no answer, and the listing that looks for the stored file failed. The client does not
 * upload again (that could leave a duplicate); the caller keeps its upload intent and resolves it
 * at its next successful listing (by `filename`, `size` and a created_at from `since` on).
 */
export class UploadUnconfirmedError extends APIError {
  /** Always true: the point of this error. */
  readonly mayHaveStored = true;
  readonly filename: string;
  readonly size: number;
  /** Start (our clock, ms) of the earliest attempt that got no answer. */
  readonly since: number;
  constructor(filename: string, size: number, since: number, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      API_ERROR_CODES.UPLOAD_UNCONFIRMED,
      `The upload of ${JSON.stringify(filename)} may have been stored, but its answer was lost and the listing that looks for it failed: ${why}`,
      { hint: 'It is looked for again at the next listing; it is not uploaded twice.', cause },
    );
    this.filename = filename;
    this.size = size;
    this.since = since;
  }
}

interface StatusClass {
  code: ErrorCode;
  ctor: new (code: ErrorCode, message: string, options?: APIErrorOptions) => APIError;
  hint: string;
}

/** Status → class, code and hint. Python's table (413 and 529 have their own classes). */
function classFor(status: number): StatusClass {
  switch (status) {
    case 400:
      return {
        code: ErrorCode.ApiBadRequest,
        ctor: BadRequestError,
        hint: 'The API refused the request as invalid; check the filename (1-255 characters, none of / \\ < > : " | ? * or control characters) and the options.',
      };
    case 401:
      return {
        code: ErrorCode.ApiAuth,
        ctor: AuthenticationError,
        hint: 'Check ANTHROPIC_API_KEY (or the configured key): it is missing, mistyped, revoked or expired.',
      };
    case 403:
      return {
        code: ErrorCode.ApiPermission,
        ctor: PermissionDeniedError,
        hint: 'The key may not use the Files API in this workspace; check its workspace and permissions.',
      };
    case 404:
      return {
        code: ErrorCode.ApiNotFound,
        ctor: NotFoundError,
        hint: 'The file does not exist: it was deleted, has expired, or belongs to another workspace.',
      };
    case 409:
      return {
        code: ErrorCode.ApiConflict,
        ctor: ConflictError,
        hint: 'A conflicting request was in progress; try again.',
      };
    case 413:
      return {
        code: ErrorCode.ApiTooLarge,
        ctor: RequestTooLargeError,
        hint: "The file is over the API's size limit (500 MB per file) and cannot be uploaded as it is.",
      };
    case 429:
      return {
        code: ErrorCode.ApiRateLimit,
        ctor: RateLimitError,
        hint: 'The API asked us to slow down; if this persists, lower the requests-per-minute or concurrency settings.',
      };
    case 529:
      return {
        code: ErrorCode.ApiOverloaded,
        ctor: OverloadedError,
        hint: 'The API is temporarily overloaded; try again in a few minutes.',
      };
    default:
      if (status >= 500) {
        return {
          code: ErrorCode.ApiServer,
          ctor: InternalServerError,
          hint: 'The API had an internal error; try again later.',
        };
      }
      return { code: ErrorCode.Api, ctor: APIError, hint: 'The API refused the request; see the message for why.' };
  }
}

/** Hints for the documented stable cause codes (docs/files-api-facts.md §10), which beat the status hint. */
const ERROR_CODE_HINTS: Record<string, string> = {
  file_not_downloadable:
    'Only files created by skills or the code execution tool can be downloaded; uploaded files cannot.',
  storage_quota_exceeded: "The organization's Files API storage is full; delete files you no longer need.",
  file_expired: 'The file is past its expires_at; upload it again.',
};

/** Replaces every occurrence of the key (if any) in a text. */
export function redact(text: string, apiKey: string | undefined): string {
  if (!apiKey) return text;
  return text.split(apiKey).join('[REDACTED]');
}

/** A short, single-line excerpt of a non-JSON body: tags stripped, whitespace collapsed. */
export function excerpt(text: string, max = EXCERPT_CHARS): string {
  const flat = text
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

interface ErrorResponse {
  status: number;
  statusText?: string | undefined;
  headers: ResponseHeaders;
  /** The raw body text (may be empty, HTML, or the JSON envelope). */
  bodyText: string;
  method: string;
  path: string;
  retryable: boolean;
  apiKey?: string | undefined;
  /** When the answer came (the client's clock): a `retry-after` date is read against it. @default Date.now() */
  now?: number;
}

/** Builds the error for a non-2xx response: the class from the status, the fields from the body. */
export function errorFromResponse(res: ErrorResponse): APIError {
  const text = redact(res.bodyText, res.apiKey);
  const headers: ResponseHeaders = {};
  for (const [k, v] of Object.entries(res.headers)) headers[k] = redact(v, res.apiKey);

  let parsed: unknown;
  try {
    parsed = text.trim() === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    parsed = undefined;
  }
  const envelope = asRecord(parsed);
  const inner = asRecord(envelope?.error);
  const details = asRecord(inner?.details);
  const errorType = typeof inner?.type === 'string' ? inner.type : undefined;
  const errorCode = typeof details?.error_code === 'string' ? details.error_code : undefined;
  const bodyRequestId = typeof envelope?.request_id === 'string' ? envelope.request_id : undefined;
  const requestId = headers['request-id'] ?? bodyRequestId ?? null;

  let detail: string;
  if (typeof inner?.message === 'string' && inner.message !== '') detail = inner.message;
  else if (parsed !== undefined) detail = excerpt(JSON.stringify(parsed));
  else if (text.trim() !== '') detail = excerpt(text);
  else detail = res.statusText || 'no response body';

  const cls = classFor(res.status);
  const hint = (errorCode !== undefined ? ERROR_CODE_HINTS[errorCode] : undefined) ?? cls.hint;
  const where = `${res.method} ${res.path}`;
  const message = `${res.status} ${detail} (${where}${requestId ? `, request-id ${requestId}` : ''})`;
  return new cls.ctor(cls.code, message, {
    status: res.status,
    headers,
    // Parsed from the redacted text, so neither form can hold the key.
    body: parsed !== undefined ? parsed : text === '' ? undefined : excerpt(text),
    errorType,
    errorCode,
    requestId,
    retryable: res.retryable,
    retryAfterMs: serverWaitMs((name) => headers[name], res.now ?? Date.now()),
    hint,
  });
}
