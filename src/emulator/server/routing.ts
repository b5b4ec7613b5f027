/** Request routing for /v1/files: the route table, the shape switch and the per-shape rendering. */
import type { IncomingMessage } from 'node:http';
import { BETA_HEADER_VALUE, type FileMetadata } from '../../files-api/wire.js';
import { EmulatorApiError } from '../api-error.js';
import type { ListMode } from './list-query.js';
import type { RouteName, StoredFile } from '../emulator-types.js';

/** Both versions the SDKs send (0.x: 2023-06-01, 1.x: 2026-10-21); Files behave the same under each. */
export const ANTHROPIC_VERSIONS: readonly string[] = ['2023-06-01', '2026-10-21'];
/** The Managed Agents beta that still gets after_id/before_id on the GA list (docs/files-api-facts.md §0). */
export const MANAGED_AGENTS_COMPAT_BETA = 'managed-agents-2026-04-01';

export interface Route {
  name: RouteName;
  id: string | null;
}

/** The values of a possibly repeated, comma-separated header. */
function headerList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

export function listModeFor(betaHeader: string | string[] | undefined): ListMode {
  const betas = headerList(betaHeader);
  if (betas.includes(BETA_HEADER_VALUE)) return 'beta';
  if (betas.includes(MANAGED_AGENTS_COMPAT_BETA)) return 'compat';
  return 'ga';
}

export function matchRoute(method: string, pathname: string): Route | 'method' | null {
  if (pathname === '/v1/files') {
    if (method === 'POST') return { name: 'upload', id: null };
    if (method === 'GET') return { name: 'list', id: null };
    return 'method';
  }
  const m = /^\/v1\/files\/([^/]+)(\/content)?$/.exec(pathname);
  if (!m?.[1]) return null;
  let id: string;
  try {
    id = decodeURIComponent(m[1]);
  } catch {
    return null;
  }
  if (m[2]) return method === 'GET' ? { name: 'download', id } : 'method';
  if (method === 'GET') return { name: 'retrieve', id };
  if (method === 'DELETE') return { name: 'delete', id };
  return 'method';
}

/** A stored file as one shape shows it: GA always has expires_at, beta never. */
export function render(file: StoredFile, shape: 'ga' | 'beta'): FileMetadata {
  const meta: FileMetadata = {
    id: file.id,
    type: 'file',
    filename: file.filename,
    mime_type: file.mime_type,
    size_bytes: file.size_bytes,
    created_at: file.created_at,
    downloadable: file.downloadable ?? false,
  };
  if (shape === 'ga') meta.expires_at = file.expires_at ?? null;
  return meta;
}

/** A small JSON body (admin requests). */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 1024 * 1024 * 1024) throw new EmulatorApiError(413, 'admin request body too large');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text === '' ? {} : JSON.parse(text);
  } catch {
    throw new EmulatorApiError(400, 'request body is not valid JSON');
  }
}
