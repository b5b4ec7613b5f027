/**
 * The Files API emulator: node:http, both API shapes chosen per request by `anthropic-beta`,
 * memory or folder storage, fault injection with a seeded PRNG, and an admin surface under
 * /_emulator/ (same key, never faulted). docs/files-api-facts.md is the reference for every
 * behaviour.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import { API_MAX_FILE_BYTES } from '../api/types.js';
import { handleAdmin } from './admin-routes.js';
import { EmulatorApiError, notFound } from './api-error.js';
import { DEFAULT_FAULTS, TokenBucket, mergeFaults, pickInjectedError, seededRandom } from './faults.js';
import { FileTable, type Entry } from './file-table.js';
import { DEFAULT_MIME_TYPE, MAX_METADATA_FILENAME_CHARS, resolveMimeType } from './filename-rules.js';
import { MicrosClock, formatMicros, newFileId, newRequestId, parseMicros } from './ids.js';
import { ListQueryError, parseListQuery, runListQuery } from './list-query.js';
import { ANTHROPIC_VERSIONS, listModeFor, matchRoute, render } from './routing.js';
import { FolderBackend, MemoryBackend, type StorageBackend } from './storage-backend.js';
import type { AddFileInput, EmulatorLogger, EmulatorOptions, EmulatorStats, FaultConfig, StoredFile } from './types.js';
import { checkUploadHeaders, quotaExceeded, receiveUpload } from './upload-handler.js';

export const DEFAULT_STORAGE_LIMIT_BYTES = 1024 ** 4;
/** Expired files keep their metadata this long (docs/files-api-facts.md §6). */
const EXPIRED_METADATA_MICROS = 30 * 24 * 3600 * 1_000_000;

function emptyStats(): EmulatorStats {
  return {
    requests: 0,
    byRoute: { upload: 0, list: 0, retrieve: 0, download: 0, delete: 0 },
    byStatus: {},
    injected: { e500: 0, e529: 0, e429: 0, reset: 0, lost: 0, rateLimited: 0 },
    bytesReceived: 0,
  };
}

export class Emulator {
  readonly #server: Server;
  readonly #backend: StorageBackend;
  readonly #table = new FileTable();
  readonly #clock: MicrosClock;
  readonly #now: () => number;
  readonly #apiKey: string | null;
  readonly #maxFileBytes: number;
  readonly #storageLimitBytes: number;
  readonly #logger: EmulatorLogger | null;
  readonly #sockets = new Set<Socket>();
  #faults: FaultConfig;
  #random: () => number;
  #bucket: TokenBucket | null = null;
  #stats = emptyStats();
  #closing: Promise<void> | null = null;

  private constructor(server: Server, backend: StorageBackend, options: EmulatorOptions, faults: FaultConfig) {
    this.#server = server;
    this.#backend = backend;
    this.#now = options.now ?? Date.now;
    this.#clock = new MicrosClock(this.#now);
    this.#apiKey = options.apiKey ?? null;
    this.#maxFileBytes = options.maxFileBytes ?? API_MAX_FILE_BYTES;
    this.#storageLimitBytes = options.storageLimitBytes ?? DEFAULT_STORAGE_LIMIT_BYTES;
    this.#logger = options.logger ?? null;
    this.#faults = faults;
    this.#random = seededRandom(faults.seed);
  }

  #port = 0;
  #url = '';

  get port(): number {
    return this.#port;
  }

  /** e.g. http://127.0.0.1:40123 (no trailing slash); pass it as the SDKs' baseURL. */
  get url(): string {
    return this.#url;
  }

  static async start(options: EmulatorOptions = {}): Promise<Emulator> {
    const faults = mergeFaults(DEFAULT_FAULTS, options.faults ?? {});
    for (const [key, value] of [
      ['maxFileBytes', options.maxFileBytes],
      ['storageLimitBytes', options.storageLimitBytes],
    ] as const) {
      if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
        throw new TypeError(`Expected ${key} to be an integer >= 0, got ${JSON.stringify(value)}`);
      }
    }
    const backend: StorageBackend = options.dataDir ? new FolderBackend(options.dataDir) : new MemoryBackend();
    // No whole-request deadline: a 500 MB upload from a throttled client may take longer than
    // Node's default 5 minutes, and hang tests keep requests open on purpose.
    const server = createServer({ requestTimeout: 0 });
    const emulator = new Emulator(server, backend, options, faults);
    await emulator.#load();
    server.on('request', (req, res) => emulator.#onRequest(req, res));
    server.on('connection', (socket) => {
      emulator.#sockets.add(socket);
      socket.on('close', () => emulator.#sockets.delete(socket));
    });
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    const urlHost = host.includes(':') ? `[${host}]` : host;
    emulator.#port = port;
    emulator.#url = `http://${urlHost}:${port}`;
    return emulator;
  }

  get storageKind(): 'memory' | 'folder' {
    return this.#backend.kind;
  }

  async #load(): Promise<void> {
    for (const file of await this.#backend.load()) {
      const entry = entryFor(file);
      this.#table.insert(entry);
      this.#clock.observe(entry.micros);
    }
  }

