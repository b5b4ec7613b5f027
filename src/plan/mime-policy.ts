/**
 * The MIME type a file is uploaded with, chosen by what the file is for in a Messages request
 * (docs/files-api-facts.md §6, §8, §11), pure:
 *   - PDF -> application/pdf, a `document` block;
 *   - JPEG, PNG, GIF, WebP -> their image type, an `image` block;
 *   - text-like files (Markdown, plain text, CSV/TSV, JSON, YAML, XML, HTML, logs, source code)
 *     -> `text/plain; charset=utf-8`, a `document` block: a `document` accepts only
 *     application/pdf and text/plain, so `text/markdown` or `text/x-python` would give an id the
 *     model cannot read;
 *   - anything else -> its registered type, for the code-execution tool's `container_upload`.
 * A text-like file that is not valid UTF-8 keeps its registered type (a `text/plain; charset=utf-8`
 * claim would be false) and the choice says why it cannot be a document.
 * `sync.mimeTypes` overrides the type per extension; the block then follows the type.
 */
import path from 'node:path';
import mime from 'mime-types';

export type BlockType = 'document' | 'image' | 'container_upload';

export const TEXT_PLAIN_UTF8 = 'text/plain; charset=utf-8';
const FALLBACK_TYPE = 'application/octet-stream';

const IMAGE_TYPES: ReadonlySet<string> = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

/** Extensions (lower case, with the dot) read as text by the model. */
const TEXT_LIKE_EXTENSIONS: ReadonlySet<string> = new Set(
  (
    '.txt .text .md .markdown .mdx .rst .adoc .org .tex .csv .tsv .json .jsonl .ndjson .yaml .yml .toml .ini .cfg .conf ' +
    '.env .properties .xml .html .htm .xhtml .svg .css .scss .less .log .py .pyi .ipynb .js .mjs .cjs .jsx .ts .mts .cts ' +
    '.tsx .java .kt .kts .scala .groovy .gradle .c .h .cc .cpp .cxx .hpp .hh .cs .go .rs .rb .php .pl .pm .lua .r .jl ' +
    '.swift .m .mm .dart .ex .exs .erl .hs .ml .mli .fs .fsx .clj .cljs .elm .vue .svelte .sh .bash .zsh .fish .ps1 ' +
    '.bat .cmd .sql .graphql .gql .proto .tf .hcl .nix .dockerfile .makefile .cmake .diff .patch .srt .vtt .bib'
  ).split(' '),
);
/** Extensionless names that are text (a Makefile, a Dockerfile). */
const TEXT_LIKE_NAMES: ReadonlySet<string> = new Set([
  'makefile',
  'dockerfile',
  'readme',
  'license',
  'changelog',
  'gemfile',
  'rakefile',
  'procfile',
]);

export interface MimeChoice {
  /** The Content-Type sent with the upload (and recorded in the index). */
  mimeType: string;
  block: BlockType;
  /** Why a text-like file is not a document (not UTF-8), or null. */
  note: string | null;
}

interface MimeOptions {
  /** `sync.mimeTypes`: extension (".md", lower case) -> type. */
  overrides?: Readonly<Record<string, string>>;
  /**
   * Whether the content is valid UTF-8; asked only for a text-like file (it reads the file).
   * Absent: assumed valid.
   */
  isUtf8?: boolean;
}

/** The extension of a relative path, lower case with its dot ('' when none). */
function extensionOf(relPath: string): string {
  return path.posix.extname(relPath).toLowerCase();
}

/** Whether the policy sends this path as text/plain (so its content must be checked for UTF-8). */
export function isTextLike(relPath: string, overrides?: Readonly<Record<string, string>>): boolean {
  const ext = extensionOf(relPath);
  if (overrides && ext in overrides) return false;
  if (ext === '') return TEXT_LIKE_NAMES.has(path.posix.basename(relPath).toLowerCase());
  return TEXT_LIKE_EXTENSIONS.has(ext);
}

/** The type registered for the path's extension (what was sent before this policy). */
export function registeredType(relPath: string): string {
  return mime.lookup(relPath) || FALLBACK_TYPE;
}

/** The block a file uploaded with `mimeType` can be used in. */
export function blockTypeOf(mimeType: string): BlockType {
  const base = mimeType.split(';')[0]!.trim().toLowerCase();
  if (base === 'application/pdf' || base === 'text/plain') return 'document';
  if (IMAGE_TYPES.has(base)) return 'image';
  return 'container_upload';
}

export function chooseMimeType(relPath: string, options: MimeOptions = {}): MimeChoice {
  const ext = extensionOf(relPath);
  const override = options.overrides?.[ext];
  if (override !== undefined) return { mimeType: override, block: blockTypeOf(override), note: null };
  if (isTextLike(relPath)) {
    if (options.isUtf8 === false) {
      const mimeType = registeredType(relPath);
      return {
        mimeType,
        block: blockTypeOf(mimeType),
        note: `not valid UTF-8, so it cannot be a document block: uploaded as ${mimeType} (container_upload); save it as UTF-8 to use it as a document`,
      };
    }
    return { mimeType: TEXT_PLAIN_UTF8, block: 'document', note: null };
  }
  const mimeType = registeredType(relPath);
  return { mimeType, block: blockTypeOf(mimeType), note: null };
}

/**
 * Whether a synced copy went up with a type whose block is not the one the policy (and
 * `sync.mimeTypes`) gives the file now: a copy from before this policy (type not recorded: it
 * went with its registered type, so a Markdown note is no document) or from before a change of
 * `sync.mimeTypes`. Such a file is uploaded again. Blocks are compared, not type strings, so a
 * server that spells a type its own way (`text/plain;charset=UTF-8`) causes no upload. A file
 * already found not UTF-8 (a note) is judged as such.
 */
export function typeIsStale(
  row: { path: string; mimeType?: string | null; mimeNote?: string | null },
  overrides?: Readonly<Record<string, string>>,
): boolean {
  const sent = row.mimeType ?? registeredType(row.path);
  const wanted = chooseMimeType(row.path, { ...(overrides ? { overrides } : {}), isUtf8: !row.mimeNote });
  return blockTypeOf(sent) !== wanted.block;
}
