import { ConfigError } from '../errors.js';
import type { ConfigIO, ResolveConfigInput } from './config-input.js';
import { octal } from './octal.js';
import { envValueOf } from './read-layers.js';
import type { Config } from './types.js';

export interface ApiKey {
  apiKey: string | null;
  apiKeySource: Config['api']['apiKeySource'];
  /** The key file in use: the configured one, else the default one if it exists. */
  keyFile: string | null;
}

/** The key: the environment variable first, then a key file (configured, else the default one if present). */
export function resolveApiKey(
  env: ResolveConfigInput['env'],
  io: ConfigIO,
  apiKeyEnv: string,
  configuredKeyFile: string | null,
  defaultKeyFile: string,
  sourceOf: (field: string) => string | undefined,
  warnings: string[],
): ApiKey {
  const apiKey: string | null = envValueOf(env, apiKeyEnv)?.trim() ?? null;
  const keyFile = configuredKeyFile ?? (io.mode(defaultKeyFile) !== null ? defaultKeyFile : null);
  if (apiKey !== null || keyFile === null) return { apiKey, apiKeySource: apiKey !== null ? 'env' : 'none', keyFile };
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
  const mode = io.mode(keyFile);
  if (mode !== null && (mode & 0o077) !== 0) {
    warnings.push(
      `API key file ${keyFile} is readable by other users (mode ${octal(mode)}); run: chmod 600 ${keyFile}`,
    );
  }
  return { apiKey: key, apiKeySource: 'file', keyFile };
}
