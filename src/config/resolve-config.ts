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
import { readFileSync, statSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { invalidPatternReason } from '../scan/ignore.js';
import { CONFIG_DEFAULTS as D } from './defaults.js';
import { describeValue, formatIssues } from './format-issues.js';
import { ownerTagFor } from './owner-tag.js';
import { defaultPaths, expandPath } from './paths.js';
import { fileConfigSchema, type FileConfig } from './schema.js';
import type { Config } from './types.js';

export interface ConfigFlags {
  dir?: string | undefined;
  stateDir?: string | undefined;
  config?: string | undefined;
  logLevel?: string | undefined;
  /** `run --metrics host:port`. */
  metrics?: string | undefined;
}

/** The filesystem calls the pipeline makes; tests may replace them. */
export interface ConfigIO {
  /** File contents, or null when the file does not exist. */
  readText(path: string): string | null;
  /** Permission bits of the file, or null when it does not exist. */
  mode(path: string): number | null;
  /** What the path is (symlinks followed), or null when it does not exist. @default nodeConfigIO.kind */
  kind?(path: string): PathKind | null;
}

export type PathKind = 'directory' | 'file' | 'other';

export interface ResolveConfigInput {
  flags: ConfigFlags;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  platform: NodeJS.Platform;
  homedir: string;
  io?: ConfigIO;
  /**
   * Commands that only read local state (status, ls, id) accept a missing key even when the
   * configuration names the real API. @default false
   */
  allowMissingKey?: boolean;
  /** The host name in the owner tag (when no sync.instanceName is set). @default os.hostname() */
  hostname?: string;
}

export interface ResolvedConfig {
  config: Config;
  /** Things the user should know that do not stop the program (a key file readable by others). */
  warnings: string[];
}

const nodeConfigIO: ConfigIO = {
  readText(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
  },
  mode(path) {
    try {
      return statSync(path).mode & 0o777;
    } catch {
      return null;
    }
  },
  kind(path) {
    try {
      const st = statSync(path);
      return st.isDirectory() ? 'directory' : st.isFile() ? 'file' : 'other';
    } catch (err) {
      // A parent that is a file (ENOTDIR) makes the path as impossible as a file in its place.
      return (err as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'other' : null;
    }
  },
};

const KEY_LIKE = /sk-ant-[A-Za-z0-9_-]{8,}/;

type Layer = { values: FileConfig; source: (field: string) => string };

export function resolveConfig(input: ResolveConfigInput): ResolvedConfig {
  const io = input.io ?? nodeConfigIO;
  const env = input.env;
  const paths = defaultPaths(input);
  const warnings: string[] = [];
  const errors: string[] = [];
  const envValue = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v;
  };

  // Which config file, if any.
  const explicitConfig = input.flags.config ?? envValue('CLAUDE_FILESYNC_CONFIG');
  const configSourceLabel = input.flags.config !== undefined ? '--config' : 'CLAUDE_FILESYNC_CONFIG';
  const configFile =
    explicitConfig !== undefined ? expandPath(explicitConfig, input.cwd, input.homedir) : paths.configFile;
  const configText = io.readText(configFile);
  if (configText === null && explicitConfig !== undefined) {
    throw new ConfigError(`config file not found: ${configFile} (from ${configSourceLabel})`, {
      hint: 'check the path, or leave out --config to use the defaults',
    });
  }

  const layers: Layer[] = [];
  if (configText !== null) {
    let raw: unknown;
    try {
      // Windows editors (Notepad) save UTF-8 with a byte-order mark, which JSON.parse refuses.
      raw = JSON.parse(configText.replace(/^\uFEFF/, ''));
    } catch (err) {
      throw new ConfigError(`config file ${configFile} is not valid JSON: ${(err as Error).message}`, {
        hint: 'JSON has no comments; use a "$comment" field (see config.example.json)',
      });
    }
    const base = dirname(configFile);
    const fileLayer = validateLayer(raw, () => `in ${configFile}`, errors);
    if (fileLayer) {
      // Paths in the file are relative to the file, so a config can travel with its folder.
      layers.push({ values: expandLayerPaths(fileLayer, base, input.homedir), source: () => `in ${configFile}` });
    }
    const mode = io.mode(configFile);
    if (mode !== null && (mode & 0o044) !== 0 && holdsKey(configText, env)) {
      warnings.push(
        `config file ${configFile} is readable by other users (mode ${octal(mode)}) and appears to hold an API key; ` +
          `move the key to ANTHROPIC_API_KEY or a key file and run: chmod 600 ${configFile}`,
      );
    }
  }

  const envSources: Record<string, string> = {
    dir: 'from CLAUDE_FILESYNC_DIR',
    stateDir: 'from CLAUDE_FILESYNC_STATE_DIR',
    'log.level': 'from CLAUDE_FILESYNC_LOG_LEVEL',
    'api.baseURL': 'from ANTHROPIC_BASE_URL',
  };
  const envRaw = prune({
    dir: envValue('CLAUDE_FILESYNC_DIR'),
    stateDir: envValue('CLAUDE_FILESYNC_STATE_DIR'),
    api: { baseURL: envValue('ANTHROPIC_BASE_URL') },
    log: { level: envValue('CLAUDE_FILESYNC_LOG_LEVEL') },
  });
  const envLayer = validateLayer(envRaw, (f) => envSources[f] ?? 'from the environment', errors);
  if (envLayer)
    layers.push({
      values: expandLayerPaths(envLayer, input.cwd, input.homedir),
      source: (f) => envSources[f] ?? 'from the environment',
    });

  const flagSources: Record<string, string> = {
    dir: 'from --dir',
    stateDir: 'from --state-dir',
    'log.level': 'from --log-level',
    'metrics.listen': 'from --metrics',
  };
  const flagRaw = prune({
    dir: input.flags.dir,
    stateDir: input.flags.stateDir,
    log: { level: input.flags.logLevel },
    metrics: { listen: input.flags.metrics },
  });
  const flagLayer = validateLayer(flagRaw, (f) => flagSources[f] ?? 'from a flag', errors);
  if (flagLayer)
    layers.push({
      values: expandLayerPaths(flagLayer, input.cwd, input.homedir),
      source: (f) => flagSources[f] ?? 'from a flag',
    });

  if (errors.length > 0) throw configErrorOf(errors);

  const merged = mergeLayers(layers.map((l) => l.values));
  const sourceOf = (field: string): string | undefined => {
    for (let i = layers.length - 1; i >= 0; i--) {
      if (has(layers[i]!.values, field)) return layers[i]!.source(field);
    }
    return undefined;
  };

  const dir = merged.dir ?? paths.dir;
  const stateDir = merged.stateDir ?? paths.stateDir;
  if (resolve(dir) === resolve(stateDir)) {
    errors.push(`stateDir must be a different folder from dir, got ${describeValue(stateDir)} for both`);
  }
  const shape = merged.api?.shape ?? D.api.shape;
  const expiresInSeconds = merged.sync?.expiresInSeconds ?? D.sync.expiresInSeconds;
  const instanceName = merged.sync?.instanceName ?? D.sync.instanceName;
  const kindOf = io.kind ?? nodeConfigIO.kind!;
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
  if (errors.length > 0) throw configErrorOf(errors);

  // The key: the environment variable first, then a key file (configured, else the default one if present).
  const apiKeyEnv = merged.api?.apiKeyEnv ?? D.api.apiKeyEnv;
  let apiKey: string | null = envValue(apiKeyEnv)?.trim() ?? null;
  let apiKeySource: Config['api']['apiKeySource'] = apiKey !== null ? 'env' : 'none';
  const configuredKeyFile = merged.api?.apiKeyFile ?? null;
  const keyFile = configuredKeyFile ?? (io.mode(paths.apiKeyFile) !== null ? paths.apiKeyFile : null);
  if (apiKey === null && keyFile !== null) {
    const text = io.readText(keyFile);
    if (text === null) {
      throw new ConfigError(
        `api.apiKeyFile names a file that does not exist: ${keyFile} (${sourceOf('api.apiKeyFile') ?? ''})`,
        {
          hint: 'create it with the key on one line and run chmod 600 on it, or set ANTHROPIC_API_KEY',
        },
      );
    }
    const key = text.trim();
    if (key === '')
      throw new ConfigError(`the API key file ${keyFile} is empty`, { hint: 'put the key on one line in it' });
    apiKey = key;
    apiKeySource = 'file';
    const mode = io.mode(keyFile);
    if (mode !== null && (mode & 0o077) !== 0) {
      warnings.push(
        `API key file ${keyFile} is readable by other users (mode ${octal(mode)}); run: chmod 600 ${keyFile}`,
      );
    }
  }

  // Target: the real API when a key is set or the configuration names it; else the built-in emulator.
  const requested = merged.api?.target ?? 'auto';
  // A base URL other than the default names a server of the user's choosing: it needs a key.
  const baseURLNamed = merged.api?.baseURL !== undefined && stripTrailingSlash(merged.api.baseURL) !== D.api.baseURL;
  let target: 'api' | 'emulator';
  if (requested === 'emulator') target = 'emulator';
  else if (apiKey !== null) target = 'api';
  else if (input.allowMissingKey && (requested === 'api' || baseURLNamed)) target = 'api';
  else if (requested === 'api' || baseURLNamed) {
    const why =
      requested === 'api'
        ? `api.target is "api" (${sourceOf('api.target') ?? ''})`
        : `api.baseURL is set (${sourceOf('api.baseURL') ?? ''})`;
    throw new ConfigError(`no API key: ${why} but ${apiKeyEnv} is not set`, {
      hint: `set ${apiKeyEnv} to sync to Claude (or name a key file with api.apiKeyFile); without a key and without api.target/ANTHROPIC_BASE_URL, claude-filesync runs against its built-in emulator and nothing leaves this machine`,
    });
  } else target = 'emulator';

  const config: Config = {
    dir,
    stateDir,
    api: {
      target,
      baseURL: stripTrailingSlash(merged.api?.baseURL ?? D.api.baseURL),
      shape,
      apiKey: target === 'emulator' ? null : apiKey,
      apiKeySource: target === 'emulator' ? 'none' : apiKeySource,
      apiKeyEnv,
      apiKeyFile: keyFile,
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
      expiresInSeconds,
      maxDeletePercent: merged.sync?.maxDeletePercent ?? D.sync.maxDeletePercent,
      maxDeleteFloor: merged.sync?.maxDeleteFloor ?? D.sync.maxDeleteFloor,
      reconcileIntervalMinutes: merged.sync?.reconcileIntervalMinutes ?? D.sync.reconcileIntervalMinutes,
      instanceName,
      ownerTag: ownerTagFor({ instanceName, hostname: input.hostname ?? osHostname(), dir: resolve(dir) }),
      ...(merged.sync?.mimeTypes && Object.keys(merged.sync.mimeTypes).length > 0
        ? {
            mimeTypes: Object.fromEntries(
              Object.entries(merged.sync.mimeTypes).map(([ext, type]) => [ext.toLowerCase(), type]),
            ),
          }
        : {}),
    },
    log: { level: merged.log?.level ?? D.log.level },
    metrics: resolveMetrics(merged.metrics, sourceOf),
    configFile: configText !== null ? configFile : null,
    ownFiles: [
      { path: stateDir, what: 'the state directory', dir: true },
      { path: configFile, what: 'the configuration file', dir: false },
      ...(keyFile !== null && keyFile !== paths.apiKeyFile
        ? [{ path: keyFile, what: 'the API key file', dir: false }]
        : []),
      { path: paths.apiKeyFile, what: 'the API key file', dir: false },
      // The default folder of the configuration, the key file and the service's environment file (the key).
      { path: paths.configDir, what: 'the configuration folder', dir: true },
    ],
  };
  return { config: deepFreeze(config), warnings };
}

/**
 * The metrics endpoint says how many files are in which state and how the daemon is doing; it is
 * served on loopback only unless the configuration says otherwise in so many words.
 */
function resolveMetrics(m: FileConfig['metrics'], sourceOf: (field: string) => string | undefined): Config['metrics'] {
  const allowNonLoopback = m?.allowNonLoopback ?? D.metrics.allowNonLoopback;
  const listen = m?.listen ?? D.metrics.listen;
  if (listen === null) return { listen: null, allowNonLoopback };
  const parsed = parseListen(listen);
  const source = sourceOf('metrics.listen') ?? '';
  if (parsed === null) {
    throw new ConfigError(
      `metrics.listen must be host:port with a port from 1 to 65535, got ${JSON.stringify(listen)} (${source})`,
      {
        hint: 'for example "127.0.0.1:9464"',
      },
    );
  }
  if (!allowNonLoopback && !isLoopback(parsed.host)) {
    throw new ConfigError(
      `metrics.listen ${listen} (${source}) is not a loopback address: the metrics would be served to the network`,
      {
        hint: 'use 127.0.0.1:<port> or [::1]:<port>, or set metrics.allowNonLoopback to true in the configuration file',
      },
    );
  }
  return { listen: parsed, allowNonLoopback };
}

export function parseListen(value: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1] ?? m[2]!, port };
}

