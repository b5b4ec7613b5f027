/**
 * The admin surface under /_emulator/ (the key the emulator started with, whatever the run-time
 * key state; no anthropic-version; never faulted), so `claude-filesync emulator` users can drive
 * faults with curl and tests can drive a spawned daemon's emulator:
 *   GET files · POST files {filename, content_base64, mime_type?, downloadable?, expires_in_seconds?}
 *   POST files/{id}/expire · POST expire-all -> {expired: [ids]}
 *   GET stats {since, accepted, rejected429, byKind, byKey, …} · POST reset-stats
 *   GET faults · PUT faults (JSON partial, incl. requestsPerMinute, rateLimitMode; answers the full config)
 *   GET storm · PUT storm {durationMs, retryAfterSeconds?, retryAfterMs?} · DELETE storm
 *   GET workspace · PUT workspace {workspaceId?} (absent: a new generated id) -> {workspaceId}
 *   GET storage · PUT storage {storageLimitBytes} -> {storageLimitBytes, usedBytes}
 *   GET key · POST key/revoke · POST key/rotate {key} · POST key/restore -> {state}
 */
import type { IncomingMessage } from 'node:http';
import { EmulatorApiError } from '../api-error.js';
import { readJson } from './routing.js';
import type { KeyControl } from './key-guard.js';
import type { StormSettings, StormState } from '../faults/admission.js';
import type { AddFileInput, EmulatorStats, FaultConfig, StoredFile } from '../emulator-types.js';

/** What the admin routes need of the emulator (its public API). */
export interface AdminTarget {
  files(): StoredFile[];
  addFile(input: AddFileInput): Promise<StoredFile>;
  expireFile(id: string): Promise<StoredFile | null>;
  expireAll(): Promise<string[]>;
  stats(): EmulatorStats;
  resetStats(): void;
  faults(): FaultConfig;
  setFaults(partial: Partial<FaultConfig>): void;
  startStorm(settings: StormSettings): StormState;
  endStorm(): void;
  storm(): StormState | null;
  readonly workspaceId: string;
  setWorkspaceId(id?: string): Promise<string>;
  storage(): { storageLimitBytes: number; usedBytes: number };
  setStorageLimitBytes(bytes: number): void;
  readonly key: KeyControl;
}

/** Runs one admin request; returns the status and JSON body to answer, or throws an EmulatorApiError. */
export async function handleAdmin(target: AdminTarget, req: IncomingMessage, pathname: string): Promise<unknown> {
  const route = `${req.method} ${pathname.replace(/\/+$/, '')}`;
  const expire = /^POST \/_emulator\/files\/([^/]+)\/expire$/.exec(route);
  if (expire) {
    const id = decodeURIComponent(expire[1] as string);
    const file = await target.expireFile(id);
    if (!file) throw new EmulatorApiError(404, `File ${id} not found.`);
    return file;
  }
  switch (route) {
    case 'GET /_emulator/files':
      return { data: target.files() };
    case 'POST /_emulator/files': {
      const body = (await readJson(req)) as Record<string, unknown>;
      if (typeof body.filename !== 'string' || typeof body.content_base64 !== 'string') {
        throw new EmulatorApiError(
          400,
          'expected {"filename": string, "content_base64": string, "mime_type"?, "downloadable"?, "expires_in_seconds"?}',
        );
      }
      return asBadRequest(() =>
        target.addFile({
          filename: body.filename as string,
          bytes: Buffer.from(body.content_base64 as string, 'base64'),
          ...(typeof body.mime_type === 'string' ? { mimeType: body.mime_type } : {}),
          ...(typeof body.downloadable === 'boolean' ? { downloadable: body.downloadable } : {}),
          ...(typeof body.expires_in_seconds === 'number' ? { expiresInSeconds: body.expires_in_seconds } : {}),
        }),
      );
    }
    case 'POST /_emulator/expire-all':
      return { expired: await target.expireAll() };
    case 'GET /_emulator/stats':
      return target.stats();
    case 'POST /_emulator/reset-stats':
      target.resetStats();
      return target.stats();
    case 'GET /_emulator/faults':
      return target.faults();
    case 'PUT /_emulator/faults': {
      const body = await readObject(req, 'expected a JSON object of fault settings');
      await asBadRequest(async () => target.setFaults(body as Partial<FaultConfig>));
      return target.faults();
    }
    case 'GET /_emulator/storm':
      return { storm: target.storm() };
    case 'PUT /_emulator/storm': {
      const body = await readObject(
        req,
        'expected {"durationMs": number, "retryAfterSeconds"?: integer, "retryAfterMs"?: number|null}',
      );
      return { storm: await asBadRequest(async () => target.startStorm(body as unknown as StormSettings)) };
    }
    case 'DELETE /_emulator/storm':
      target.endStorm();
      return { storm: null };
    case 'GET /_emulator/workspace':
      return { workspaceId: target.workspaceId };
    case 'PUT /_emulator/workspace': {
      const body = await readObject(req, 'expected {"workspaceId"?: string}');
      const id = body.workspaceId;
      return {
        workspaceId: await asBadRequest(() => target.setWorkspaceId(id === undefined ? undefined : (id as string))),
      };
    }
    case 'GET /_emulator/storage':
      return target.storage();
    case 'PUT /_emulator/storage': {
      const body = await readObject(req, 'expected {"storageLimitBytes": integer}');
      await asBadRequest(async () => target.setStorageLimitBytes(body.storageLimitBytes as number));
      return target.storage();
    }
    case 'GET /_emulator/key':
      return target.key.state();
    case 'POST /_emulator/key/revoke':
      target.key.revoke();
      return target.key.state();
    case 'POST /_emulator/key/rotate': {
      const body = await readObject(req, 'expected {"key": string}');
      await asBadRequest(async () => target.key.rotate(body.key as string));
      return target.key.state();
    }
    case 'POST /_emulator/key/restore':
      target.key.restore();
      return target.key.state();
    default:
      throw new EmulatorApiError(404, `Not found: ${route}`);
  }
}

/** The JSON object body of a request (an empty body reads as {}), or a 400 saying what was expected. */
async function readObject(req: IncomingMessage, expected: string): Promise<Record<string, unknown>> {
  const body = await readJson(req);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new EmulatorApiError(400, expected);
  return body as Record<string, unknown>;
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