  setFaults(partial: Partial<FaultConfig>): void {
    const next = mergeFaults(this.#faults, partial);
    if (partial.seed !== undefined) this.#random = seededRandom(next.seed);
    if (next.requestsPerMinute !== this.#faults.requestsPerMinute) this.#bucket = null;
    this.#faults = next;
  }

  faults(): FaultConfig {
    return this.#faults;
  }

  /** Every visible file, newest first, GA-shaped, with its content sha256. */
  files(): StoredFile[] {
    this.#sweep();
    return this.#table.newestFirst().map((e) => ({ ...e.file }));
  }

  async content(id: string): Promise<Buffer | null> {
    if (!this.#table.get(id)) return null;
    return this.#backend.readBlob(id);
  }

  /** Stores a file directly (seeding, or a "generated" downloadable file). */
  async addFile(input: AddFileInput): Promise<StoredFile> {
    const length = [...input.filename].length;
    if (length < 1 || length > MAX_METADATA_FILENAME_CHARS) {
      throw new TypeError(`Expected filename to be 1-${MAX_METADATA_FILENAME_CHARS} characters, got ${length}`);
    }
    const exp = input.expiresInSeconds;
    if (exp !== undefined && !(Number.isInteger(exp) && exp > 0)) {
      throw new TypeError(`Expected expiresInSeconds to be a positive integer, got ${JSON.stringify(exp)}`);
    }
    const id = newFileId();
    await this.#backend.putBlob(id, input.bytes);
    return this.#store({
      id,
      filename: input.filename,
      mimeType: input.mimeType ?? resolveMimeType(null, input.filename),
      sizeBytes: input.bytes.byteLength,
      sha256: createHash('sha256').update(input.bytes).digest('hex'),
      downloadable: input.downloadable ?? false,
      expiresInSeconds: exp ?? null,
    });
  }

  stats(): EmulatorStats {
    return structuredClone(this.#stats);
  }

  resetStats(): void {
    this.#stats = emptyStats();
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      // Hung and keep-alive connections would hold close() open forever.
      for (const socket of this.#sockets) socket.destroy();
      this.#server.closeAllConnections();
      await closed;
      await this.#backend.close();
    })();
    return this.#closing;
  }

  async #store(f: {
    id: string;
    filename: string;
    mimeType: string;
    sizeBytes: number;
    sha256: string;
    downloadable: boolean;
    expiresInSeconds: number | null;
  }): Promise<StoredFile> {
    const micros = this.#clock.next();
    const file: StoredFile = {
      id: f.id,
      type: 'file',
      filename: f.filename,
      mime_type: f.mimeType || DEFAULT_MIME_TYPE,
      size_bytes: f.sizeBytes,
      created_at: formatMicros(micros),
      downloadable: f.downloadable,
      expires_at: f.expiresInSeconds === null ? null : formatMicros(micros + f.expiresInSeconds * 1_000_000),
      sha256: f.sha256,
    };
    this.#table.insert(entryFor(file));
    await this.#backend.recordPut(file);
    return { ...file };
  }

  #nowMicros(): number {
    return Math.floor(this.#now() * 1000);
  }

  /** Drops metadata of files expired for more than 30 days. */
  #sweep(): void {
    for (const id of this.#table.expiredBefore(this.#nowMicros() - EXPIRED_METADATA_MICROS)) {
      this.#table.remove(id);
      void this.#backend.recordDelete(id).catch(() => undefined);
    }
  }

  // ---- HTTP ----

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const requestId = newRequestId();
    const started = Date.now();
    res.setHeader('request-id', requestId);
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    const admin = url.pathname.startsWith('/_emulator/');
    if (!admin) this.#stats.requests++;
    res.on('finish', () => {
      if (!admin) this.#stats.byStatus[res.statusCode] = (this.#stats.byStatus[res.statusCode] ?? 0) + 1;
      this.#logger?.info(
        { requestId, method: req.method, path: url.pathname, status: res.statusCode, ms: Date.now() - started },
        'emulator request',
      );
    });
    const handling = admin ? this.#handleAdmin(req, res, url) : this.#handleV1(req, res, url, requestId);
    handling.catch((err: unknown) => {
      if (err instanceof EmulatorApiError) return this.#answerError(req, res, requestId, err).catch(() => res.destroy());
      if (res.headersSent || res.destroyed || req.destroyed) {
        res.destroy();
        return;
      }
      this.#logger?.info({ requestId, err: String(err) }, 'emulator internal error');
      return this.#answerError(req, res, requestId, new EmulatorApiError(500, 'Internal server error')).catch(() => res.destroy());
    });
  }

  #authenticate(req: IncomingMessage): void {
    const header = req.headers['x-api-key'];
    let key = typeof header === 'string' ? header.trim() : '';
    if (!key) {
      const auth = req.headers.authorization ?? '';
      const m = /^Bearer\s+(.+)$/i.exec(auth);
      key = m?.[1]?.trim() ?? '';
    }
    if (!key) throw new EmulatorApiError(401, 'x-api-key header is required');
    if (this.#apiKey !== null && key !== this.#apiKey) throw new EmulatorApiError(401, 'invalid x-api-key');
  }

  async #handleV1(req: IncomingMessage, res: ServerResponse, url: URL, requestId: string): Promise<void> {
    const faults = this.#faults;
    // Three draws per request, always, so one seed gives one sequence whatever the rates are.
    const rReset = this.#random();
    const rError = this.#random();
    const rLost = this.#random();
    const route = matchRoute(req.method ?? 'GET', url.pathname);
    if (route && route !== 'method') this.#stats.byRoute[route.name]++;

    if (faults.hang) return; // never answered; close() destroys the socket
    if (rReset < faults.resetRate) {
      this.#stats.injected.reset++;
      req.socket.destroy();
      return;
    }
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    this.#rateLimitHeaders(res);
    this.#authenticate(req);
    const version = req.headers['anthropic-version'];
    if (version === undefined) throw new EmulatorApiError(400, 'anthropic-version: header is required');
    if (!ANTHROPIC_VERSIONS.includes(String(version))) {
      throw new EmulatorApiError(400, `anthropic-version: ${JSON.stringify(version)} is not a valid version`);
    }
    if (route === null) throw new EmulatorApiError(404, `Not found: ${req.method} ${url.pathname}`);
    if (route === 'method') throw new EmulatorApiError(405, `Method ${req.method} not allowed on ${url.pathname}`);

    if (faults.requestsPerMinute !== null) {
      this.#bucket ??= new TokenBucket(faults.requestsPerMinute, this.#now());
      const took = this.#bucket.take(this.#now());
      if (!took.ok) {
        this.#stats.injected.rateLimited++;
        throw new EmulatorApiError(429, 'Number of requests has exceeded your per-minute rate limit', {
          headers: { 'retry-after': String(Math.ceil(took.waitMs / 1000)), 'retry-after-ms': String(Math.ceil(took.waitMs)) },
        });
      }
      res.setHeader('anthropic-ratelimit-requests-remaining', String(took.remaining));
    }
    const injected = pickInjectedError(faults, rError);
    if (injected !== null) throw this.#injectedError(injected);

    this.#sweep();
    const mode = listModeFor(req.headers['anthropic-beta']);
    const shape = mode === 'beta' ? 'beta' : 'ga';
    const lose = rLost < faults.lostResponseRate;
    switch (route.name) {
      case 'upload': {
        const file = await this.#upload(req, shape);
        if (lose) return this.#loseResponse(req);
        return this.#sendJson(res, 200, render(file, shape));
      }
      case 'list': {
        try {
          const body = runListQuery(this.#table, parseListQuery(url.searchParams, mode), mode, (e) => render(e.file, shape));
          return this.#sendJson(res, 200, body);
        } catch (err) {
          if (err instanceof ListQueryError) throw new EmulatorApiError(400, err.message);
          throw err;
        }
      }
      case 'retrieve': {
        const entry = this.#table.get(route.id as string);
        if (!entry) throw notFound(route.id as string);
        return this.#sendJson(res, 200, render(entry.file, shape));
      }
      case 'download':
        return this.#download(res, route.id as string);
      case 'delete': {
        const id = route.id as string;
        if (!this.#table.remove(id)) throw notFound(id);
        await this.#backend.recordDelete(id);
        if (lose) return this.#loseResponse(req);
        return this.#sendJson(res, 200, { id, type: 'file_deleted' });
      }
    }
  }

  #injectedError(status: 500 | 529 | 429): EmulatorApiError {
    const f = this.#faults;
    const headers: Record<string, string> = {};
    if (status !== 500) {
      if (f.retryAfterSeconds !== null) headers['retry-after'] = String(f.retryAfterSeconds);
      if (f.retryAfterMs !== null) headers['retry-after-ms'] = String(f.retryAfterMs);
    }
    if (status === 500) {
      this.#stats.injected.e500++;
      return new EmulatorApiError(500, 'Internal server error (injected by the emulator)');
    }
    if (status === 529) {
      this.#stats.injected.e529++;
      return new EmulatorApiError(529, 'Overloaded (injected by the emulator)', { headers });
    }
    this.#stats.injected.e429++;
    return new EmulatorApiError(429, 'Rate limited (injected by the emulator)', { headers });
  }

  #rateLimitHeaders(res: ServerResponse): void {
    const rpm = this.#faults.requestsPerMinute;
    if (rpm === null) return;
    this.#bucket ??= new TokenBucket(rpm, this.#now());
    res.setHeader('anthropic-ratelimit-requests-limit', String(rpm));
    res.setHeader('anthropic-ratelimit-requests-reset', new Date(this.#bucket.fullAt(this.#now())).toISOString());
  }

  #loseResponse(req: IncomingMessage): void {
    this.#stats.injected.lost++;
    req.socket.destroy();
  }

  async #upload(req: IncomingMessage, shape: 'ga' | 'beta'): Promise<StoredFile> {
    const boundary = checkUploadHeaders(req, this.#maxFileBytes);
    const id = newFileId();
    const received = await receiveUpload(req, boundary, {
      shape,
      id,
      maxFileBytes: this.#maxFileBytes,
      quotaLeft: this.#quotaLeft(),
      backend: this.#backend,
      onBytes: (n) => {
        this.#stats.bytesReceived += n;
      },
    });
    // Other uploads may have finished while this one streamed.
    if (received.sizeBytes > this.#quotaLeft()) {
      await received.abort();
      throw quotaExceeded();
    }
    await received.commit();
    return this.#store({
      id,
      filename: received.filename,
      mimeType: received.mimeType,
      sizeBytes: received.sizeBytes,
      sha256: received.sha256,
      downloadable: false,
      expiresInSeconds: received.expiresInSeconds,
    });
  }

  #quotaLeft(): number {
    return Math.max(0, this.#storageLimitBytes - this.#table.usedBytes(this.#nowMicros()));
  }

  async #download(res: ServerResponse, id: string): Promise<void> {
    const entry = this.#table.get(id);
    if (!entry) throw notFound(id);
    if (entry.expiresMicros !== null && entry.expiresMicros <= this.#nowMicros()) {
      throw new EmulatorApiError(404, `File ${id} has expired.`, { errorCode: 'file_expired' });
    }
    if (!entry.file.downloadable) {
      throw new EmulatorApiError(400, `File ${id} is not downloadable: only files created by tools can be downloaded.`, {
        errorCode: 'file_not_downloadable',
      });
    }
    res.statusCode = 200;
    res.setHeader('content-type', entry.file.mime_type);
    res.setHeader('content-length', String(entry.file.size_bytes));
    await pipeline(this.#backend.streamBlob(id), res);
  }

  async #handleAdmin(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    this.#authenticate(req);
    this.#sendJson(res, 200, await handleAdmin(this, req, url.pathname));
  }

  // ---- answering ----

  #sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.statusCode = status;
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.setHeader('content-type', 'application/json');
    res.setHeader('content-length', String(Buffer.byteLength(text)));
    res.end(text);
  }

  /**
   * Answers an error at once. When the request body is still arriving the answer says
   * `connection: close`, so Node closes the socket once the answer is out: the client reads the
   * error (undici does, mid-upload) and nothing more of a refused body is read or stored.
   */
  async #answerError(req: IncomingMessage, res: ServerResponse, requestId: string, err: EmulatorApiError): Promise<void> {
    if (res.headersSent || res.destroyed) return;
    let incomplete = !(req.complete || req.readableEnded);
    // A refusal that is not about size (a 429, a 5xx, a bad key) of a modest body is answered
    // after reading the body, as an API server behind a proxy does: answering mid-upload and
    // closing races the client's write and reaches it as a connection error, not as the 429.
    const declared = Number(req.headers['content-length']);
    if (incomplete && err.status !== 413 && Number.isFinite(declared) && declared <= DRAIN_BEFORE_ERROR_BYTES) {
      try {
        for await (const chunk of req) void chunk;
        incomplete = false;
      } catch {
        // the client went away: nothing to answer
      }
      if (res.destroyed) return;
    }
    this.#sendJson(res, err.status, err.body(requestId), incomplete ? { ...err.headers, connection: 'close' } : err.headers);
  }
}

/** Bodies up to this size are read before an error that is not a 413 is answered. */
const DRAIN_BEFORE_ERROR_BYTES = 16 * 1024 * 1024;

function entryFor(file: StoredFile): Entry {
  const micros = parseMicros(file.created_at);
  const expiresMicros = file.expires_at ? parseMicros(file.expires_at) : null;
  return { file, micros, expiresMicros };
}

