/**
 * The control channel's protocol: newline-delimited JSON over a Unix socket in the state
 * directory. One request per line, one response per line, matched by `id`. Pure: parsing and
 * encoding only, so the codec is tested without sockets.
 */
import type { FileEntry, ReconcileOptions, ReconcileReport, StatusReport } from '../engine/contract.js';
import { FilesyncError, ErrorCode } from '../errors.js';

export const PROTOCOL_VERSION = 1;
export const SOCKET_NAME = 'control.sock';
/** A request is small; a longer line is a broken or hostile peer. Responses (ls) may be large. */
export const MAX_REQUEST_BYTES = 64 * 1024;
export const MAX_RESPONSE_BYTES = 512 * 1024 * 1024;

export type ControlRequestBody =
  | { type: 'status' }
  | { type: 'reconcile'; options: ReconcileOptions }
  | { type: 'files' }
  /** `path` relative to the watched folder, '/'-separated. */
  | { type: 'id'; path: string };

export type ControlRequest = ControlRequestBody & { v: number; id: number };

export interface ControlResults {
  status: StatusReport;
  reconcile: ReconcileReport;
  files: FileEntry[];
  /** `state` is absent from daemons before held deletes were kept. */
  id: { path: string; fileId: string | null; state?: FileEntry['state'] | null };
}

export interface ControlErrorBody {
  code: string;
  message: string;
  hint: string | null;
}

export type ControlResponse =
  | { v: number; id: number; ok: true; result: unknown }
  | { v: number; id: number; ok: false; error: ControlErrorBody };

/** A malformed message on the control socket (never the daemon's own failure). */
export class ControlProtocolError extends FilesyncError {
  constructor(message: string) {
    super(ErrorCode.ControlProtocol, message, {
      hint: 'The CLI and the daemon may be different versions; restart the daemon after upgrading.',
    });
  }
}

export function encodeMessage(message: ControlRequest | ControlResponse): string {
  return `${JSON.stringify(message)}\n`;
}

/**
 * Splits a byte stream into JSON values, one per line. Keeps the partial last line between
 * chunks; a line longer than `maxLineBytes` is an error (the peer is not speaking our protocol).
 */
export class LineDecoder {
  readonly #maxLineBytes: number;
  #buffer = '';

  constructor(maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes;
  }

  push(chunk: string | Uint8Array): unknown[] {
    this.#buffer += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const out: unknown[] = [];
    let nl: number;
    while ((nl = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, nl).trim();
      this.#buffer = this.#buffer.slice(nl + 1);
      if (line === '') continue;
      try {
        out.push(JSON.parse(line));
      } catch {
        throw new ControlProtocolError(`not a JSON line: ${line.slice(0, 60)}`);
      }
    }
    if (this.#buffer.length > this.#maxLineBytes) {
      throw new ControlProtocolError(`message longer than ${this.#maxLineBytes} bytes`);
    }
    return out;
  }

  /** Characters of an incomplete line still held. */
  get pending(): number {
    return this.#buffer.length;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const RECONCILE_FLAGS = [
  'dryRun',
  'adopt',
  'deleteUnmanaged',
  'deleteOrphans',
  'acceptWorkspace',
  'allowMassDelete',
  'rehash',
] as const;

export function parseRequest(value: unknown): ControlRequest {
  if (!isObject(value)) throw new ControlProtocolError('a request must be a JSON object');
  const { v, id, type } = value;
  if (v !== PROTOCOL_VERSION) throw new ControlProtocolError(`unsupported protocol version ${JSON.stringify(v)}`);
  if (typeof id !== 'number' || !Number.isInteger(id)) throw new ControlProtocolError('a request needs an integer id');
  switch (type) {
    case 'status':
    case 'files':
      return { v, id, type };
    case 'reconcile': {
      const raw = value.options ?? {};
      if (!isObject(raw)) throw new ControlProtocolError('reconcile options must be an object');
      const options: ReconcileOptions = {};
      for (const [k, flag] of Object.entries(raw)) {
        if (!(RECONCILE_FLAGS as readonly string[]).includes(k))
          throw new ControlProtocolError(`unknown reconcile option ${k}`);
        if (typeof flag !== 'boolean') throw new ControlProtocolError(`reconcile option ${k} must be true or false`);
        options[k as (typeof RECONCILE_FLAGS)[number]] = flag;
      }
      return { v, id, type, options };
    }
    case 'id': {
      const p = value.path;
      if (typeof p !== 'string' || p === '') throw new ControlProtocolError('id needs a path');
      return { v, id, type, path: p };
    }
    default:
      throw new ControlProtocolError(`unknown request type ${JSON.stringify(type)}`);
  }
}

export function parseResponse(value: unknown): ControlResponse {
  if (!isObject(value)) throw new ControlProtocolError('a response must be a JSON object');
  const { v, id, ok } = value;
  if (v !== PROTOCOL_VERSION) throw new ControlProtocolError(`unsupported protocol version ${JSON.stringify(v)}`);
  if (typeof id !== 'number') throw new ControlProtocolError('a response needs an id');
  if (ok === true) return { v, id, ok, result: value.result };
  if (ok === false && isObject(value.error)) {
    const e = value.error;
    return {
      v,
      id,
      ok,
      error: {
        code: typeof e.code === 'string' ? e.code : ErrorCode.Control,
        message: typeof e.message === 'string' ? e.message : 'the daemon reported an error',
        hint: typeof e.hint === 'string' ? e.hint : null,
      },
    };
  }
  throw new ControlProtocolError('a response needs ok: true with a result, or ok: false with an error');
}

/** What the daemon answers when a handler throws: the code, message and hint, never a stack. */
export function errorBody(err: unknown): ControlErrorBody {
  if (err instanceof FilesyncError) return { code: err.code, message: err.message, hint: err.hint ?? null };
  return { code: ErrorCode.Internal, message: err instanceof Error ? err.message : String(err), hint: null };
}
