/** The Files API's /v1 routes, with the faults the emulator injects before answering them. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { EmulatorApiError, notFound } from '../api-error.js';
import type { EmulatorStats, FaultConfig, RouteName, StoredFile } from '../emulator-types.js';
import type { RequestGate } from '../faults/admission.js';
import { pickInjectedError } from '../faults/faults.js';
import type { FileTable, NewFile } from '../store/file-table.js';
import { newFileId } from '../store/ids.js';
import type { StorageBackend } from '../store/storage-backend.js';
import { answerDownload, sendJson } from './answering.js';
import type { KeyGuard } from './key-guard.js';
import { ListQueryError, parseListQuery, runListQuery } from './list-query.js';
import { ANTHROPIC_VERSIONS, listModeFor, matchRoute, render } from './routing.js';
import { checkUploadHeaders, quotaExceeded, receiveUpload } from './upload-handler.js';

/** What the answer to one /v1 request is counted under (filled in while it is handled). */
export interface RequestContext {
  route: RouteName | null;
  key: string | null;
}

/** What the /v1 routes read and change of the emulator; faults, the PRNG and stats are read afresh each time. */
export interface V1State {
  readonly faults: FaultConfig;
  random(): number;
  readonly stats: EmulatorStats;
  readonly keys: KeyGuard;
  readonly gate: RequestGate;
  readonly table: FileTable;
  readonly backend: StorageBackend;
  readonly maxFileBytes: number;
  now(): number;
  nowMicros(): number;
  /** Bytes an upload may still take under the storage limit. */
  quotaLeft(): number;
  /** Drops metadata of files expired for more than 30 days. */
  sweep(): void;
  store(f: NewFile): Promise<StoredFile>;
}

export async function handleV1(
  s: V1State,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  ctx: RequestContext,
): Promise<void> {
  const faults = s.faults;
  // Three draws per request, always, so one seed gives one sequence whatever the rates are.
  const rReset = s.random();
  const rError = s.random();
  const rLost = s.random();
  const route = matchRoute(req.method ?? 'GET', url.pathname);
  if (route && route !== 'method') {
    s.stats.byRoute[route.name]++;
    ctx.route = route.name;
  }

  if (faults.hang) return; // never answered; close() destroys the socket
  if (rReset < faults.resetRate) {
    s.stats.injected.reset++;
    req.socket.destroy();
    return;
  }
  if (faults.latencyMs > 0) await sleep(faults.latencyMs);
  const key = s.keys.check(req);
  ctx.key = key;
  const version = req.headers['anthropic-version'];
  if (version === undefined) throw new EmulatorApiError(400, 'anthropic-version: header is required');
  if (!ANTHROPIC_VERSIONS.includes(String(version))) {
    throw new EmulatorApiError(400, `anthropic-version: ${JSON.stringify(version)} is not a valid version`);
  }
  if (route === null) throw new EmulatorApiError(404, `Not found: ${req.method} ${url.pathname}`);
  if (route === 'method') throw new EmulatorApiError(405, `Method ${req.method} not allowed on ${url.pathname}`);

  const refusal = s.gate.admit(key, s.now(), (name, value) => res.setHeader(name, value));
  if (refusal) {
    s.stats.injected[refusal.cause]++;
    throw refusal.error;
  }
  const injected = pickInjectedError(faults, rError);
  if (injected !== null) throw injectedError(s, injected);

  s.sweep();
  const mode = listModeFor(req.headers['anthropic-beta']);
  const shape = mode === 'beta' ? 'beta' : 'ga';
  const lose = rLost < faults.lostResponseRate;
  switch (route.name) {
    case 'upload': {
      const file = await upload(s, req, shape);
      if (lose) return loseResponse(s, req);
      return sendJson(res, 200, render(file, shape));
    }
    case 'list': {
      try {
        const body = runListQuery(s.table, parseListQuery(url.searchParams, mode), mode, (e) => render(e.file, shape));
        return sendJson(res, 200, body);
      } catch (err) {
        if (err instanceof ListQueryError) throw new EmulatorApiError(400, err.message);
        throw err;
      }
    }
    case 'retrieve': {
      const entry = s.table.get(route.id as string);
      if (!entry) throw notFound(route.id as string);
      return sendJson(res, 200, render(entry.file, shape));
    }
    case 'download':
      return answerDownload(res, s.table.get(route.id as string), route.id as string, s.nowMicros(), s.backend);
    case 'delete': {
      const id = route.id as string;
      if (!s.table.remove(id)) throw notFound(id);
      await s.backend.recordDelete(id);
      if (lose) return loseResponse(s, req);
      return sendJson(res, 200, { id, type: 'file_deleted' });
    }
  }
}

function injectedError(s: V1State, status: 500 | 529 | 429): EmulatorApiError {
  const f = s.faults;
  const headers: Record<string, string> = {};
  if (status !== 500) {
    if (f.retryAfterSeconds !== null) headers['retry-after'] = String(f.retryAfterSeconds);
    if (f.retryAfterMs !== null) headers['retry-after-ms'] = String(f.retryAfterMs);
  }
  if (status === 500) {
    s.stats.injected.e500++;
    return new EmulatorApiError(500, 'Internal server error (injected by the emulator)');
  }
  if (status === 529) {
    s.stats.injected.e529++;
    return new EmulatorApiError(529, 'Overloaded (injected by the emulator)', { headers });
  }
  s.stats.injected.e429++;
  return new EmulatorApiError(429, 'Rate limited (injected by the emulator)', { headers });
}

function loseResponse(s: V1State, req: IncomingMessage): void {
  s.stats.injected.lost++;
  req.socket.destroy();
}

async function upload(s: V1State, req: IncomingMessage, shape: 'ga' | 'beta'): Promise<StoredFile> {
  const boundary = checkUploadHeaders(req, s.maxFileBytes);
  const id = newFileId();
  const received = await receiveUpload(req, boundary, {
    shape,
    id,
    maxFileBytes: s.maxFileBytes,
    quotaLeft: s.quotaLeft(),
    backend: s.backend,
    onBytes: (n) => {
      s.stats.bytesReceived += n;
    },
  });
  // Other uploads may have finished while this one streamed.
  if (received.sizeBytes > s.quotaLeft()) {
    await received.abort();
    throw quotaExceeded();
  }
  await received.commit();
  return s.store({
    id,
    filename: received.filename,
    mimeType: received.mimeType,
    sizeBytes: received.sizeBytes,
    sha256: received.sha256,
    downloadable: false,
    expiresInSeconds: received.expiresInSeconds,
  });
}
