import { ConfigError } from '../errors.js';
import { CONFIG_DEFAULTS as D } from './defaults.js';
import type { FileConfig } from './schema.js';

/** Target: the real API when a key is set or the configuration names it; else the built-in emulator. */
export function resolveTarget(
  api: FileConfig['api'],
  apiKey: string | null,
  apiKeyEnv: string,
  allowMissingKey: boolean | undefined,
  sourceOf: (field: string) => string | undefined,
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
  return 'emulator';
}

export function stripTrailingSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}
