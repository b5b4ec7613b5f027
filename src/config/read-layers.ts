/** Reads the three layers of the options pipeline: the config file, the environment and the flags. */
import { dirname } from 'node:path';
import { ConfigError } from '../errors.js';
import type { ConfigIO, ResolveConfigInput } from './config-input.js';
import { expandLayerPaths, type Layer, prune, validateLayer } from './config-layers.js';
import { CONFIG_DEFAULTS as D } from './defaults.js';
import { octal } from './octal.js';
import { expandPath } from './paths.js';

const KEY_LIKE = /sk-ant-[A-Za-z0-9_-]{8,}/;

export interface ReadLayers {
  /** In order of precedence, lowest first. */
  layers: Layer[];
  /** The config file's path (the default one when none is named), and its text if it exists. */
  configFile: string;
  configText: string | null;
}

/** A variable that is unset or blank is no value at all. */
export function envValueOf(env: ResolveConfigInput['env'], name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
}

/**
 * The layers that validate; each validation problem goes into `errors` (so the user sees all of
 * them at once) and each warning into `warnings`.
 */
export function readLayers(
  input: ResolveConfigInput,
  io: ConfigIO,
  defaultConfigFile: string,
  errors: string[],
  warnings: string[],
): ReadLayers {
  const layers: Layer[] = [];
  const { configFile, configText } = readConfigFile(input, io, defaultConfigFile);
  if (configText !== null) {
    const fileLayer = readFileLayer(input, io, configFile, configText, errors, warnings);
    if (fileLayer) layers.push(fileLayer);
  }
  const envLayer = readEnvLayer(input, errors);
  if (envLayer) layers.push(envLayer);
  const flagLayer = readFlagLayer(input, errors);
  if (flagLayer) layers.push(flagLayer);
  return { layers, configFile, configText };
}

function readConfigFile(
  input: ResolveConfigInput,
  io: ConfigIO,
  defaultConfigFile: string,
): { configFile: string; configText: string | null } {
  const explicitConfig = input.flags.config ?? envValueOf(input.env, 'CLAUDE_FILESYNC_CONFIG');
  const configSourceLabel = input.flags.config !== undefined ? '--config' : 'CLAUDE_FILESYNC_CONFIG';
  const configFile =
    explicitConfig !== undefined ? expandPath(explicitConfig, input.cwd, input.homedir) : defaultConfigFile;
  const configText = io.readText(configFile);
  if (configText === null && explicitConfig !== undefined) {
    throw new ConfigError(`config file not found: ${configFile} (from ${configSourceLabel})`, {
      hint: 'check the path, or leave out --config to use the defaults',
    });
  }
  return { configFile, configText };
}

function readFileLayer(
  input: ResolveConfigInput,
  io: ConfigIO,
  configFile: string,
  configText: string,
  errors: string[],
  warnings: string[],
): Layer | null {
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
  const mode = io.mode(configFile);
  if (mode !== null && (mode & 0o044) !== 0 && holdsKey(configText, input.env)) {
    warnings.push(
      `config file ${configFile} is readable by other users (mode ${octal(mode)}) and appears to hold an API key; ` +
        `move the key to ANTHROPIC_API_KEY or a key file and run: chmod 600 ${configFile}`,
    );
  }
  if (!fileLayer) return null;
  // Paths in the file are relative to the file, so a config can travel with its folder.
  return { values: expandLayerPaths(fileLayer, base, input.homedir), source: () => `in ${configFile}` };
}

function readEnvLayer(input: ResolveConfigInput, errors: string[]): Layer | null {
  const envValue = (name: string) => envValueOf(input.env, name);
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
  if (!envLayer) return null;
  return {
    values: expandLayerPaths(envLayer, input.cwd, input.homedir),
    source: (f) => envSources[f] ?? 'from the environment',
  };
}

function readFlagLayer(input: ResolveConfigInput, errors: string[]): Layer | null {
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
  if (!flagLayer) return null;
  return {
    values: expandLayerPaths(flagLayer, input.cwd, input.homedir),
    source: (f) => flagSources[f] ?? 'from a flag',
  };
}

function holdsKey(text: string, env: ResolveConfigInput['env']): boolean {
  if (KEY_LIKE.test(text)) return true;
  const key = env[D.api.apiKeyEnv];
  return key !== undefined && key.length >= 8 && text.includes(key);
}
