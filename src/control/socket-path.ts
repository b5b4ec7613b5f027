import { join } from 'node:path';
import { FilesyncError, ErrorCode } from '../errors.js';
import { SOCKET_NAME } from './protocol.js';

/**
 * sun_path holds 108 bytes on Linux and 104 on macOS, the terminating NUL included; we keep to
 * the smaller so a state directory that works on one works on both.
 */
const MAX_SOCKET_PATH_BYTES = 103;

export function controlSocketPath(stateDir: string): string {
  const path = join(stateDir, SOCKET_NAME);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new FilesyncError(
      ErrorCode.SocketPath,
      `The control socket path ${path} is too long for a Unix socket (${Buffer.byteLength(path)} bytes, at most ${MAX_SOCKET_PATH_BYTES}).`,
      {
        hint: 'Use a shorter --state-dir.',
      },
    );
  }
  return path;
}
