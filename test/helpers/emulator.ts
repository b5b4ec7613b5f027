/**
 * Test helpers around the Files API emulator: start one per test with cleanup, talk to it raw
 * (undici) and build multipart bodies by hand, so tests can send what the SDKs never would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { Emulator, type EmulatorOptions } from '../../src/emulator/index.js';

export const TEST_KEY = 'sk-ant-test-key';
export const BETA = 'files-api-2025-04-14';

/** Starts an emulator that only accepts TEST_KEY unless `apiKey` says otherwise. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  return Emulator.start({ apiKey: TEST_KEY, ...options });
}

export async function tempDir(prefix = 'filesync-emu-'): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface Part {
  name: string;
  filename?: string | null;
  contentType?: string | null;
  body: string | Uint8Array;
}

/** A multipart/form-data body and its Content-Type, built byte by byte as a client would. */
export function multipart(
  parts: Part[],
  boundary = '----emulatorTestBoundary7MA4YWxkTrZu0gW',
): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined && p.filename !== null) head += `; filename="${p.filename}"`;
    head += '\r\n';
    if (p.contentType) head += `Content-Type: ${p.contentType}\r\n`;
    head += '\r\n';
    chunks.push(Buffer.from(head, 'utf8'), Buffer.from(p.body), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export interface RawOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: Buffer | string | AsyncIterable<Uint8Array>;
  /** 'ga' (default), 'beta' (adds the files beta header) or 'none' (no auth/version headers). */
  shape?: 'ga' | 'beta' | 'none';
  signal?: AbortSignal;
}

/** One request with the headers an SDK would send (x-api-key + 2023-06-01), overridable. */
export async function raw(baseUrl: string, path: string, opts: RawOptions = {}): Promise<RawResponse> {
  const headers: Record<string, string | string[]> = {};
  if (opts.shape !== 'none') {
    headers['x-api-key'] = TEST_KEY;
    headers['anthropic-version'] = '2023-06-01';
    if (opts.shape === 'beta') headers['anthropic-beta'] = BETA;
  }
  Object.assign(headers, opts.headers ?? {});
  const res = await request(`${baseUrl}${path}`, {
    method: (opts.method ?? 'GET') as 'GET',
    headers,
    ...(opts.body !== undefined ? { body: opts.body as Buffer } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const text = await res.body.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

/** Uploads `body` as `filename` through a hand-built multipart request. */
export async function rawUpload(
  baseUrl: string,
  file: { filename?: string | null; contentType?: string | null; body: string | Uint8Array },
  opts: RawOptions & { expiresInSeconds?: string | number; extraParts?: Part[] } = {},
): Promise<RawResponse> {
  const parts: Part[] = [
    { name: 'file', filename: file.filename ?? null, contentType: file.contentType ?? null, body: file.body },
  ];
  if (opts.expiresInSeconds !== undefined)
    parts.push({ name: 'expires_in_seconds', body: String(opts.expiresInSeconds) });
  parts.push(...(opts.extraParts ?? []));
  const mp = multipart(parts);
  return raw(baseUrl, '/v1/files', {
    ...opts,
    method: 'POST',
    body: mp.body,
    headers: { 'content-type': mp.contentType, ...(opts.headers ?? {}) },
  });
}

/** Seeds `count` files through addFile (fast), returning their ids newest first. */
export async function seedFiles(emulator: Emulator, count: number, prefix = 'seed'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const f = await emulator.addFile({ filename: `${prefix}-${i}.txt`, bytes: Buffer.from(`content ${i}`) });
    ids.push(f.id);
  }
  return ids.reverse();
}
