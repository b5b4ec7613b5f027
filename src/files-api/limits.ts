/**
 * The Files API's numbers and our defaults for them, in one place (docs/files-api-facts.md §5, §6). Other
 * modules import these instead of keeping their own copy: config validation and the emulator use
 * the expiry bounds, the client, the planner and the executor use INTENT_CLOCK_SKEW_MS (through mayBeStoredBy).
 */

/** The API's documented per-file limit (500 MB); above it the API answers 413. */
export const API_MAX_FILE_BYTES = 500 * 1024 * 1024;

/** `expires_in_seconds` bounds (GA only): one hour to 90 days. */
export const MIN_EXPIRES_IN_SECONDS = 3600;
export const MAX_EXPIRES_IN_SECONDS = 7_776_000;

/** Per-attempt timeout, as the SDKs (10 minutes). */
export const DEFAULT_TIMEOUT_MS = 600_000;

/** List page size: the API's maximum, so a full listing takes the fewest requests. */
export const DEFAULT_LIST_LIMIT = 1000;

/** One short page, newest first, is enough to find a file uploaded seconds ago. */
export const DEFAULT_RECOVERY_LIST_LIMIT = 100;

/**
 * How far a remote `created_at` may lag our clock and still count as "created after the upload
 * began": used when the client looks for an upload whose answer was lost, and when the sync engine
 * resolves an upload intent left by a crash or an unconfirmed upload. Ten minutes covers NTP
 * drift, a server that stamps a large file once it has stored it, and a clock that was stepped;
 * the filename and size must match too, and the caller excludes the copies it already knows, so
 * an older file is rarely mistaken for the new one.
 */
export const INTENT_CLOCK_SKEW_MS = 10 * 60_000;

/**
 * Whether a listed copy created at `createdAtMs` may be what an upload begun at `startedAtMs`
 * stored, by time alone (the caller matches name and size): the one rule the client's lost-answer
 * recovery, the executor's and the planner's intent resolution share.
 */
export function mayBeStoredBy(createdAtMs: number, startedAtMs: number, skewMs = INTENT_CLOCK_SKEW_MS): boolean {
  return createdAtMs >= startedAtMs - skewMs;
}

/** Error bodies are read up to this size; the rest of a proxy's page is dropped. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;
