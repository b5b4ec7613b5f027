/**
 * The JSON configuration file's schema (zod 4). Every object is strict: an unknown field is an
 * error, never silently ignored. Every object also accepts a "$comment" string, because JSON has
 * no comments and config.example.json documents each section that way. All fields are optional;
 * defaults are filled in by resolve-config.ts.
 */
import { MAX_EXPIRES_IN_SECONDS, MIN_EXPIRES_IN_SECONDS } from '../files-api/limits.js';
import { z } from 'zod';
import { API_MAX_FILE_BYTES } from '../files-api/limits.js';

const comment = z.string().optional();
const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
const path = z.string().min(1);
/** host:port, the host a name, an IPv4 address or a [bracketed] IPv6 address. */
const LISTEN_PATTERN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;
/** A `sync.mimeTypes` key is ".ext" (letters, digits, -, _, +). */
const MIME_EXTENSION_PATTERN = /^\.[A-Za-z0-9][A-Za-z0-9_+-]{0,19}$/;
/** A type/subtype with optional parameters, as RFC 6838 allows (loosely). */
const MIME_TYPE_PATTERN =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(\s*;\s*[A-Za-z0-9_.-]+=("[^"]*"|[A-Za-z0-9_.+-]+))*$/;
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const fileConfigSchema = z.strictObject({
  $comment: comment,
  dir: path.optional(),
  stateDir: path.optional(),
  api: z
    .strictObject({
      $comment: comment,
      target: z.enum(['auto', 'api', 'emulator']).optional(),
      baseURL: z.url({ protocol: /^https?$/ }).optional(),
      shape: z.enum(['ga', 'beta']).optional(),
      apiKeyEnv: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
        .optional(),
      apiKeyFile: path.nullable().optional(),
      maxRetries: nonNegInt.max(10).optional(),
      timeoutMs: posInt.optional(),
    })
    .optional(),
  queue: z
    .strictObject({
      $comment: comment,
      concurrency: posInt.max(64).optional(),
      requestsPerMinute: posInt.optional(),
    })
    .optional(),
  watch: z
    .strictObject({
      $comment: comment,
      settleMs: nonNegInt.optional(),
      ignore: z.array(z.string()).optional(),
      include: z.array(z.string()).optional(),
      followSymlinks: z.boolean().optional(),
      usePolling: z.boolean().optional(),
      pollIntervalMs: posInt.optional(),
    })
    .optional(),
  sync: z
    .strictObject({
      $comment: comment,
      maxFileBytes: posInt.max(API_MAX_FILE_BYTES).optional(),
      expiresInSeconds: z.number().int().min(MIN_EXPIRES_IN_SECONDS).max(MAX_EXPIRES_IN_SECONDS).nullable().optional(),
      maxDeletePercent: z.number().min(0).max(100).optional(),
      maxDeleteFloor: nonNegInt.optional(),
      reconcileIntervalMinutes: nonNegInt.optional(),
      instanceName: z.string().min(1).max(64).nullable().optional(),
      mimeTypes: z.record(z.string().regex(MIME_EXTENSION_PATTERN), z.string().regex(MIME_TYPE_PATTERN)).optional(),
    })
    .optional(),
  log: z
    .strictObject({
      $comment: comment,
      level: z.enum(LEVELS).optional(),
    })
    .optional(),
  metrics: z
    .strictObject({
      $comment: comment,
      listen: z.string().regex(LISTEN_PATTERN).nullable().optional(),
      allowNonLoopback: z.boolean().optional(),
    })
    .optional(),
});

export type FileConfig = z.infer<typeof fileConfigSchema>;

/**
 * What each field must be, in words, keyed by its dotted path ('[]' for array items). The
 * validation message is `<field> must be <this>, got <value>`.
 */
export const EXPECTATIONS: Readonly<Record<string, string>> = {
  '': 'a JSON object',
  $comment: 'a string',
  dir: 'a non-empty path',
  stateDir: 'a non-empty path',
  api: 'an object',
  'api.target': 'one of "auto", "api", "emulator"',
  'api.baseURL': 'an http or https URL',
  'api.shape': 'one of "ga", "beta"',
  'api.apiKeyEnv': 'the name of an environment variable (letters, digits, _)',
  'api.apiKeyFile': 'null or a non-empty path',
  'api.maxRetries': 'an integer from 0 to 10',
  'api.timeoutMs': 'a positive integer (milliseconds)',
  queue: 'an object',
  'queue.concurrency': 'an integer from 1 to 64',
  'queue.requestsPerMinute': 'a positive integer',
  watch: 'an object',
  'watch.settleMs': 'a non-negative integer (milliseconds)',
  'watch.ignore': 'an array of gitignore patterns (strings)',
  'watch.ignore[]': 'a string (a gitignore pattern)',
  'watch.include': 'an array of gitignore patterns (strings)',
  'watch.include[]': 'a string (a gitignore pattern)',
  'watch.followSymlinks': 'true or false',
  'watch.usePolling': 'true or false',
  'watch.pollIntervalMs': 'a positive integer (milliseconds)',
  sync: 'an object',
  'sync.maxFileBytes': 'a positive integer (bytes) no larger than 524288000 (500 MB, the API limit)',
  'sync.expiresInSeconds': `null or an integer from ${MIN_EXPIRES_IN_SECONDS} to ${MAX_EXPIRES_IN_SECONDS} (1 hour to 90 days)`,
  'sync.maxDeletePercent': 'a number from 0 to 100',
  'sync.maxDeleteFloor': 'a non-negative integer',
  'sync.reconcileIntervalMinutes': 'a non-negative integer (minutes; 0 turns the schedule off)',
  'sync.instanceName': 'null or a string of 1 to 64 characters (names this sync in its owner tag)',
  'sync.mimeTypes': 'an object mapping extensions (".md") to MIME types ("text/plain; charset=utf-8")',
  log: 'an object',
  'log.level': `one of ${LEVELS.map((l) => `"${l}"`).join(', ')}`,
  metrics: 'an object',
  'metrics.listen': 'null or host:port (for example "127.0.0.1:9464"; an IPv6 host in brackets)',
  'metrics.allowNonLoopback': 'true or false',
};

export const LOG_LEVELS = LEVELS;
