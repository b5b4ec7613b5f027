/**
 * The Files API emulator: node:http, both API shapes chosen per request by `anthropic-beta`,
 * memory or folder storage, fault injection with a seeded PRNG, per-key rate limits (token
 * bucket or sliding window) and 429 storms, a workspace id on every answer, a storage limit,
 * and run-time controls (expire files, refuse the key) under /_emulator/ (admin-routes.ts; the
 * start key, never faulted). docs/files-api-facts.md is the reference for every behaviour; where the API's
 * behaviour is undocumented, the emulator's choice is marked there as such.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { API_MAX_FILE_BYTES } from '../../files-api/limits.js';
import { handleAdmin } from './admin-routes.js';
import { answerError, sendJson } from './answering.js';
import { EmulatorApiError } from '../api-error.js';
import { DEFAULT_FAULTS, mergeFaults, seededRandom } from '../faults/faults.js';
import { FileTable, entryFor, newStoredFile, type NewFile } from '../store/file-table.js';
import { MAX_METADATA_FILENAME_CHARS, resolveMimeType } from '../store/metadata-rules.js';
import { MicrosClock, checkWorkspaceId, formatMicros, newFileId, newRequestId, newWorkspaceId } from '../store/ids.js';
import { KeyGuard, type KeyControl } from './key-guard.js';
import { handleV1, type RequestContext, type V1State } from './handle-v1.js';
import { RequestGate, limitSettings, type StormSettings, type StormState } from '../faults/admission.js';
import { FolderBackend, MemoryBackend, type StorageBackend } from '../store/storage-backend.js';
import { countAnswer, emptyStats } from './stats.js';
import type {
  AddFileInput,
  EmulatorLogger,
  EmulatorOptions,
  EmulatorStats,
  FaultConfig,
  StoredFile,
} from '../emulator-types.js';

export const DEFAULT_STORAGE_LIMIT_BYTES = 1024 ** 4;
/** Expired files keep their metadata this long (docs/files-api-facts.md §6). */
const EXPIRED_METADATA_MICROS = 30 * 24 * 3600 * 1_000_000;

function checkByteCount(key: string, value: unknown): number {
  if (!(typeof value === 'number' && Number.isSafeInteger(value) && value >= 0)) {
    throw new TypeError(`Expected ${key} to be an integer >= 0, got ${JSON.stringify(value)}`);
  }
  return value;
}

export class Emulator {
  readonly #server: Server;
  readonly #backend: StorageBackend;
  readonly #table = new FileTable();
  readonly #clock: MicrosClock;
  readonly #now: () => number;
  readonly #keys: KeyGuard;
  readonly #gate: RequestGate;
  readonly #maxFileBytes: number;
  #storageLimitBytes: number;
  #workspaceId = '';
  readonly #logger: EmulatorLogger | null;
  readonly #sockets = new Set<Socket>();
  #faults: FaultConfig;
  #random: () => number;
  #stats: EmulatorStats;
  #closing: Promise<void> | null = null;
  /** What the /v1 handler reads and changes of this emulator (handle-v1.ts). */
  readonly #v1: V1State;

  private constructor(server: Server, backend: StorageBackend, options: EmulatorOptions, faults: FaultConfig) {
    this.#server = server;
    this.#backend = backend;
    this.#now = options.now ?? Date.now;
    this.#clock = new MicrosClock(this.#now);
    this.#keys = new KeyGuard(options.apiKey ?? null);
    this.#gate = new RequestGate(limitSettings(faults));
    this.#stats = emptyStats(this.#now());
    this.#maxFileBytes = options.maxFileBytes ?? API_MAX_FILE_BYTES;
    this.#storageLimitBytes = options.storageLimitBytes ?? DEFAULT_STORAGE_LIMIT_BYTES;
    this.#logger = options.logger ?? null;
    this.#faults = faults;
    this.#random = seededRandom(faults.seed);
    this.#v1 = this.#v1State();
  }

