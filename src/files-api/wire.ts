/**
 * The Files API's wire shapes and constants: what the API sends and expects, as on the wire
 * (snake_case). docs/files-api-facts.md is the reference for every fact here. Two shapes: GA
 * (default) and beta (`anthropic-beta: files-api-2025-04-14`). Shared by the client, the
 * emulator and the configuration; imports nothing.
 */
export type ApiShape = 'ga' | 'beta';

export const BETA_HEADER_VALUE = 'files-api-2025-04-14';
export const ANTHROPIC_VERSION = '2023-06-01';
export const DEFAULT_BASE_URL = 'https://api.anthropic.com';

/** FileMetadata as the API returns it (snake_case, as on the wire). */
export interface FileMetadata {
  id: string;
  type: 'file';
  filename: string;
  mime_type: string;
  size_bytes: number;
  /** RFC 3339. */
  created_at: string;
  downloadable?: boolean;
  /** GA shape only: upload time + expires_in_seconds, or null. */
  expires_at?: string | null;
  /** Beta shape only. */
  scope?: { id: string; type: string } | null;
}

export interface DeletedFile {
  id: string;
  type: 'file_deleted';
}