/** 127.0.0.0/8, ::1 and localhost; a name that resolves elsewhere is not trusted to be local. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function validateLayer(raw: unknown, source: (field: string) => string, errors: string[]): FileConfig | null {
  const parsed = fileConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  errors.push(...formatIssues(raw, parsed.error.issues, { sourceOf: source }));
  return null;
}

function configErrorOf(errors: string[]): ConfigError {
  const message = errors.length === 1 ? errors[0]! : `invalid configuration:\n  ${errors.join('\n  ')}`;
  return new ConfigError(message, { hint: 'see config.example.json for every field and its default' });
}

function expandLayerPaths(layer: FileConfig, base: string, homedir: string): FileConfig {
  const out: FileConfig = { ...layer };
  if (out.dir !== undefined) out.dir = expandPath(out.dir, base, homedir);
  if (out.stateDir !== undefined) out.stateDir = expandPath(out.stateDir, base, homedir);
  if (out.api?.apiKeyFile !== undefined && out.api.apiKeyFile !== null)
    out.api = { ...out.api, apiKeyFile: expandPath(out.api.apiKeyFile, base, homedir) };
  return out;
}

/** Later layers win, field by field (arrays are replaced, not concatenated). */
function mergeLayers(layers: FileConfig[]): FileConfig {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined || key === '$comment') continue;
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        const prev = (out[key] as Record<string, unknown> | undefined) ?? {};
        const next: Record<string, unknown> = { ...prev };
        for (const [k, v] of Object.entries(value)) if (v !== undefined && k !== '$comment') next[k] = v;
        out[key] = next;
      } else {
        out[key] = value;
      }
    }
  }
  return out as FileConfig;
}

function has(layer: FileConfig, field: string): boolean {
  let cur: unknown = layer;
  for (const seg of field.split('.')) {
    if (cur === null || typeof cur !== 'object' || !(seg in cur)) return false;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur !== undefined;
}

/** Drops undefined leaves and then empty objects, so an unset variable is no value at all. */
function prune(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const inner = prune(v as Record<string, unknown>);
      if (Object.keys(inner).length > 0) out[k] = inner;
    } else out[k] = v;
  }
  return out;
}

function holdsKey(text: string, env: ResolveConfigInput['env']): boolean {
  if (KEY_LIKE.test(text)) return true;
  const key = env[D.api.apiKeyEnv];
  return key !== undefined && key.length >= 8 && text.includes(key);
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

function stripTrailingSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
