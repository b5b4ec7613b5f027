/**
 * The Files API's rules for an uploaded filename (docs/files-api-facts.md §1.2): 1–255
 * characters, none of `/ \ < > : " | ? *` and no code point 0–31. The one copy of these rules:
 * the client checks a name before it uploads, the emulator refuses what the API refuses, and
 * src/plan/naming.ts builds names that pass.
 */

/** The longest filename an upload may carry, in characters (code points). */
export const MAX_UPLOAD_FILENAME_CHARS = 255;
/** Characters the API refuses in an uploaded filename, besides code points 0–31. */
export const FORBIDDEN_FILENAME_CHARS: ReadonlySet<string> = new Set(['/', '\\', '<', '>', ':', '"', '|', '?', '*']);
/** Code points up to this one are control characters the API refuses. */
export const MAX_CONTROL_CODE_POINT = 31;

/** Why the API refuses this upload filename ("must …", to follow the name), or null when it is acceptable. */
export function filenameProblem(name: string): string | null {
  const chars = [...name];
  if (chars.length < 1 || chars.length > MAX_UPLOAD_FILENAME_CHARS) {
    return `must be 1-${MAX_UPLOAD_FILENAME_CHARS} characters long, got ${chars.length}`;
  }
  for (const ch of chars) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp <= MAX_CONTROL_CODE_POINT)
      return `must not contain control characters (found U+${cp.toString(16).padStart(4, '0').toUpperCase()})`;
    if (FORBIDDEN_FILENAME_CHARS.has(ch))
      return `must not contain any of the forbidden characters / \\ < > : " | ? * (found ${JSON.stringify(ch)})`;
  }
  return null;
}
