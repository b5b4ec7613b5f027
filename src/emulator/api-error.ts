/** Errors the emulator answers with, in the API's envelope (docs/files-api-facts.md §4). */

const TYPE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'conflict_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

export function errorTypeForStatus(status: number): string {
  return TYPE_BY_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

/** Stable cause codes the 1.x SDK maps to classes (docs/files-api-facts.md §10). */
export type ApiErrorCode = 'file_not_downloadable' | 'storage_quota_exceeded' | 'file_expired';

/** An HTTP error answer. Thrown inside handlers and rendered by the server. */
export class EmulatorApiError extends Error {
  override readonly name = 'EmulatorApiError';
  readonly status: number;
  readonly type: string;
  readonly errorCode: ApiErrorCode | null;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    message: string,
    options: { errorCode?: ApiErrorCode; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.status = status;
    this.type = errorTypeForStatus(status);
    this.errorCode = options.errorCode ?? null;
    this.headers = options.headers ?? {};
  }

  body(requestId: string): Record<string, unknown> {
    const error: Record<string, unknown> = { type: this.type, message: this.message };
    if (this.errorCode) error.details = { error_code: this.errorCode };
    return { type: 'error', error, request_id: requestId };
  }
}

export const notFound = (id: string): EmulatorApiError => new EmulatorApiError(404, `File ${id} not found.`);
