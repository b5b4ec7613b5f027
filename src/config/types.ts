/**
 * The fully-resolved configuration. src/config/ merges defaults, the JSON file, the environment
 * and flags (in that order of increasing precedence) into one frozen Config; nothing else in the
 * program reads process.env. Every default is in CONFIG_DEFAULTS (./defaults.ts);
 * config.example.json documents every field with its default.
 */
import type { ApiShape } from '../files-api/wire.js';
import type { LevelWithSilent } from 'pino';
import type { OwnFile } from '../scan/own-files.js';

export interface ApiConfig {
  /**
   * 'api': a real Files API at baseURL. 'emulator': the built-in emulator, started in-process
   * (chosen when no key is set and the configuration does not name the real API).
   */
  readonly target: 'api' | 'emulator';
  /** @default CONFIG_DEFAULTS.api.baseURL (or ANTHROPIC_BASE_URL) */
  readonly baseURL: string;
  /** @default CONFIG_DEFAULTS.api.shape */
  readonly shape: ApiShape;
  /** The key itself, resolved from the environment variable or key file. Never logged. */
  readonly apiKey: string | null;
  /** Where the key came from, for status and messages (never the key). */
  readonly apiKeySource: 'env' | 'file' | 'none';
  /** The environment variable the key is read from. @default CONFIG_DEFAULTS.api.apiKeyEnv */
  readonly apiKeyEnv: string;
  /** The key file consulted when the variable is unset (configured, or the default one if it exists). */
  readonly apiKeyFile: string | null;
  /** @default CONFIG_DEFAULTS.api.maxRetries */
  readonly maxRetries: number;
  /** Per-attempt timeout. @default CONFIG_DEFAULTS.api.timeoutMs */
  readonly timeoutMs: number;
}

export interface QueueConfig {
  /** Requests in flight at once. @default CONFIG_DEFAULTS.queue.concurrency */
  readonly concurrency: number;
  /** Requests started per minute, all kinds together. @default CONFIG_DEFAULTS.queue.requestsPerMinute[shape] */
  readonly requestsPerMinute: number;
}

export interface WatchConfig {
  /** A file is uploaded only after it has not changed for this long. @default CONFIG_DEFAULTS.watch.settleMs */
  readonly settleMs: number;
  /** gitignore-syntax patterns, added to the built-in defaults. @default CONFIG_DEFAULTS.watch.ignore */
  readonly ignore: readonly string[];
  /** gitignore-syntax patterns; when non-empty only matching files are synced. @default CONFIG_DEFAULTS.watch.include */
  readonly include: readonly string[];
  /** @default CONFIG_DEFAULTS.watch.followSymlinks */
  readonly followSymlinks: boolean;
  /** Force polling (network mounts). Falls back to it by itself on inotify ENOSPC. @default CONFIG_DEFAULTS.watch.usePolling */
  readonly usePolling: boolean;
  /** @default CONFIG_DEFAULTS.watch.pollIntervalMs */
  readonly pollIntervalMs: number;
}

export interface SyncConfig {
  /** Files larger than this are skipped with a reason. @default CONFIG_DEFAULTS.sync.maxFileBytes */
  readonly maxFileBytes: number;
  /** GA only: remote copies expire after this many seconds (3600..7776000), null = never. @default CONFIG_DEFAULTS.sync.expiresInSeconds */
  readonly expiresInSeconds: number | null;
  /** One pass never deletes more than this share (percent) of the managed remote files... @default CONFIG_DEFAULTS.sync.maxDeletePercent */
  readonly maxDeletePercent: number;
  /** ...unless it deletes at most this many files. @default CONFIG_DEFAULTS.sync.maxDeleteFloor */
  readonly maxDeleteFloor: number;
  /** Scheduled reconcile interval in minutes; 0 disables the schedule. @default CONFIG_DEFAULTS.sync.reconcileIntervalMinutes */
  readonly reconcileIntervalMinutes: number;
  /** Names this sync in its owner tag instead of host and folder (1-64 chars). @default CONFIG_DEFAULTS.sync.instanceName */
  readonly instanceName: string | null;
  /**
   * Derived, not configured: the 8-hex owner tag every uploaded name carries (src/plan/naming.ts
   * ownerTagFor), from instanceName, or from the host name and the folder's absolute path.
   */
  readonly ownerTag: string;
  /**
   * Upload type per extension (lower case, with the dot), over the MIME policy of
   * src/plan/mime-policy.ts. Absent or {}: the policy alone.
   */
  readonly mimeTypes?: Readonly<Record<string, string>>;
}

export interface MetricsConfig {
  /**
   * Where /metrics, /healthz and /readyz are served (host and port), or null for not at all.
   * @default CONFIG_DEFAULTS.metrics.listen
   */
  readonly listen: { readonly host: string; readonly port: number } | null;
  /** Serve on an address other than loopback (the metrics name files' counts, not files). @default CONFIG_DEFAULTS.metrics.allowNonLoopback */
  readonly allowNonLoopback: boolean;
}

export interface Config {
  /** Absolute path of the watched folder. */
  readonly dir: string;
  /** Absolute path of the state directory (index, lock, control socket). */
  readonly stateDir: string;
  readonly api: ApiConfig;
  readonly queue: QueueConfig;
  readonly watch: WatchConfig;
  readonly sync: SyncConfig;
  readonly log: { readonly level: LevelWithSilent };
  readonly metrics: MetricsConfig;
  /** The config file that was read, if any. */
  readonly configFile: string | null;
  /**
   * Where `dir` was named ("from --dir", "from CLAUDE_FILESYNC_DIR", "in <file>"); absent for the
   * default folder, the only one a first run creates (a named one that is missing is a typo or an
   * unmounted disk, and an empty folder in its place would hide that).
   */
  readonly dirSource?: string;
  /**
   * Derived, not configured: the files and folders the daemon itself reads or writes (the key
   * file, the configuration file and its folder, the state directory), never synced wherever
   * they live (src/scan/own-files.ts). The state directory is always among them.
   */
  readonly ownFiles?: readonly OwnFile[];
}
