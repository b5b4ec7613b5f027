/**
 * Upload filename and content-type rules of the Files API (files-api.md §1.2, §4.3).
 */
import mime from 'mime-types';

/** Characters the API refuses in an uploaded filename, besides code points 0–31. */
const FORBIDDEN = new Set(['/', '\\', '<', '>', ':', '"', '|', '?', '*']);
export const MAX_UPLOAD_FILENAME_CHARS = 255;
/** Metadata allows longer names (e.g. generated files); uploads stay at 255. */
export const MAX_METADATA_FILENAME_CHARS = 500;
export const DEFAULT_MIME_TYPE = 'application/octet-stream';

/** Why an upload filename is refused, or null when it is acceptable. */
export function filenameProblem(name: string): string | null {
  const chars = [...name];
  if (chars.length < 1 || chars.length > MAX_UPLOAD_FILENAME_CHARS) {
    return `filename must be 1-${MAX_UPLOAD_FILENAME_CHARS} characters long, got ${chars.length}`;
  }
  for (const ch of chars) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp <= 31) return `filename must not contain control characters (found U+${cp.toString(16).padStart(4, '0').toUpperCase()})`;
    if (FORBIDDEN.has(ch)) return `filename must not contain any of / \\ < > : " | ? * (found ${JSON.stringify(ch)})`;
  }
  return null;
}

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
