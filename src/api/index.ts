/** The Files API client: what the rest of claude-filesync imports. */
import { FilesClient, type FilesClientExtraOptions } from './client.js';
import type { FilesClientOptions } from './types.js';

export {
  FilesClient,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_LIST_LIMIT,
  DEFAULT_RECOVERY_CLOCK_SKEW_MS,
  DEFAULT_RECOVERY_LIST_LIMIT,
  type FilesClientExtraOptions,
  type ResolvedClientOptions,
} from './client.js';
export { filenameProblem } from './filename-rules.js';
export * from './errors.js';
export * from './types.js';
export { type ListQuery } from './pagination.js';
export { decideRetry, isRetryable, retryDelay, defaultBackoffMs, type AttemptOutcome, type RetryDecision } from './retry.js';

/** A client for the given options (the config layer resolves key, base URL and shape). */
export function createFilesClient(options: FilesClientOptions & FilesClientExtraOptions): FilesClient {
  return new FilesClient(options);
}
