/** The Files API client: what the rest of claude-filesync imports. */
export {
  FilesClient,
  createFilesClient,
  filenameProblem,
  type FilesClientExtraOptions,
  type ResolvedClientOptions,
} from './client.js';
export * from './limits.js';
export * from './errors.js';
export * from './types.js';
export { type ListQuery } from './pagination.js';
export { decideRetry, isRetryable, retryDelay, defaultBackoffMs, type AttemptOutcome, type RetryDecision } from './retry.js';
