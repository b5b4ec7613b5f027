/**
 * The CLI's side of the control channel. `requestControl` connects to the daemon of a state
 * directory, sends one request and waits for its answer. No daemon (no socket, or a socket
 * nobody answers on) is a NotRunningError, which the CLI takes as "do it in-process".
 */
import { randomInt } from 'node:crypto';
import { createConnection } from 'node:net';
import { FilesyncError, isErrorCode, ErrorCode } from '../errors.js';
import {
  encodeMessage,
  LineDecoder,
  MAX_RESPONSE_BYTES,
  parseResponse,
  PROTOCOL_VERSION,
  type ControlRequestBody,
  type ControlResults,
} from './protocol.js';
import { controlSocketPath } from './socket-path.js';

export class NotRunningError extends FilesyncError {
  constructor(stateDir: string, cause?: unknown) {
    super(ErrorCode.NotRunning, `No claude-filesync daemon is running on the state directory ${stateDir}.`, {
      hint: 'Start it with: claude-filesync run',
      cause,
    });
  }
}

export interface RequestControlOptions {
  /** Give up waiting for the answer after this long; 0 waits for ever. @default 10000 */
  timeoutMs?: number;
}

export function requestControl<T extends ControlRequestBody>(
  stateDir: string,
  request: T,
  options: RequestControlOptions = {},
): Promise<ControlResults[T['type']]> {
  const path = controlSocketPath(stateDir);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const id = randomInt(1, 2 ** 31);
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    const decoder = new LineDecoder(MAX_RESPONSE_BYTES);
    let settled = false;
    let connected = false;
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            finish(
              new FilesyncError(
                ErrorCode.ControlTimeout,
                `The daemon did not answer "${request.type}" within ${timeoutMs} ms.`,
                {
                  hint: 'It may be busy or stuck; see its logs (journalctl --user -u claude-filesync).',
                },
              ),
            );
          }, timeoutMs)
        : null;
    const finish = (err: unknown, value?: unknown): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value as ControlResults[T['type']]);
    };
    socket.setEncoding('utf8');
    socket.once('connect', () => {
      connected = true;
      socket.write(encodeMessage({ ...request, v: PROTOCOL_VERSION, id }));
    });
    socket.on('data', (chunk: string) => {
      try {
        for (const value of decoder.push(chunk)) {
          const response = parseResponse(value);
          if (response.id !== id && response.id !== -1) continue;
          if (response.ok) finish(null, response.result);
          else
            finish(
              new FilesyncError(
                isErrorCode(response.error.code) ? response.error.code : ErrorCode.Control,
                response.error.message,
                response.error.hint ? { hint: response.error.hint } : {},
              ),
            );
        }
      } catch (err) {
        finish(err);
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected && (err.code === 'ENOENT' || err.code === 'ECONNREFUSED'))
        finish(new NotRunningError(stateDir, err));
      else
        finish(
          new FilesyncError(ErrorCode.Control, `The control socket ${path} failed: ${err.message}`, { cause: err }),
        );
    });
    socket.on('close', () => {
      finish(
        new FilesyncError(
          ErrorCode.Control,
          `The daemon closed the control connection before answering "${request.type}".`,
          {
            hint: 'It may have stopped; see its logs.',
          },
        ),
      );
    });
  });
}
