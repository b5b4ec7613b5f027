/**
 * The one options pipeline: defaults < config file < environment < flags, validated and frozen.
 * Nothing else in the program reads process.env; the CLI passes the environment in.
 *
 * Environment variables read here:
 *   ANTHROPIC_API_KEY (or the variable named by api.apiKeyEnv)  the key
 *   ANTHROPIC_BASE_URL           api.baseURL (a non-default URL means "that server", not the emulator)
 *   CLAUDE_FILESYNC_CONFIG       the config file (as --config)
 *   CLAUDE_FILESYNC_DIR          dir (as --dir)
 *   CLAUDE_FILESYNC_STATE_DIR    stateDir (as --state-dir)
 *   CLAUDE_FILESYNC_LOG_LEVEL    log.level (as --log-level)
 */
import { hostname as osHostname } from 'node:os';
import { resolve } from 'node:path';
import { invalidPatternReason } from '../scan/ignore.js';
import type { ConfigIO, ResolveConfigInput, ResolvedConfig } from './config-input.js';
import { configErrorOf, has, type Layer, mergeLayers } from './config-layers.js';
import { CONFIG_DEFAULTS as D } from './defaults.js';
import { describeValue } from './format-issues.js';
import { nodeConfigIO } from './node-config-io.js';
import { ownerTagFor } from './owner-tag.js';
import { type DefaultPaths, defaultPaths } from './paths.js';
import { readLayers } from './read-layers.js';
import { type ApiKey, resolveApiKey } from './resolve-api-key.js';
import { resolveMetrics } from './resolve-metrics.js';
import { resolveTarget, stripTrailingSlash } from './resolve-target.js';
import type { FileConfig } from './schema.js';
import type { Config } from './types.js';

type SourceOf = (field: string) => string | undefined;

export function resolveConfig(input: ResolveConfigInput): ResolvedConfig {
  const io = input.io ?? nodeConfigIO;
  const paths = defaultPaths(input);
  const warnings: string[] = [];
  const errors: string[] = [];

  const { layers, configFile, configText } = readLayers(input, io, paths.configFile, errors, warnings);
  if (errors.length > 0) throw configErrorOf(errors);

  const merged = mergeLayers(layers.map((l) => l.values));
  const sourceOf = sourceOfIn(layers);
  const dir = merged.dir ?? paths.dir;
  const stateDir = merged.stateDir ?? paths.stateDir;
  checkMerged(merged, dir, stateDir, io, sourceOf, errors);
  if (errors.length > 0) throw configErrorOf(errors);

  const apiKeyEnv = merged.api?.apiKeyEnv ?? D.api.apiKeyEnv;
  const key = resolveApiKey(
    input.env,
    io,
    apiKeyEnv,
    merged.api?.apiKeyFile ?? null,
    paths.apiKeyFile,
    sourceOf,
    warnings,
  );
  const lookedAt = input.underServiceManager
    ? { keyFile: key.keyFile ?? paths.apiKeyFile, configFile, configFileExists: configText !== null }
    : null;
  const target = resolveTarget(merged.api, key.apiKey, apiKeyEnv, input.allowMissingKey, sourceOf, lookedAt);
  const config = buildConfig({
    merged,
    dir,
    stateDir,
    target,
    apiKeyEnv,
    key,
    hostname: input.hostname ?? osHostname(),
    sourceOf,
    configFile: configText !== null ? configFile : null,
    ownFiles: ownFilesOf(stateDir, configFile, key.keyFile, paths),
  });
  return { config: deepFreeze(config), warnings, requestedTarget: merged.api?.target ?? 'auto' };
}

/** Where a field's value came from: the last layer that sets it. */
function sourceOfIn(layers: Layer[]): SourceOf {
  return (field) => {
    for (let i = layers.length - 1; i >= 0; i--) {
      if (has(layers[i]!.values, field)) return layers[i]!.source(field);
    }
    return undefined;
  };
}

/** The rules that span fields or layers, or look at the filesystem; problems go into `errors`. */
function checkMerged(
  merged: FileConfig,
  dir: string,
  stateDir: string,
  io: ConfigIO,
  sourceOf: SourceOf,
  errors: string[],
): void {
  if (resolve(dir) === resolve(stateDir)) {
    errors.push(`stateDir must be a different folder from dir, got ${describeValue(stateDir)} for both`);
  }
  const shape = merged.api?.shape ?? D.api.shape;
  const expiresInSeconds = merged.sync?.expiresInSeconds ?? D.sync.expiresInSeconds;
  const kindOf = io.kind ?? nodeConfigIO.kind;
  for (const [field, path, what] of [
    ['dir', dir, 'the watched folder'],
    ['stateDir', stateDir, 'the index, the lock and the control socket'],
  ] as const) {
    const kind = kindOf(path);
    if (kind !== null && kind !== 'directory') {
      const source = sourceOf(field);
      errors.push(
        `${field} must be a directory (${what}), but ${path}${source ? ` (${source})` : ''} is ${kind === 'file' ? 'a regular file' : 'not a directory'}: ` +
          `move it away, or name another folder with ${field === 'dir' ? '--dir' : '--state-dir'}`,
      );
    }
  }
  for (const field of ['ignore', 'include'] as const) {
    (merged.watch?.[field] ?? []).forEach((pattern, i) => {
      const why = invalidPatternReason(pattern);
      const source = sourceOf(`watch.${field}`);
      if (why !== null)
        errors.push(
          `watch.${field}[${i}] is not a valid gitignore pattern: ${describeValue(pattern)}: ${why}${source ? ` (${source})` : ''}`,
        );
    });
  }
  if (shape === 'beta' && expiresInSeconds !== null) {
    errors.push(
      `sync.expiresInSeconds must be null with api.shape "beta" (expiry exists only in the GA shape), got ${expiresInSeconds}`,
    );
  }
}

