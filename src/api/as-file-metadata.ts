import type { FileMetadata } from '../files-api/wire.js';
import { APIError } from './errors.js';
import { ErrorCode } from '../errors.js';

export function badResponse(what: string): APIError {
  return new APIError(ErrorCode.ApiBadResponse, `The API answered with a bad response: ${what}.`, {
    hint: 'Check the API base URL: it may point at something other than the Files API (a proxy, a captive portal).',
  });
}

/** Checks the fields claude-filesync relies on; anything else is a bad response, not a file. */
export function asFileMetadata(x: unknown): FileMetadata {
  const f = x as Partial<FileMetadata> | null;
  if (
    f === null ||
    typeof f !== 'object' ||
    typeof f.id !== 'string' ||
    f.id === '' ||
    typeof f.filename !== 'string' ||
    typeof f.size_bytes !== 'number' ||
    typeof f.created_at !== 'string'
  ) {
    throw badResponse('something that is not a file object (no id, filename, size_bytes or created_at)');
  }
  return f as FileMetadata;
}
