import { describe, expect, it } from 'vitest';
import { encodeListQuery, nextBetaQuery, nextGaQuery } from '../../src/api/pagination.js';
import {
  APIError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  InternalServerError,
  NotFoundError,
  OverloadedError,
  PermissionDeniedError,
  RateLimitError,
  RequestTooLargeError,
  errorFromResponse,
  excerpt,
} from '../../src/api/errors.js';
import { FilesyncError } from '../../src/errors.js';
import type { FileMetadata } from '../../src/files-api/wire.js';

const f = (id: string): FileMetadata => ({
  id,
  type: 'file',
  filename: `${id}.txt`,
  mime_type: 'text/plain',
  size_bytes: 1,
  created_at: '2026-01-01T00:00:00Z',
});

describe('beta pagination (the SDK Page class)', () => {
  it('forward mode sets after_id to last_id', () => {
    expect(nextBetaQuery({ limit: 2 }, { data: [f('a'), f('b')], hasMore: true, firstId: 'a', lastId: 'b' })).toEqual({
      limit: 2,
      after_id: 'b',
    });
  });

  it('forward mode replaces an earlier after_id', () => {
    expect(
      nextBetaQuery({ limit: 2, after_id: 'x' }, { data: [f('c')], hasMore: true, firstId: 'c', lastId: 'c' }),
    ).toEqual({ limit: 2, after_id: 'c' });
  });

  it('reverse mode (a before_id in the query) sets before_id to first_id and stays reverse', () => {
    const q1 = nextBetaQuery(
      { limit: 2, before_id: 'z' },
      { data: [f('x'), f('y')], hasMore: true, firstId: 'x', lastId: 'y' },
    );
    expect(q1).toEqual({ limit: 2, before_id: 'x' });
    const q2 = nextBetaQuery(q1!, { data: [f('v'), f('w')], hasMore: true, firstId: 'v', lastId: 'w' });
    expect(q2).toEqual({ limit: 2, before_id: 'v' });
  });

  it('stops when has_more is false or missing, data is empty, or the cursor is null', () => {
    expect(nextBetaQuery({}, { data: [f('a')], hasMore: false, firstId: 'a', lastId: 'a' })).toBeNull();
    expect(nextBetaQuery({}, { data: [f('a')], firstId: 'a', lastId: 'a' })).toBeNull();
    expect(nextBetaQuery({}, { data: [], hasMore: true, firstId: null, lastId: null })).toBeNull();
    expect(nextBetaQuery({}, { data: [f('a')], hasMore: true, firstId: 'a', lastId: null })).toBeNull();
    expect(nextBetaQuery({ before_id: 'q' }, { data: [f('a')], hasMore: true, firstId: null, lastId: 'a' })).toBeNull();
  });
});

describe('GA pagination (the SDK PageCursor class)', () => {
  it('carries the query forward with page = next_page', () => {
    expect(nextGaQuery({ limit: 5 }, { data: [f('a')], nextPage: 'page_2' })).toEqual({ limit: 5, page: 'page_2' });
  });

  it('stops on a null cursor or empty data', () => {
    expect(nextGaQuery({}, { data: [f('a')], nextPage: null })).toBeNull();
    expect(nextGaQuery({}, { data: [], nextPage: 'page_2' })).toBeNull();
  });

  it('encodes ids in bracket form', () => {
    expect(encodeListQuery({ ids: ['a', 'b'] })).toBe('ids%5B%5D=a&ids%5B%5D=b');
    expect(encodeListQuery({ limit: 10, after_id: 'f_1' })).toBe('limit=10&after_id=f_1');
  });
});

