/**
 * Which key the emulator accepts, changeable at run time so tests can refuse the key mid-run
 * (an expired or revoked key answers 401 authentication_error) and then restore it.
 * Admin routes keep accepting the key the emulator started with, so a test can always undo a
 * revocation over HTTP.
 */
import type { IncomingMessage } from 'node:http';
import { EmulatorApiError } from '../api-error.js';

export interface KeyState {
  /** configured: the start key works; revoked: no key works on /v1; rotated: only the new key works. */
  readonly state: 'configured' | 'revoked' | 'rotated';
}

/** The message the API answers for a bad key (`authentication_error`). */
const INVALID_KEY = 'invalid x-api-key';

/** The key presented in `x-api-key`, else in `Authorization: Bearer` (SDK 1.x), else ''. */
export function presentedKey(req: IncomingMessage): string {
  const header = req.headers['x-api-key'];
  const key = typeof header === 'string' ? header.trim() : '';
  if (key) return key;
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  return m?.[1]?.trim() ?? '';
}

/** The run-time controls tests use (Emulator.key). */
export interface KeyControl {
  /** Every /v1 request answers 401 authentication_error until restore() or rotate(). */
  revoke(): void;
  /** Only `key` is accepted on /v1 from now on (the old key answers 401). */
  rotate(key: string): void;
  /** Back to the key the emulator started with. */
  restore(): void;
  state(): KeyState;
}

export class KeyGuard implements KeyControl {
  /** The key given at start; null accepts any non-empty key. */
  readonly #configured: string | null;
  #mode: 'configured' | 'revoked' | 'rotated' = 'configured';
  #rotatedTo = '';

  constructor(configured: string | null) {
    this.#configured = configured;
  }

  /** Returns the presented key, or throws the API's 401. */
  check(req: IncomingMessage): string {
    const key = presentedKey(req);
    if (!key) throw new EmulatorApiError(401, 'x-api-key header is required');
    const ok =
      this.#mode === 'configured'
        ? this.#configured === null || key === this.#configured
        : this.#mode === 'rotated' && key === this.#rotatedTo;
    if (!ok) throw new EmulatorApiError(401, INVALID_KEY);
    return key;
  }

  /** Admin routes: the start key (or any key when none was given) or the rotated one, whatever the state. */
  checkAdmin(req: IncomingMessage): void {
    const key = presentedKey(req);
    if (!key) throw new EmulatorApiError(401, 'x-api-key header is required');
    if (
      this.#configured !== null &&
      key !== this.#configured &&
      !(this.#mode === 'rotated' && key === this.#rotatedTo)
    ) {
      throw new EmulatorApiError(401, INVALID_KEY);
    }
  }

  /** Every /v1 request answers 401 until restore() or rotate(). */
  revoke(): void {
    this.#mode = 'revoked';
  }

  /** Only `key` is accepted on /v1 from now on (the old key answers 401). */
  rotate(key: string): void {
    if (typeof key !== 'string' || key.trim() === '' || key !== key.trim()) {
      throw new TypeError(
        `Expected key to be a non-empty string without surrounding spaces, got ${JSON.stringify(key)}`,
      );
    }
    this.#mode = 'rotated';
    this.#rotatedTo = key;
  }

  /** Back to the key the emulator started with. */
  restore(): void {
    this.#mode = 'configured';
    this.#rotatedTo = '';
  }

  state(): KeyState {
    return { state: this.#mode };
  }
}
