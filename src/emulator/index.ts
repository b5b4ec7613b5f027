/** The Files API emulator: `Emulator.start()` for tests, `runEmulatorCommand` for the CLI. */
export { Emulator, DEFAULT_STORAGE_LIMIT_BYTES } from './server/emulator.js';
export { ANTHROPIC_VERSIONS, MANAGED_AGENTS_COMPAT_BETA, listModeFor } from './server/routing.js';
export { runEmulatorCommand, type EmulatorCommandOptions } from './server/run-emulator-command.js';
export { DEFAULT_FAULTS, mergeFaults, seededRandom } from './faults/faults.js';
export {
  RATE_LIMIT_MODES,
  SlidingWindow,
  TokenBucket,
  createRateLimiter,
  type RateLimitMode,
  type RateLimiter,
} from './faults/server-limiter.js';
export type { StormSettings, StormState } from './faults/admission.js';
export type { KeyControl, KeyState } from './server/key-guard.js';
export { keyLabel } from './server/stats.js';
export { EmulatorApiError, errorTypeForStatus, type ApiErrorCode } from './api-error.js';
export {
  MultipartParser,
  MultipartError,
  boundaryFromContentType,
  parseDisposition,
  type MultipartEvent,
} from './server/multipart-parser.js';
export {
  filenameProblem,
  resolveMimeType,
  defaultFilename,
  MAX_UPLOAD_FILENAME_CHARS,
} from './store/metadata-rules.js';
export { MIN_EXPIRES_IN_SECONDS, MAX_EXPIRES_IN_SECONDS } from './server/upload-handler.js';
export {
  encodePageCursor,
  decodePageCursor,
  parseListQuery,
  DEFAULT_LIST_LIMIT,
  MAX_LIST_LIMIT,
  MAX_LIST_IDS,
  type ListMode,
} from './server/list-query.js';
export type {
  AddFileInput,
  AnswerCounts,
  EmulatorLogger,
  EmulatorOptions,
  EmulatorStats,
  FaultConfig,
  RouteName,
  StoredFile,
} from './emulator-types.js';
