/**
 * The daemon's side of the control channel: a Unix socket `control.sock` in the state
 * directory, mode 0600 (only the owner can ask for a reconcile or read the status). No TCP port.
 * A socket file left by a crashed daemon is detected (connecting to it is refused) and replaced;
 * a socket that answers belongs to a live daemon and is left alone.
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { FileEntry, ReconcileOptions, ReconcileReport, StatusReport } from '../engine/contract.js';
import { FilesyncError, LockedError, ErrorCode } from '../errors.js';
import {
  encodeMessage,
  errorBody,
  LineDecoder,
  MAX_REQUEST_BYTES,
  parseRequest,
  PROTOCOL_VERSION,
  type ControlRequest,
  type ControlResponse,
} from './protocol.js';
import { controlSocketPath } from './socket-path.js';

/** What the server serves: the part of SyncEngine the CLI asks for. */
export interface ControlHandler {
  status(): StatusReport;
  reconcile(options?: ReconcileOptions): Promise<ReconcileReport>;
  files(): FileEntry[];
  fileIdOf(path: string): string | null;
  /** The path's state as `ls` shows it (`held` included); optional for older handlers. */
  stateOf?(path: string): FileEntry['state'] | null;
}

export interface ControlServerOptions {
  stateDir: string;
  handler: ControlHandler;
  logger?: Logger;
}

export interface ControlServer {
  readonly path: string;
  /** Stops listening, ends open connections, removes the socket file. Idempotent. */
  close(): Promise<void>;
}

export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const path = controlSocketPath(options.stateDir);
  await clearStaleSocket(path);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serveConnection(socket, options.handler, options.logger);
  });
  await listenPrivately(server, path);
  options.logger?.debug({ socket: path }, 'control socket listening');

  let closing: Promise<void> | null = null;
  return {
    path,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }).then(() => {
        // server.close unlinks the socket on most platforms; make sure on all.
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      });
      return closing;
    },
  };
}

/** Listens with a umask that makes the socket 0600 from its first instant, then pins the mode. */
async function listenPrivately(server: Server, path: string): Promise<void> {
  const previous = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(previous);
  }
  chmodSync(path, 0o600);
}

/** Removes a socket file nobody answers on; refuses a live one and anything that is not a socket. */
export async function clearStaleSocket(path: string): Promise<'none' | 'stale-removed'> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    throw err;
  }
  if (!isSocket) {
    throw new FilesyncError(ErrorCode.ControlSocket, `${path} exists and is not a socket.`, {
      hint: 'Move it away; claude-filesync creates its control socket there.',
    });
  }
  const live = await new Promise<boolean>((resolve, reject) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(false);
      else reject(err);
    });
  });
  if (live) {
    throw new LockedError(`Another claude-filesync daemon answers on ${path}.`, {
      hint: 'Stop it first, or use another --state-dir.',
    });
  }
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return 'stale-removed';
}

function serveConnection(socket: Socket, handler: ControlHandler, logger: Logger | undefined): void {
  const decoder = new LineDecoder(MAX_REQUEST_BYTES);
  socket.setEncoding('utf8');
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    let values: unknown[];
    try {
      values = decoder.push(chunk);
    } catch (err) {
      reply(socket, { v: PROTOCOL_VERSION, id: -1, ok: false, error: errorBody(err) });
      socket.end();
      return;
    }
    for (const value of values) {
      void answer(value, handler, logger).then((response) => reply(socket, response));
    }
  });
}

function reply(socket: Socket, response: ControlResponse): void {
  if (!socket.destroyed && socket.writable) socket.write(encodeMessage(response));
}

async function answer(value: unknown, handler: ControlHandler, logger: Logger | undefined): Promise<ControlResponse> {
  let request: ControlRequest;
  try {
    request = parseRequest(value);
  } catch (err) {
    const id =
      value !== null && typeof value === 'object' && typeof (value as { id?: unknown }).id === 'number'
        ? (value as { id: number }).id
        : -1;
    return { v: PROTOCOL_VERSION, id, ok: false, error: errorBody(err) };
  }
  try {
    logger?.debug({ request: request.type }, 'control request');
    return { v: PROTOCOL_VERSION, id: request.id, ok: true, result: await dispatch(request, handler) };
  } catch (err) {
    logger?.warn({ request: request.type, err }, 'control request failed');
    return { v: PROTOCOL_VERSION, id: request.id, ok: false, error: errorBody(err) };
  }
}

async function dispatch(request: ControlRequest, handler: ControlHandler): Promise<unknown> {
  switch (request.type) {
    case 'status':
      return handler.status();
    case 'files':
      return handler.files();
    case 'reconcile':
      return handler.reconcile(request.options);
    case 'id':
      return {
        path: request.path,
        fileId: handler.fileIdOf(request.path),
        ...(handler.stateOf ? { state: handler.stateOf(request.path) } : {}),
      };
  }
}
