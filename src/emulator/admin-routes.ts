/**
 * The admin surface under /_emulator/ (same key as /v1, no anthropic-version, never faulted), so
 * `claude-filesync emulator` users can drive faults with curl and tests can drive a spawned
 * daemon's emulator:
 *   GET files · POST files {filename, content_base64, mime_type?, downloadable?, expires_in_seconds?}
 *   GET stats · POST reset-stats · GET faults · PUT faults (JSON partial; answers the full config)
 */
import type { IncomingMessage } from 'node:http';
import { EmulatorApiError } from './api-error.js';
import { readJson } from './routing.js';
import type { AddFileInput, EmulatorStats, FaultConfig, StoredFile } from './types.js';

/** What the admin routes need of the emulator (its public API). */
export interface AdminTarget {
  files(): StoredFile[];
  addFile(input: AddFileInput): Promise<StoredFile>;
  stats(): EmulatorStats;
  resetStats(): void;
  faults(): FaultConfig;
  setFaults(partial: Partial<FaultConfig>): void;
}

/** Runs one admin request; returns the status and JSON body to answer, or throws an EmulatorApiError. */
export async function handleAdmin(target: AdminTarget, req: IncomingMessage, pathname: string): Promise<unknown> {
  const route = `${req.method} ${pathname.replace(/\/+$/, '')}`;
  switch (route) {
    case 'GET /_emulator/files':
      return { data: target.files() };
    case 'POST /_emulator/files': {
      const body = (await readJson(req)) as Record<string, unknown>;
      if (typeof body['filename'] !== 'string' || typeof body['content_base64'] !== 'string') {
        throw new EmulatorApiError(
          400,
          'expected {"filename": string, "content_base64": string, "mime_type"?, "downloadable"?, "expires_in_seconds"?}',
        );
      }
      return asBadRequest(() =>
        target.addFile({
          filename: body['filename'] as string,
          bytes: Buffer.from(body['content_base64'] as string, 'base64'),
          ...(typeof body['mime_type'] === 'string' ? { mimeType: body['mime_type'] } : {}),
          ...(typeof body['downloadable'] === 'boolean' ? { downloadable: body['downloadable'] } : {}),
          ...(typeof body['expires_in_seconds'] === 'number' ? { expiresInSeconds: body['expires_in_seconds'] } : {}),
        }),
      );
    }
    case 'GET /_emulator/stats':
      return target.stats();
    case 'POST /_emulator/reset-stats':
      target.resetStats();
      return target.stats();
    case 'GET /_emulator/faults':
      return target.faults();
    case 'PUT /_emulator/faults': {
      const body = await readJson(req);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new EmulatorApiError(400, 'expected a JSON object of fault settings');
      }
      await asBadRequest(async () => target.setFaults(body as Partial<FaultConfig>));
      return target.faults();
    }
    default:
      throw new EmulatorApiError(404, `Not found: ${route}`);
  }
}

/** Validation failures (TypeError with a message naming the field) become 400s. */
async function asBadRequest<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof TypeError) throw new EmulatorApiError(400, err.message);
    throw err;
  }
}
