/**
 * Remote filenames: a pure, deterministic function of the relative path, the content hash and
 * the owner tag.
 *
 * The rule
 * 1. flat = the path's segments joined by `__`, with every character the API refuses in a filename
 *    (`/ \ < > : " | ? *`, code points 0–31 and 127, and lone UTF-16 surrogates, which have no
 *    UTF-8 form) replaced by `_`.
 * 2. The extension is the last `.xxx` of the basename when `xxx` is 1–10 characters of
 *    [A-Za-z0-9] and the dot is not the basename's first character (`.bashrc` has none);
 *    the rest of flat is the stem.
 * 3. The name is `{stem}~o{owner8}~{first 10 hex of the content sha256}{ext}`,
 *    e.g. `reports/2026/q3.pdf` → `reports__2026__q3~o1a2b3c4d~3fa9c01b2e.pdf`, where owner8 is
 *    the owner tag (ownerTagFor: this folder on this host, or the configured instance name).
 * 4. When flattening is lossy (a character was replaced, or splitting flat on `__` and joining
 *    with `/` does not give the path back, as for `a__b/c` or `a_/b`), when the stem itself ends
 *    like a path or owner tag (`~p` or `~o` + 8 hex), or when the name would exceed 255 UTF-8
 *    bytes, a path tag is added: `{stem}~p{first 8 hex of sha256(path)}~o{owner8}~{content10}{ext}`,
 *    the stem cut on a code point boundary so that the whole name fits 255 UTF-8 bytes.
 * Names are otherwise kept as they are (spaces, case, unicode); a name is never empty.
 *
 * Legacy names, from before owner tags, are the same without `~o{owner8}` (remoteNameFor with a
 * null owner gives them, for `reconcile --adopt`). They stay valid for index rows that point at
 * them; their owner is unknown, so only the index (or an explicit --adopt) makes one ours.
 *
 * Why the content tag: the API keeps no content hash and no custom metadata, so carrying a short
 * content hash in the name makes the listing alone prove which remote copy holds which content.
 * Adoption after a crash or a lost index is then exact, not a guess by size; and the pattern
 * tells our files apart from files others put in the same workspace.
 * Why the path tag: it keeps names unique when the readable part cannot map back to one path.
 * Why the owner tag: ownership must survive a lost index and a workspace shared by several hosts.
 * The API keeps no metadata, so the name says whose copy it is: with the index gone we adopt and
 * clean up our own copies, and we never adopt or delete a copy carrying another owner's tag.
 */
import { createHash } from 'node:crypto';
import { MAX_UPLOAD_FILENAME_CHARS } from '../files-api/filename-rules.js';

/**
 * The API's limit is 255 characters (src/files-api/filename-rules.ts); our names count it in UTF-8
 * bytes, the strict reading, so they fit however a server counts (a byte count is never less
 * than the character count).
 */
export const MAX_REMOTE_NAME_BYTES = MAX_UPLOAD_FILENAME_CHARS;

const CONTENT_TAG_HEX = 10;
const PATH_TAG_HEX = 8;
const SEPARATOR = '__';

