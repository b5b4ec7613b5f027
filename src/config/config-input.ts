/** What the options pipeline takes and gives back (resolve-config.ts). */
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
  /**
   * Started by systemd or launchd: target "auto" without a key is then a configuration error, as
   * nobody watches a service fall back to the built-in emulator. @default false
   */
  underServiceManager?: boolean;
  /** The host name in the owner tag (when no sync.instanceName is set). @default os.hostname() */
  hostname?: string;
}

export interface ResolvedConfig {
  config: Config;
  /** Things the user should know that do not stop the program (a key file readable by others). */
  warnings: string[];
  /** api.target as configured, before "auto" was decided (service install writes it out). */
  requestedTarget: 'auto' | 'api' | 'emulator';
}
