import { ConfigError } from '../errors.js';
import { CONFIG_DEFAULTS as D } from './defaults.js';
import type { FileConfig } from './schema.js';

/** Where the key and the target were looked for: named when a service finds neither. */
export interface LookedAt {
  keyFile: string;
  configFile: string;
  configFileExists: boolean;
}

/**
 * Target: the real API when a key is set or the configuration names it; else the built-in
 * emulator, except under a service manager (`lookedAt` given), where nobody would notice.
 */
export function resolveTarget(
  api: FileConfig['api'],
  apiKey: string | null,
  apiKeyEnv: string,
  allowMissingKey: boolean | undefined,
  sourceOf: (field: string) => string | undefined,
  lookedAt: LookedAt | null = null,
): 'api' | 'emulator' {
  const requested = api?.target ?? 'auto';
  // A base URL other than the default names a server of the user's choosing: it needs a key.
  const baseURLNamed = api?.baseURL !== undefined && stripTrailingSlash(api.baseURL) !== D.api.baseURL;
  if (requested === 'emulator') return 'emulator';
  if (apiKey !== null) return 'api';
  if (allowMissingKey && (requested === 'api' || baseURLNamed)) return 'api';
  if (requested === 'api' || baseURLNamed) {
    const why =
      requested === 'api'
        ? `api.target is "api" (${sourceOf('api.target') ?? ''})`
        : `api.baseURL is set (${sourceOf('api.baseURL') ?? ''})`;
    throw new ConfigError(`no API key: ${why} but ${apiKeyEnv} is not set`, {
      hint: `set ${apiKeyEnv} to sync to Claude (or name a key file with api.apiKeyFile); without a key and without api.target/ANTHROPIC_BASE_URL, claude-filesync runs against its built-in emulator and nothing leaves this machine`,
    });
  }
  if (lookedAt !== null && !allowMissingKey) throw serviceWithoutKey(apiKeyEnv, lookedAt);
  return 'emulator';
}

function serviceWithoutKey(apiKeyEnv: string, l: LookedAt): ConfigError {
  const config = l.configFileExists
    ? `${l.configFile} does not set api.target`
    : `there is no configuration file at ${l.configFile}`;
  return new ConfigError(
    `no API key for a service with api.target "auto": ${apiKeyEnv} is not set (a systemd unit reads it from its EnvironmentFile), there is no key file at ${l.keyFile}, and ${config}; it would sync to the built-in emulator, whose ids the Files API does not know`,
    {
      hint: `set ${apiKeyEnv} (or put the key in ${l.keyFile}, chmod 600) to sync to Claude, or write "api": { "target": "emulator" } in the configuration to run against the built-in emulator on purpose`,
    },
  );
}

export function stripTrailingSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}
