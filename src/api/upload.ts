/**
 * The multipart upload (POST /v1/files) on the transport's retry loop, with what the SDKs lack:
 * a body built by hand and streamed in constant memory (./multipart.ts), a file opened once so
 * every attempt sends the same inode, and no duplicate when an answer is lost: before a retry the
 * client looks for the file the unanswered attempt may have stored (see recoverLostUpload).
 */
import { constants as fsConstants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import mime from 'mime-types';
import { APIError, APIUserAbortError, BadRequestError, UploadSourceError, UploadUnconfirmedError } from './errors.js';
import { MultipartBody, chunksOf, layoutMultipart } from './multipart.js';
import { isRetryable } from './retry.js';
import type { Transport } from './transport.js';
import { asFileMetadata } from './as-file-metadata.js';
import { filenameProblem } from '../files-api/filename-rules.js';
import { MAX_EXPIRES_IN_SECONDS, MIN_EXPIRES_IN_SECONDS, mayBeStoredBy } from '../files-api/limits.js';
import type { RecentFiles, UploadOptions, UploadResult, UploadSource } from './types.js';
import type { FileMetadata } from '../files-api/wire.js';
import { ErrorCode } from '../errors.js';

/** What the upload needs from the rest of the client. */
export interface UploadContext {
  transport: Transport;
  shape: 'ga' | 'beta';
  /** The newest files, one shared listing for concurrent lookups (the lost-upload lookup). */
  recentFiles: (signal: AbortSignal | undefined) => Promise<RecentFiles>;
  recoveryClockSkewMs: number;
}

/** An upload source with a path already opened (see uploadFile()). */
type OpenedSource = Exclude<UploadSource, { path: string }> | { handle: FileHandle };

/**
 * Uploads a file as multipart/form-data. A `{path}` is opened once and stat'ed per attempt, and
 * streamed from disk (at most the stat'ed size, so a growing file is not over-sent; a shrinking one
 * aborts with UploadSourceError). The returned sha256 is of the bytes that were sent.
 */
export async function uploadFile(
  ctx: UploadContext,
  source: UploadSource,
  options: UploadOptions,
): Promise<UploadResult> {
  if (!('path' in source)) return uploadOpened(ctx, source, options);
  // Open once, without following a final symlink, and send every attempt from that one file:
  // a path swapped for a link between attempts can never make a retry read something else.
  const handle = await open(source.path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  try {
    const st = await handle.stat();
    if (options.expectedIno !== undefined && st.ino !== options.expectedIno) {
      throw new UploadSourceError(
        `${source.path} is no longer the file that was scanned (it was replaced); not uploaded.`,
        st.size,
        st.size,
      );
    }
    // A small file is read whole now, before the request waits for its turn, and every attempt
    // sends those bytes: no file read while a request slot is held, and no re-read per retry.
    if (st.size <= WHOLE_READ_BYTES)
      return await uploadOpened(ctx, { bytes: await readWhole(handle, st.size, source.path) }, options);
    return await uploadOpened(ctx, { handle }, options);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

async function uploadOpened(ctx: UploadContext, source: OpenedSource, options: UploadOptions): Promise<UploadResult> {
  const problem = filenameProblem(options.filename);
  if (problem !== null) {
    throw new BadRequestError(
      ErrorCode.ApiBadFilename,
      `The remote filename ${JSON.stringify(options.filename)} ${problem}.`,
      {
        hint: 'Rename the file, or let the sync engine derive a valid remote name.',
      },
    );
  }
  const fields: Array<[string, string]> = [];
  if (options.expiresInSeconds !== undefined) {
    const s = options.expiresInSeconds;
    if (ctx.shape !== 'ga') {
      throw new BadRequestError(ErrorCode.ApiBadOption, 'expires_in_seconds needs the GA API shape.');
    }
    if (!Number.isInteger(s) || s < MIN_EXPIRES_IN_SECONDS || s > MAX_EXPIRES_IN_SECONDS) {
      throw new BadRequestError(
        ErrorCode.ApiBadOption,
        `expires_in_seconds must be an integer from ${MIN_EXPIRES_IN_SECONDS} to ${MAX_EXPIRES_IN_SECONDS}, got ${s}.`,
      );
    }
    fields.push(['expires_in_seconds', String(s)]);
  }
  const mimeType = options.mimeType || mime.lookup(options.filename) || 'application/octet-stream';
  const layout = layoutMultipart(options.filename, mimeType, fields);

  /** This attempt's body. */
  let body: MultipartBody | undefined;
  /** Start of the earliest attempt whose complete body got no answer: the file may exist since. */
  let lostSince: number | undefined;
  let lostBody: MultipartBody | undefined;
  return ctx.transport.request<UploadResult>({
    method: 'POST',
    path: '/v1/files',
    signal: options.signal,
    headers: { 'content-type': layout.contentType },
    body: async (touch) => {
      const size = await sourceSize(source);
      body = new MultipartBody(layout, size, () => sourceChunks(source, size), touch);
      return { stream: body, length: body.contentLength };
    },
    consume: async (b, touch) => {
      const file = asFileMetadata(await ctx.transport.json(b, touch));
      return { file, sha256: body!.digest(), bytesSent: body!.bytesSent, recovered: false };
    },
    onFailure: async (failed) => {
      if (body?.sourceError) throw body.sourceError;
      if (failed.error instanceof UploadSourceError || !(failed.error instanceof APIError)) throw failed.error;
      const unanswered = failed.outcome.kind === 'connection' || failed.outcome.kind === 'timeout';
      if (unanswered && body?.complete === true) {
        lostSince ??= failed.attemptStart;
        lostBody = body;
      }
      if (lostSince !== undefined && lostBody !== undefined && isRetryable(failed.outcome)) {
        let found: FileMetadata | undefined;
        try {
          found = await recoverLostUpload(ctx, options, lostBody.size, lostSince);
        } catch (err) {
          if (err instanceof APIUserAbortError) throw err;
          // Uploading again could store a second copy: stop, and say the first may exist.
          throw new UploadUnconfirmedError(options.filename, lostBody.size, lostSince, err);
        }
        if (found) {
          return { value: { file: found, sha256: lostBody.digest(), bytesSent: lostBody.bytesSent, recovered: true } };
        }
      }
      // A stream can be read once: after its first byte was taken there is nothing to send again.
      if ('stream' in source && body?.sourceTouched) throw failed.error;
      return undefined;
    },
  });
}

/**
 * Looks for the file a lost response may have stored: the newest file in one short page with the
 * same filename and size, created no earlier than the attempt's start minus the clock-skew
 * allowance. The SDKs skip this and upload a second copy.
 */
async function recoverLostUpload(
  ctx: UploadContext,
  options: UploadOptions,
  size: number,
  since: number,
): Promise<FileMetadata | undefined> {
  const { files: newest } = await ctx.recentFiles(options.signal);
  const excluded = new Set(options.recoveryExcludeIds ?? []);
  return newest.find(
    (f) =>
      f.filename === options.filename &&
      f.size_bytes === size &&
      mayBeStoredBy(Date.parse(f.created_at), since, ctx.recoveryClockSkewMs) &&
      !excluded.has(f.id),
  );
}

async function sourceSize(source: OpenedSource): Promise<number> {
  if ('handle' in source) return (await source.handle.stat()).size;
  if ('bytes' in source) return source.bytes.length;
  if (!Number.isInteger(source.size) || source.size < 0) {
    throw new BadRequestError(ErrorCode.ApiBadOption, `A stream source needs its size in bytes, got ${source.size}.`);
  }
  return source.size;
}

/** Files up to this size are read into memory before the request (see uploadFile). */
const WHOLE_READ_BYTES = 64 * 1024;

/**
 * The whole opened file, which stat said is `size` bytes: one byte more is asked for, so a file
 * that grew is noticed as surely as one that shrank, and neither is sent.
 */
async function readWhole(handle: FileHandle, size: number, path: string): Promise<Uint8Array> {
  const buf = Buffer.allocUnsafe(size + 1);
  let total = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buf, total, buf.length - total, total);
    if (bytesRead === 0) break;
    total += bytesRead;
    if (total > size) break;
  }
  if (total !== size) {
    throw new UploadSourceError(
      `${path} changed while it was read (${total > size ? 'it grew' : `it has ${total} of the ${size} bytes stat reported`}); not uploaded.`,
      size,
      total,
    );
  }
  return buf.subarray(0, size);
}

/** Read size for a file source: what fs read streams use (a larger one made an early 413 reach us as a reset more often). */
const FILE_CHUNK_BYTES = 64 * 1024;

/**
 * Up to `size` bytes of the opened file from its start, by positional reads. Not a read stream:
 * destroying a stream made from a FileHandle (what an aborted attempt does) closes the handle on
 * Node 20 even with `autoClose: false`, and every retry then failed with "file closed". A
 * generator that stops early leaves the handle open, so each attempt re-reads the same inode.
 * Ends early when the file shrank (MultipartBody turns that into UploadSourceError).
 */
async function* fileChunks(handle: FileHandle, size: number): AsyncGenerator<Uint8Array> {
  let position = 0;
  while (position < size) {
    // A fresh buffer per chunk: the HTTP client may still hold the previous one.
    const buf = Buffer.allocUnsafe(Math.min(FILE_CHUNK_BYTES, size - position));
    const { bytesRead } = await handle.read(buf, 0, buf.length, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

function sourceChunks(source: OpenedSource, size: number): AsyncIterable<Uint8Array> {
  if ('handle' in source) return fileChunks(source.handle, size);
  if ('bytes' in source) return chunksOf(source.bytes);
  return source.stream;
}
