import { describe, expect, it } from 'vitest';
import {
  APIConnectionError,
  APIError,
  AuthenticationError,
  InternalServerError,
  RateLimitError,
} from '../../src/api/errors.js';
import { errorFromResponse, UploadSourceError } from '../../src/api/errors.js';
import { classifyError } from '../../src/plan/error-class.js';

describe('classifyError', () => {
  it('takes retryability from the error the client built, not from its status number', () => {
    // A 500 the policy declined to retry (e.g. x-should-retry: false) is not retried by the engine either.
    const declined = classifyError(new InternalServerError('E_API_SERVER', 'boom', { status: 500, retryable: false }));
    expect(declined).toMatchObject({ code: 'E_API_SERVER', retryable: false, fatal: false, ambiguous: false });
    const limited = classifyError(
      new RateLimitError('E_API_RATE_LIMIT', 'slow down', { status: 429, retryable: true }),
    );
    expect(limited).toMatchObject({ code: 'E_API_RATE_LIMIT', status: 429, retryable: true, ambiguous: false });
  });

  it('a refused key is fatal and never retried', () => {
    expect(
      classifyError(new AuthenticationError('E_API_AUTH', 'bad key', { status: 401, retryable: true })),
    ).toMatchObject({ fatal: true, retryable: false });
  });

  it('a request that got no answer is ambiguous (it may have stored a file)', () => {
    expect(classifyError(new APIConnectionError('reset'))).toMatchObject({
      code: 'E_API_CONNECTION',
      retryable: true,
      ambiguous: true,
      status: null,
    });
    expect(classifyError(new APIError('E_API', 'answered', { status: 400 }))).toMatchObject({
      ambiguous: false,
      retryable: false,
    });
  });

  it('local file problems and a file that changed mid-upload are neither retried nor ambiguous', () => {
    expect(classifyError(Object.assign(new Error('denied'), { code: 'EACCES' }))).toMatchObject({
      code: 'EACCES',
      retryable: false,
      ambiguous: false,
    });
    expect(classifyError(new UploadSourceError('short', 10, 0))).toMatchObject({
      code: 'E_UPLOAD_SOURCE',
      retryable: false,
      ambiguous: false,
    });
  });

  it('reports the wait the server asked for, read against the clock of when its answer came', () => {
    const answeredAt = Date.UTC(2026, 0, 1, 12, 0, 0);
    const limited = (headers: Record<string, string>) =>
      errorFromResponse({
        status: 429,
        headers,
        bodyText: '',
        method: 'POST',
        path: '/v1/files',
        retryable: true,
        now: answeredAt,
      });
    expect(classifyError(limited({ 'retry-after': new Date(answeredAt + 5000).toUTCString() })).retryAfterMs).toBe(
      5000,
    );
    expect(classifyError(limited({ 'retry-after-ms': '250' })).retryAfterMs).toBe(250);
    expect(classifyError(limited({})).retryAfterMs).toBeNull();
  });
});
