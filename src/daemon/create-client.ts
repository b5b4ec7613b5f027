/**
 * The one place a Files client is built from the configuration: the daemon's session passes its
 * rate-limit hooks, the `files` command none. Keeping it here means the key, base URL, shape,
 * retries and timeout reach every client the same way.
 */
import { createFilesClient, type FilesClient } from '../api/index.js';
import type { FilesClientOptions } from '../api/types.js';
import type { Config } from '../config/types.js';
import { ConfigError } from '../errors.js';

export type ClientHooks = Pick<
  FilesClientOptions,
  'beforeRequest' | 'maxInFlight' | 'onRetryWait' | 'onAttempt' | 'onResponse' | 'onWorkspaceId'
>;

/**
 * A client for config.api. It needs a key: the real API's, or the built-in emulator's, which the
 * daemon's session generates when it starts the emulator (so the `files` command, which starts none,
 * cannot talk to the built-in emulator).
 */
export function createClientFor(config: Config, hooks: ClientHooks = {}): FilesClient {
  if (config.api.apiKey === null) {
    throw new ConfigError('this talks to a Files API directly, and no API key is set', {
      hint: 'set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for an emulator started with `claude-filesync emulator`)',
    });
  }
  return createFilesClient({
    apiKey: config.api.apiKey,
    baseURL: config.api.baseURL,
    shape: config.api.shape,
    maxRetries: config.api.maxRetries,
    timeoutMs: config.api.timeoutMs,
    ...hooks,
  });
}
