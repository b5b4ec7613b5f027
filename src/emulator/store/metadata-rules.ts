/**
 * Upload filename and content-type rules of the Files API (docs/files-api-facts.md §1.2, §4.3).
 * The filename rules themselves are the client's (src/files-api/filename-rules.ts): one copy.
 */
import mime from 'mime-types';
export { filenameProblem, MAX_UPLOAD_FILENAME_CHARS } from '../../files-api/filename-rules.js';

/** Metadata allows longer names (e.g. generated files); uploads stay at MAX_UPLOAD_FILENAME_CHARS. */
export const MAX_METADATA_FILENAME_CHARS = 500;
export const DEFAULT_MIME_TYPE = 'application/octet-stream';

/** The type to store: the given one (without surrounding whitespace), else detected from the name. */
export function resolveMimeType(given: string | null | undefined, filename: string): string {
  const trimmed = given?.trim();
  // Node's FormData labels a part with no type as application/octet-stream, so that label is no
  // evidence of a choice: detect from the extension as the GA API does.
  if (trimmed && trimmed.toLowerCase() !== DEFAULT_MIME_TYPE) return trimmed.slice(0, 255);
  return mime.lookup(filename) || DEFAULT_MIME_TYPE;
}

/** A missing or empty filename is stored as `unnamed` plus the extension of the type, if known. */
export function defaultFilename(mimeType: string): string {
  const ext = mime.extension(mimeType);
  return ext ? `unnamed.${ext}` : 'unnamed';
}