// Replaced by `_` in our names: what the API forbids (FORBIDDEN_FILENAME_CHARS, code points 0-31),
// plus DEL (127) and lone surrogates, which we never send (a surrogate has no UTF-8 form). With the
// u flag a well-formed surrogate pair is one code point, so the range only meets lone halves.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the API refuses control characters; this finds them.
const FORBIDDEN = /[/\\<>:"|?*\u0000-\u001f\u007f\ud800-\udfff]/gu;
const EXTENSION = /\.[A-Za-z0-9]{1,10}$/;
const PATH_TAG_AT_END = /~p[0-9a-f]{8}$/;
const TAG_AT_END = /~[po][0-9a-f]{8}$/;
const OWNER_TAG = /^[0-9a-f]{8}$/;
const MANAGED = /^(.*)~([0-9a-f]{10})(\.[A-Za-z0-9]{1,10})?$/su;
const OWNED_STEM = /^(.*)~o([0-9a-f]{8})$/su;
const PATH_TAGGED_STEM = /^(.*)~p([0-9a-f]{8})$/su;

const encoder = new TextEncoder();

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/** Splits a basename-ending string into stem and extension per rule 2. */
function splitExtension(flat: string, basename: string): { stem: string; ext: string } {
  const m = EXTENSION.exec(basename);
  if (!m || m.index === 0) return { stem: flat, ext: '' };
  const ext = m[0];
  return { stem: flat.slice(0, flat.length - ext.length), ext };
}

/** The longest prefix of `s` (whole code points) that fits in `maxBytes` UTF-8 bytes. */
function truncateUtf8(s: string, maxBytes: number): string {
  if (byteLength(s) <= maxBytes) return s;
  let bytes = 0;
  let end = 0;
  for (const ch of s) {
    const n = encoder.encode(ch).length;
    if (bytes + n > maxBytes) break;
    bytes += n;
    end += ch.length;
  }
  return s.slice(0, end);
}

/** The owner tag is computed where the configuration is resolved; it is the naming rule's, though. */
export { ownerTagFor, OWNER_TAG_HEX, type OwnerIdentity } from '../config/owner-tag.js';

/**
 * The remote filename for a relative, '/'-separated path whose content has this sha256 (hex),
 * uploaded by `owner` (an owner tag); a null owner gives the legacy name, without an owner tag.
 */
export function remoteNameFor(relPath: string, sha256: string, owner: string | null): string {
  if (owner !== null && !OWNER_TAG.test(owner))
    throw new TypeError(`an owner tag is 8 lowercase hex, got ${JSON.stringify(owner)}`);
  const content = sha256.slice(0, CONTENT_TAG_HEX).toLowerCase();
  const segments = relPath.split('/');
  const basenameRaw = segments[segments.length - 1] ?? '';
  const flatRaw = segments.join(SEPARATOR);
  const flat = flatRaw.replace(FORBIDDEN, '_');
  const basename = basenameRaw.replace(FORBIDDEN, '_');
  const { stem, ext } = splitExtension(flat, basename);
  const ownerPart = owner !== null ? `~o${owner}` : '';

  // A legacy name only guarded against a stem ending like a path tag; an owned name also against
  // one ending like an owner tag, so that the parser never reads a tag out of the readable part.
  const tagAtEnd = owner !== null ? TAG_AT_END : PATH_TAG_AT_END;
  const lossy = flat !== flatRaw || flat.split(SEPARATOR).join('/') !== relPath || tagAtEnd.test(stem);
  const plain = `${stem}${ownerPart}~${content}${ext}`;
  if (!lossy && byteLength(plain) <= MAX_REMOTE_NAME_BYTES) return plain;

  const suffix = `~p${sha256Hex(relPath).slice(0, PATH_TAG_HEX)}${ownerPart}~${content}${ext}`;
  return truncateUtf8(stem, MAX_REMOTE_NAME_BYTES - byteLength(suffix)) + suffix;
}

interface ParsedRemoteName {
  /** The readable part (the flattened path, perhaps shortened). */
  stem: string;
  pathTag: string | null;
  /** null for a legacy name (from before owner tags). */
  ownerTag: string | null;
  contentTag: string;
  ext: string;
}

/** The parts of a managed name, or null when the name does not have remoteNameFor's shape. */
export function parseRemoteName(name: string): ParsedRemoteName | null {
  const m = MANAGED.exec(name);
  if (!m) return null;
  let stem = m[1] ?? '';
  let ownerTag: string | null = null;
  const owned = OWNED_STEM.exec(stem);
  if (owned) {
    stem = owned[1] ?? '';
    ownerTag = owned[2] ?? null;
  }
  let pathTag: string | null = null;
  const tagged = PATH_TAGGED_STEM.exec(stem);
  if (tagged) {
    stem = tagged[1] ?? '';
    pathTag = tagged[2] ?? null;
  }
  return { stem, pathTag, ownerTag, contentTag: m[2] ?? '', ext: m[3] ?? '' };
}

/** The 8-hex owner tag carried by a managed name; null for legacy and unmanaged names. */
export function ownerTagOf(name: string): string | null {
  return parseRemoteName(name)?.ownerTag ?? null;
}
