/**
 * Exit codes, tied to the service units: systemd restarts on 1 (Restart=on-failure) but not on 2
 * (RestartPreventExitStatus=2), because a bad configuration does not fix itself.
 */
import { ConfigError, ErrorCode } from '../errors.js';

export const EXIT_OK = 0;
/** A failure at run time: a file failed, the API refused the key, another daemon holds the lock. */
export const EXIT_FAILURE = 1;
/** Bad usage or configuration. */
export const EXIT_USAGE = 2;

/**
 * Failures that a restart cannot fix either: a state directory that is unsafe or not a directory.
 * Exit 2 keeps systemd from restarting into the same error in a loop.
 */
const SETUP_ERROR_CODES: ReadonlySet<string> = new Set([ErrorCode.StateDir]);

export function exitCodeFor(err: unknown): number {
  if (err instanceof ConfigError) return EXIT_USAGE;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && SETUP_ERROR_CODES.has(code) ? EXIT_USAGE : EXIT_FAILURE;
}

/** Error codes of an API that refused our credentials: retrying cannot help. */
export const AUTH_ERROR_CODES: ReadonlySet<string> = new Set([ErrorCode.ApiAuth, ErrorCode.ApiPermission]);

export function isAuthError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && AUTH_ERROR_CODES.has((err as { code?: unknown }).code as string);
}