describe('errorFromResponse', () => {
  const base = { headers: {}, method: 'GET', path: '/v1/files/x', retryable: false };
  const envelope = (type: string, message: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ type: 'error', error: { type, message, ...extra }, request_id: 'req_body' });

  it.each([
    [400, BadRequestError, 'E_API_BAD_REQUEST'],
    [401, AuthenticationError, 'E_API_AUTH'],
    [403, PermissionDeniedError, 'E_API_PERMISSION'],
    [404, NotFoundError, 'E_API_NOT_FOUND'],
    [409, ConflictError, 'E_API_CONFLICT'],
    [413, RequestTooLargeError, 'E_API_TOO_LARGE'],
    [429, RateLimitError, 'E_API_RATE_LIMIT'],
    [500, InternalServerError, 'E_API_SERVER'],
    [504, InternalServerError, 'E_API_SERVER'],
    [529, OverloadedError, 'E_API_OVERLOADED'],
    [418, APIError, 'E_API'],
  ] as const)('status %i gives %o with code %s', (status, cls, code) => {
    const err = errorFromResponse({ ...base, status, bodyText: envelope('some_error', 'went wrong') });
    expect(err).toBeInstanceOf(cls);
    expect(err).toBeInstanceOf(APIError);
    expect(err).toBeInstanceOf(FilesyncError);
    expect(err.code).toBe(code);
    expect(err.status).toBe(status);
    expect(err.hint).toBeTruthy();
    expect(err.message).toContain(`${status} went wrong`);
  });

  it('reads error.type, details.error_code, and prefers the request-id header over the body', () => {
    const err = errorFromResponse({
      ...base,
      status: 400,
      headers: { 'request-id': 'req_header' },
      bodyText: envelope('invalid_request_error', 'Not downloadable', {
        details: { error_code: 'file_not_downloadable' },
      }),
    });
    expect(err.errorType).toBe('invalid_request_error');
    expect(err.errorCode).toBe('file_not_downloadable');
    expect(err.requestId).toBe('req_header');
    expect(err.hint).toMatch(/skills or the code execution tool/);
  });

  it('falls back to the body request_id', () => {
    const err = errorFromResponse({ ...base, status: 404, bodyText: envelope('not_found_error', 'File not found') });
    expect(err.requestId).toBe('req_body');
    expect(err.message).toContain('req_body');
  });

  it('401 hint names ANTHROPIC_API_KEY, 413 hint names the size limit', () => {
    expect(errorFromResponse({ ...base, status: 401, bodyText: '' }).hint).toMatch(/ANTHROPIC_API_KEY/);
    expect(errorFromResponse({ ...base, status: 413, bodyText: '' }).hint).toMatch(/500 MB/);
  });

  it("a proxy's HTML 413 gives a clear, trimmed message", () => {
    const html = `<html><head><title>413 Request Entity Too Large</title><style>body{}</style></head><body><center><h1>413 Request Entity Too Large</h1></center><hr><center>cloudflare</center>${'<!-- padding -->'.repeat(200)}</body></html>`;
    const err = errorFromResponse({ ...base, status: 413, bodyText: html });
    expect(err).toBeInstanceOf(RequestTooLargeError);
    expect(err.message).toContain('413 Request Entity Too Large');
    expect(err.message).not.toContain('<');
    expect(err.message.length).toBeLessThan(400);
    expect(err.errorType).toBeUndefined();
  });

  it('an empty body uses the status text', () => {
    const err = errorFromResponse({ ...base, status: 502, statusText: 'Bad Gateway', bodyText: '' });
    expect(err.message).toContain('502 Bad Gateway');
  });

  it('redacts the key from message, body and headers', () => {
    const key = 'sk-ant-secret-123456';
    const err = errorFromResponse({
      ...base,
      status: 401,
      headers: { 'x-echo': `key=${key}` },
      bodyText: envelope('authentication_error', `invalid x-api-key: ${key}`),
      apiKey: key,
    });
    expect(err.message).not.toContain(key);
    expect(JSON.stringify(err.body)).not.toContain(key);
    expect(JSON.stringify(err.headers)).not.toContain(key);
    expect(err.message).toContain('[REDACTED]');
  });

  it('excerpt collapses whitespace and cuts long text', () => {
    expect(excerpt('  a\n\n b  ')).toBe('a b');
    expect(excerpt('x'.repeat(500)).length).toBe(200);
  });
});
