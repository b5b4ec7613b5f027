/** The Files API emulator: `Emulator.start()` for tests, `runEmulatorCommand` for the CLI. */
export { Emulator, DEFAULT_STORAGE_LIMIT_BYTES } from './emulator.js';
export { ANTHROPIC_VERSIONS, MANAGED_AGENTS_COMPAT_BETA, listModeFor } from './routing.js';
export { runEmulatorCommand, type EmulatorCommandOptions } from './run-emulator-command.js';
export { DEFAULT_FAULTS, mergeFaults, seededRandom } from './faults.js';
export { RATE_LIMIT_MODES, SlidingWindow, TokenBucket, createRateLimiter, type RateLimitMode, type RateLimiter } from './rate-limiter.js';
export type { StormSettings, StormState } from './request-gate.js';
export type { KeyControl, KeyState } from './key-guard.js';
export { keyLabel } from './stats.js';
export { EmulatorApiError, errorTypeForStatus, type ApiErrorCode } from './api-error.js';
export { MultipartParser, MultipartError, boundaryFromContentType, parseDisposition, type MultipartEvent } from './multipart-parser.js';
export { filenameProblem, resolveMimeType, defaultFilename, MAX_UPLOAD_FILENAME_CHARS } from './filename-rules.js';
export { MIN_EXPIRES_IN_SECONDS, MAX_EXPIRES_IN_SECONDS } from './upload-handler.js';
export { encodePageCursor, decodePageCursor, parseListQuery, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, MAX_LIST_IDS, type ListMode } from './list-query.js';
export type { AddFileInput, AnswerCounts, EmulatorLogger, EmulatorOptions, EmulatorStats, FaultConfig, RouteName, StoredFile } from './types.js';
