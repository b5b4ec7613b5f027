/** The Files API client: what the rest of claude-filesync imports. */
export {
  FilesClient,
  createFilesClient,
  type FilesClientExtraOptions,
  type ResolvedClientOptions,
} from './client.js';
export { filenameProblem } from '../files-api/filename-rules.js';
export * from '../files-api/limits.js';
export * from './errors.js';
export * from './types.js';
export * from '../files-api/wire.js';
export type { ListQuery } from './pagination.js';
export {
  decideRetry,
  isRetryable,
  retryDelay,
  defaultBackoffMs,
  type AttemptOutcome,
  type RetryDecision,
} from './retry.js';