  #v1State(): V1State {
    const self = this;
    return {
      get faults() {
        return self.#faults;
      },
      random: () => self.#random(),
      get stats() {
        return self.#stats;
      },
      keys: this.#keys,
      gate: this.#gate,
      table: this.#table,
      backend: this.#backend,
      maxFileBytes: this.#maxFileBytes,
      now: () => self.#now(),
      nowMicros: () => self.#nowMicros(),
      quotaLeft: () => self.#quotaLeft(),
      sweep: () => self.#sweep(),
      store: (f) => self.#store(f),
    };
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
    if (options.maxFileBytes !== undefined) checkByteCount('maxFileBytes', options.maxFileBytes);
    if (options.storageLimitBytes !== undefined) checkByteCount('storageLimitBytes', options.storageLimitBytes);
    if (options.workspaceId !== undefined) checkWorkspaceId(options.workspaceId);
    const backend: StorageBackend = options.dataDir ? new FolderBackend(options.dataDir) : new MemoryBackend();
    // No whole-request deadline: a 500 MB upload from a throttled client may take longer than
    // Node's default 5 minutes, and hang tests keep requests open on purpose.
    const server = createServer({ requestTimeout: 0 });
    const emulator = new Emulator(server, backend, options, faults);
    await emulator.#load(options.workspaceId);
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
    emulator.#port = (server.address() as AddressInfo).port;
    emulator.#url = `http://${host.includes(':') ? `[${host}]` : host}:${emulator.#port}`;
    return emulator;
  }

  get storageKind(): 'memory' | 'folder' {
    return this.#backend.kind;
  }

  async #load(workspaceId: string | undefined): Promise<void> {
    for (const file of await this.#backend.load()) {
      const entry = entryFor(file);
      this.#table.insert(entry);
      this.#clock.observe(entry.micros);
    }
    this.#workspaceId = workspaceId ?? (await this.#backend.loadWorkspaceId()) ?? newWorkspaceId();
    // A given id is not saved: it names this start only; a restart without it gets the folder's own back.
    if (workspaceId === undefined) await this.#backend.saveWorkspaceId(this.#workspaceId);
  }

  setFaults(partial: Partial<FaultConfig>): void {
    const next = mergeFaults(this.#faults, partial);
    if (partial.seed !== undefined) this.#random = seededRandom(next.seed);
    this.#gate.configure(limitSettings(next));
    this.#faults = next;
  }

  /** Answers every /v1 request 429 (with the given retry-after) for `durationMs` from now. */
  startStorm(settings: StormSettings): StormState {
    return this.#gate.startStorm(settings, this.#now());
  }

  endStorm(): void {
    this.#gate.endStorm();
  }

  /** The storm in progress, or null. */
  storm(): StormState | null {
    return this.#gate.storm(this.#now());
  }

  /** Sent as `anthropic-workspace-id` on every answer. */
  get workspaceId(): string {
    return this.#workspaceId;
  }

  /** Switches the workspace the answers name (the files stay: only the header changes); a folder store keeps it. */
  async setWorkspaceId(id: string = newWorkspaceId()): Promise<string> {
    this.#workspaceId = checkWorkspaceId(id);
    await this.#backend.saveWorkspaceId(this.#workspaceId);
    return this.#workspaceId;
  }

  storage(): { storageLimitBytes: number; usedBytes: number } {
    return { storageLimitBytes: this.#storageLimitBytes, usedBytes: this.#table.usedBytes(this.#nowMicros()) };
  }

  /** Uploads that would take the unexpired total past `bytes` are refused from now on; nothing stored is removed. */
  setStorageLimitBytes(bytes: number): void {
    this.#storageLimitBytes = checkByteCount('storageLimitBytes', bytes);
  }

  /** Refuse the key at run time (`key.revoke()`, `key.rotate(next)`) and take it back (`key.restore()`). */
  get key(): KeyControl {
    return this.#keys;
  }

  /**
   * Makes a file expire now, as if its `expires_at` had come: it stays listed (with
   * `expires_at` in the past) for 30 days, its content answers 404 file_expired, and its bytes
   * leave the storage quota. A file already expired keeps its time. Returns null for an unknown id.
   */
  async expireFile(id: string): Promise<StoredFile | null> {
    const entry = this.#table.get(id);
    if (!entry) return null;
    // Not clamped to created_at: files made within one ms sit a few µs ahead of the clock.
    const now = this.#nowMicros();
    if (entry.expiresMicros !== null && entry.expiresMicros <= now) return { ...entry.file };
    const expired = entryFor({ ...entry.file, expires_at: formatMicros(now) });
    this.#table.replace(expired);
    await this.#backend.recordPut(expired.file);
    return { ...expired.file };
  }

  /** expireFile for every visible file; returns the ids it expired or found expired. */
  async expireAll(): Promise<string[]> {
    const ids: string[] = [];
    for (const e of this.#table.newestFirst()) if (await this.expireFile(e.file.id)) ids.push(e.file.id);
    return ids;
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
    this.#stats = emptyStats(this.#now());
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

  async #store(f: NewFile): Promise<StoredFile> {
    const file = newStoredFile(f, this.#clock.next());
    this.#table.insert(entryFor(file));
    await this.#backend.recordPut(file);
    return { ...file };
  }

  #nowMicros(): number {
    return Math.floor(this.#now() * 1000);
  }

  #quotaLeft(): number {
    return Math.max(0, this.#storageLimitBytes - this.#table.usedBytes(this.#nowMicros()));
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
    res.setHeader('anthropic-workspace-id', this.#workspaceId);
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    const admin = url.pathname.startsWith('/_emulator/');
    if (!admin) this.#stats.requests++;
    const ctx: RequestContext = { route: null, key: null };
    res.on('finish', () => {
      if (!admin) countAnswer(this.#stats, res.statusCode, ctx.route, ctx.key);
      this.#logger?.info(
        { requestId, method: req.method, path: url.pathname, status: res.statusCode, ms: Date.now() - started },
        'emulator request',
      );
    });
    const handling = admin ? this.#handleAdmin(req, res, url) : handleV1(this.#v1, req, res, url, ctx);
    handling.catch((err: unknown) => {
      if (err instanceof EmulatorApiError) return answerError(req, res, requestId, err).catch(() => res.destroy());
      if (res.headersSent || res.destroyed || req.destroyed) {
        res.destroy();
        return;
      }
      this.#logger?.info({ requestId, err: String(err) }, 'emulator internal error');
      return answerError(req, res, requestId, new EmulatorApiError(500, 'Internal server error')).catch(() =>
        res.destroy(),
      );
    });
  }

  async #handleAdmin(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    this.#keys.checkAdmin(req);
    sendJson(res, 200, await handleAdmin(this, req, url.pathname));
  }
}
