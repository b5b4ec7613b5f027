/**
 * Every configuration default, once. resolveConfig fills a missing field from here, the field
 * docs in types.ts point here, and config.example.json is checked against the result
 * (test/unit/resolve-config.test.ts). The client's own defaults (base URL, retries, timeout) are the
 * API layer's, taken from src/api/ so a client built without a config behaves the same.
 */
import { DEFAULT_BASE_URL, DEFAULT_TIMEOUT_MS } from '../api/index.js';
import { DEFAULT_MAX_RETRIES } from '../api/retry.js';

export const CONFIG_DEFAULTS = {
  api: {
    /** Or ANTHROPIC_BASE_URL. */
    baseURL: DEFAULT_BASE_URL,
    shape: 'ga',
    apiKeyEnv: 'ANTHROPIC_API_KEY',
    maxRetries: DEFAULT_MAX_RETRIES,
    timeoutMs: DEFAULT_TIMEOUT_MS,
  },
  queue: {
    concurrency: 4,
    /** Below each shape's documented limit (docs/files-api-facts.md §6: about 500 GA, 100 beta). */
    requestsPerMinute: { ga: 400, beta: 90 },
  },
  watch: {
    settleMs: 1000,
    ignore: [] as readonly string[],
    include: [] as readonly string[],
    followSymlinks: false,
    usePolling: false,
    pollIntervalMs: 2000,
  },
  sync: {
    /** 500 MB, the API's limit. */
    maxFileBytes: 524_288_000,
    expiresInSeconds: null,
    maxDeletePercent: 50,
    maxDeleteFloor: 10,
    reconcileIntervalMinutes: 60,
  },
  log: { level: 'info' },
  /** Off unless listen is set; a non-loopback address needs allowNonLoopback. */
  metrics: { listen: null, allowNonLoopback: false },
} as const;
