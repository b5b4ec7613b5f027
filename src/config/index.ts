export type { Config, ApiConfig, QueueConfig, WatchConfig, SyncConfig } from './types.js';
export { resolveConfig, nodeConfigIO } from './resolve-config.js';
export { CONFIG_DEFAULTS } from './defaults.js';
export type { ConfigFlags, ConfigIO, ResolveConfigInput, ResolvedConfig } from './resolve-config.js';
export { defaultPaths, expandPath, APP_NAME } from './paths.js';
export type { DefaultPaths, PathContext } from './paths.js';
export { fileConfigSchema, EXPECTATIONS, LOG_LEVELS } from './schema.js';
