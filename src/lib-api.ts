/**
 * The public types of the library entry point (src/lib.ts), self-contained: they import nothing,
 * so that `tsconfig.lib.json` emits declarations for this file alone (package.json `exports`
 * points `types` here). src/lib.ts implements them; the compiler checks it does.
 */

export type BlockType = 'document' | 'image' | 'container_upload';

/** One indexed file. */
export interface IndexedFile {
  /** Relative to the watched folder, '/'-separated. */
  path: string;
  /** The remote copy's id; usable in a request only when `state` is 'synced'. */
  fileId: string | null;
  sizeBytes: number;
  /** sha256 hex of the local content last seen. */
  sha256: string | null;
  /** 'held': gone from the folder with its remote delete held (its id is not handed out). */
  state: 'pending' | 'synced' | 'failed' | 'skipped' | 'held';
  /** Why the file failed or was skipped. */
  error: string | null;
  /** The type the copy was uploaded with; null when not recorded (uploaded by an older version). */
  mimeType?: string | null;
  /** The content block the file id fits, or null without a copy. */
  block?: BlockType | null;
  /** Why a text-like file is not a document (not UTF-8), or null. */
  note?: string | null;
}

export interface FilesyncIndex {
  /** The file id of a synced path (relative to the watched folder, '/'-separated), or null. */
  fileIdOf(path: string): string | null;
  /**
   * The Messages content block for a synced path: document, image or container_upload, by the
   * type it was uploaded with; null when the path is not synced.
   */
  blockOf(path: string): Record<string, unknown> | null;
  /** Every indexed file, by path, in any state (only 'synced' ones have a usable file id). */
  entries(): IndexedFile[];
  /** Closes the read-only connection. */
  close(): void;
}

export interface OpenIndexOptions {
  /**
   * Which target's index: 'emulator' for the built-in emulator, or the API's base URL (e.g.
   * 'https://api.anthropic.com'). The state directory keeps one index per target. When omitted,
   * the only index there is opened; with several, openIndex throws and asks for a target.
   */
  target?: string;
}

/**
 * Opens the index in `stateDir` (the daemon's state directory) read-only; throws an error with code
 * E_INDEX_MISSING when no daemon has run there. Safe while the daemon runs.
 */
export declare function openIndex(stateDir: string, options?: OpenIndexOptions): FilesyncIndex;