function ownFilesOf(
  stateDir: string,
  configFile: string,
  keyFile: string | null,
  paths: DefaultPaths,
): Config['ownFiles'] {
  return [
    { path: stateDir, what: 'the state directory', dir: true },
    { path: configFile, what: 'the configuration file', dir: false },
    ...(keyFile !== null && keyFile !== paths.apiKeyFile
      ? [{ path: keyFile, what: 'the API key file', dir: false }]
      : []),
    { path: paths.apiKeyFile, what: 'the API key file', dir: false },
    // The default folder of the configuration, the key file and the service's environment file (the key).
    { path: paths.configDir, what: 'the configuration folder', dir: true },
  ];
}

interface ConfigParts {
  merged: FileConfig;
  dir: string;
  stateDir: string;
  target: 'api' | 'emulator';
  apiKeyEnv: string;
  key: ApiKey;
  hostname: string;
  sourceOf: SourceOf;
  configFile: string | null;
  ownFiles: Config['ownFiles'];
}

/** Every field: the merged value, else the default. */
function buildConfig(p: ConfigParts): Config {
  const { merged, dir, target, key } = p;
  const shape = merged.api?.shape ?? D.api.shape;
  const instanceName = merged.sync?.instanceName ?? D.sync.instanceName;
  return {
    dir,
    stateDir: p.stateDir,
    api: {
      target,
      baseURL: stripTrailingSlash(merged.api?.baseURL ?? D.api.baseURL),
      shape,
      apiKey: target === 'emulator' ? null : key.apiKey,
      apiKeySource: target === 'emulator' ? 'none' : key.apiKeySource,
      apiKeyEnv: p.apiKeyEnv,
      apiKeyFile: key.keyFile,
      maxRetries: merged.api?.maxRetries ?? D.api.maxRetries,
      timeoutMs: merged.api?.timeoutMs ?? D.api.timeoutMs,
    },
    queue: {
      concurrency: merged.queue?.concurrency ?? D.queue.concurrency,
      // The beta file endpoints allow about 100 requests a minute, GA about 500.
      requestsPerMinute: merged.queue?.requestsPerMinute ?? D.queue.requestsPerMinute[shape],
    },
    watch: {
      settleMs: merged.watch?.settleMs ?? D.watch.settleMs,
      ignore: merged.watch?.ignore ?? D.watch.ignore,
      include: merged.watch?.include ?? D.watch.include,
      followSymlinks: merged.watch?.followSymlinks ?? D.watch.followSymlinks,
      usePolling: merged.watch?.usePolling ?? D.watch.usePolling,
      pollIntervalMs: merged.watch?.pollIntervalMs ?? D.watch.pollIntervalMs,
    },
    sync: {
      maxFileBytes: merged.sync?.maxFileBytes ?? D.sync.maxFileBytes,
      expiresInSeconds: merged.sync?.expiresInSeconds ?? D.sync.expiresInSeconds,
      maxDeletePercent: merged.sync?.maxDeletePercent ?? D.sync.maxDeletePercent,
      maxDeleteFloor: merged.sync?.maxDeleteFloor ?? D.sync.maxDeleteFloor,
      reconcileIntervalMinutes: merged.sync?.reconcileIntervalMinutes ?? D.sync.reconcileIntervalMinutes,
      instanceName,
      ownerTag: ownerTagFor({ instanceName, hostname: p.hostname, dir: resolve(dir) }),
      ...(merged.sync?.mimeTypes && Object.keys(merged.sync.mimeTypes).length > 0
        ? {
            mimeTypes: Object.fromEntries(
              Object.entries(merged.sync.mimeTypes).map(([ext, type]) => [ext.toLowerCase(), type]),
            ),
          }
        : {}),
    },
    log: { level: merged.log?.level ?? D.log.level },
    metrics: resolveMetrics(merged.metrics, p.sourceOf),
    configFile: p.configFile,
    ...(p.sourceOf('dir') !== undefined ? { dirSource: p.sourceOf('dir') } : {}),
    ownFiles: p.ownFiles,
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
