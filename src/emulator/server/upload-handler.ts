/**
 * POST /v1/files: streams the multipart body through the parser into a blob, hashing as it goes,
 * so a 500 MB upload to the folder store takes constant memory. Stops reading at the size limit
 * or the quota and throws the API's answer; the caller decides how to finish the request.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { EmulatorApiError } from '../api-error.js';
import { defaultFilename, filenameProblem, resolveMimeType } from '../store/metadata-rules.js';
import { MultipartError, MultipartParser, boundaryFromContentType } from './multipart-parser.js';
import type { BlobWriter, StorageBackend } from '../store/storage-backend.js';

import { MAX_EXPIRES_IN_SECONDS, MIN_EXPIRES_IN_SECONDS } from '../../files-api/limits.js';
export { MAX_EXPIRES_IN_SECONDS, MIN_EXPIRES_IN_SECONDS };
/** Room for multipart framing when judging a request's Content-Length against the file limit. */
export const MULTIPART_SLACK_BYTES = 64 * 1024;

export interface UploadContext {
  shape: 'ga' | 'beta';
  id: string;
  maxFileBytes: number;
  /** Bytes still free under the storage quota. */
  quotaLeft: number;
  backend: StorageBackend;
  onBytes(n: number): void;
}

export interface ReceivedUpload {
  filename: string;
  mimeType: string;
  sizeBytes: number;
  sha256: string;
  expiresInSeconds: number | null;
  /** Commits the blob; call once the metadata is accepted. */
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export function tooLarge(maxFileBytes: number): EmulatorApiError {
  return new EmulatorApiError(413, `File too large: the maximum file size is ${maxFileBytes} bytes.`);
}

export function quotaExceeded(): EmulatorApiError {
  return new EmulatorApiError(400, 'Storage quota exceeded: delete files to free up space, then retry the upload.', {
    errorCode: 'storage_quota_exceeded',
  });
}

/** Rejects at once what the headers alone condemn, before any byte of the body is read. */
export function checkUploadHeaders(req: IncomingMessage, maxFileBytes: number): string {
  const boundary = boundaryFromContentType(req.headers['content-type']);
  if (!boundary) throw new EmulatorApiError(400, 'Content-Type must be multipart/form-data with a boundary');
  const length = Number(req.headers['content-length']);
  if (Number.isFinite(length) && length > maxFileBytes + MULTIPART_SLACK_BYTES) throw tooLarge(maxFileBytes);
  return boundary;
}

export async function receiveUpload(
  req: IncomingMessage,
  boundary: string,
  ctx: UploadContext,
): Promise<ReceivedUpload> {
  const parser = new MultipartParser(boundary);
  const hash = createHash('sha256');
  let current: 'file' | 'expires' | 'ignore' | null = null;
  let blob: BlobWriter | null = null;
  let filename: string | null = null;
  let mimeType = '';
  let size = 0;
  let expiresText: string | null = null;
  try {
    // destroyOnReturn false: on an early error the socket must survive to carry the answer.
    for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      ctx.onBytes(chunk.length);
      for (const ev of parser.write(chunk)) {
        if (ev.type === 'part') {
          if (ev.name === 'file') {
            if (blob) throw new EmulatorApiError(400, 'file: expected exactly one file part');
            if (ev.filename !== null && ev.filename !== '') {
              const problem = filenameProblem(ev.filename);
              if (problem) throw new EmulatorApiError(400, `Invalid filename: ${problem}`);
            }
            if (ctx.shape === 'beta' && ev.contentType === null) {
              throw new EmulatorApiError(400, 'file: the file part needs a Content-Type');
            }
            mimeType =
              ctx.shape === 'beta'
                ? (ev.contentType as string).trim().slice(0, 255)
                : resolveMimeType(ev.contentType, ev.filename ?? '');
            filename = ev.filename || defaultFilename(mimeType);
            blob = ctx.backend.createBlob(ctx.id);
            current = 'file';
          } else if (ev.name === 'expires_in_seconds') {
            expiresText = '';
            current = 'expires';
          } else {
            current = 'ignore';
          }
        } else if (ev.type === 'data') {
          if (current === 'file' && blob) {
            size += ev.bytes.length;
            if (size > ctx.maxFileBytes) throw tooLarge(ctx.maxFileBytes);
            if (size > ctx.quotaLeft) throw quotaExceeded();
            hash.update(ev.bytes);
            await blob.write(ev.bytes);
          } else if (current === 'expires') {
            expiresText = (expiresText ?? '') + ev.bytes.toString('utf8');
            if (expiresText.length > 32) throw new EmulatorApiError(400, 'expires_in_seconds: expected an integer');
          }
        } else if (ev.type === 'partEnd') {
          current = null;
        }
      }
    }
    parser.end();
    if (!blob || filename === null) throw new EmulatorApiError(400, 'file: a file part is required');
    let expiresInSeconds: number | null = null;
    // The beta API has no expiry; a beta request's field is ignored (docs/files-api-facts.md, uncertain #8).
    if (expiresText !== null && ctx.shape === 'ga') {
      const text = expiresText.trim();
      const n = Number(text);
      if (!/^\d+$/.test(text) || n < MIN_EXPIRES_IN_SECONDS || n > MAX_EXPIRES_IN_SECONDS) {
        throw new EmulatorApiError(
          400,
          `expires_in_seconds: expected an integer from ${MIN_EXPIRES_IN_SECONDS} to ${MAX_EXPIRES_IN_SECONDS}, got ${JSON.stringify(text)}`,
        );
      }
      expiresInSeconds = n;
    }
    const writer = blob;
    return {
      filename,
      mimeType,
      sizeBytes: size,
      sha256: hash.digest('hex'),
      expiresInSeconds,
      commit: () => writer.commit(),
      abort: () => writer.abort(),
    };
  } catch (err) {
    await blob?.abort();
    if (err instanceof MultipartError) throw new EmulatorApiError(400, `Malformed multipart body: ${err.message}`);
    throw err;
  }
}
