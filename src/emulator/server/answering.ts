/** Writing answers: JSON bodies, errors that may arrive while a request body is still coming in, downloads. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { EmulatorApiError, notFound } from '../api-error.js';
import type { Entry } from '../store/file-table.js';
import type { StorageBackend } from '../store/storage-backend.js';

/** Bodies up to this size are read before an error that is not a 413 is answered. */
const DRAIN_BEFORE_ERROR_BYTES = 16 * 1024 * 1024;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', String(Buffer.byteLength(text)));
  res.end(text);
}

/**
 * Answers an error at once. When the request body is still arriving the answer says
 * `connection: close`, so Node closes the socket once the answer is out: the client reads the
 * error (undici does, mid-upload) and nothing more of a refused body is read or stored.
 */
export async function answerError(
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  err: EmulatorApiError,
): Promise<void> {
  if (res.headersSent || res.destroyed) return;
  let incomplete = !(req.complete || req.readableEnded);
  // A refusal that is not about size (a 429, a 5xx, a bad key) of a modest body is answered
  // after reading the body, as an API server behind a proxy does: answering mid-upload and
  // closing races the client's write and reaches it as a connection error, not as the 429.
  const declared = Number(req.headers['content-length']);
  if (incomplete && err.status !== 413 && Number.isFinite(declared) && declared <= DRAIN_BEFORE_ERROR_BYTES) {
    try {
      for await (const chunk of req) void chunk;
      incomplete = false;
    } catch {
      // the client went away: nothing to answer
    }
    if (res.destroyed) return;
  }
  sendJson(res, err.status, err.body(requestId), incomplete ? { ...err.headers, connection: 'close' } : err.headers);
}

/**
 * GET /v1/files/{id}/content: 404 for an unknown file, 404 file_expired once past `expires_at`
 * (its metadata still lists), 400 file_not_downloadable for an uploaded file (docs/files-api-facts.md §1.5).
 */
export async function answerDownload(
  res: ServerResponse,
  entry: Entry | undefined,
  id: string,
  nowMicros: number,
  backend: StorageBackend,
): Promise<void> {
  if (!entry) throw notFound(id);
  if (entry.expiresMicros !== null && entry.expiresMicros <= nowMicros) {
    throw new EmulatorApiError(404, `File ${id} has expired.`, { errorCode: 'file_expired' });
  }
  if (!entry.file.downloadable) {
    throw new EmulatorApiError(400, `File ${id} is not downloadable: only files created by tools can be downloaded.`, {
      errorCode: 'file_not_downloadable',
    });
  }
  res.statusCode = 200;
  res.setHeader('content-type', entry.file.mime_type);
  res.setHeader('content-length', String(entry.file.size_bytes));
  await pipeline(backend.streamBlob(id), res);
}
