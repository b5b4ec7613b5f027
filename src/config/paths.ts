/**
 * Default locations, per platform. Pure: the caller passes the environment, the platform and the
 * home directory, so tests can ask for macOS paths on Linux.
 *
 * Linux (XDG Base Directory): state in $XDG_STATE_HOME/claude-filesync (~/.local/state/...),
 * config in $XDG_CONFIG_HOME/claude-filesync/config.json (~/.config/...). Logs go to journald.
 * macOS: state and config in ~/Library/Application Support/claude-filesync, logs in
 * ~/Library/Logs/claude-filesync. The watched folder is ~/ClaudeSync on both: a visible folder
 * in the home directory, where people look for it (it is data, not application state).
 */
import { isAbsolute, join } from 'node:path';

const APP_NAME = 'claude-filesync';

export interface PathContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly platform: NodeJS.Platform;
  readonly homedir: string;
}

export interface DefaultPaths {
  /** The watched folder. */
  readonly dir: string;
  /** Index, lock, control socket, the in-process emulator's files. */
  readonly stateDir: string;
  /** Where config.json, the optional api-key file and the systemd env file live. */
  readonly configDir: string;
  readonly configFile: string;
  /** A key file read when no key is in the environment and none is configured (if it exists). */
  readonly apiKeyFile: string;
  /** Where the launchd agent writes stdout/stderr (macOS); null where journald takes the logs. */
  readonly logDir: string | null;
}

/** XDG variables count only when absolute, as the specification says. */
function xdg(env: PathContext['env'], name: string, fallback: string): string {
  const value = env[name];
  return value !== undefined && value !== '' && isAbsolute(value) ? value : fallback;
}

export function defaultPaths(ctx: PathContext): DefaultPaths {
  const home = ctx.homedir;
  const dir = join(home, 'ClaudeSync');
  if (ctx.platform === 'darwin') {
    const support = join(home, 'Library', 'Application Support', APP_NAME);
    return {
      dir,
      stateDir: support,
      configDir: support,
      configFile: join(support, 'config.json'),
      apiKeyFile: join(support, 'api-key'),
      logDir: join(home, 'Library', 'Logs', APP_NAME),
    };
  }
  const configDir = join(xdg(ctx.env, 'XDG_CONFIG_HOME', join(home, '.config')), APP_NAME);
  return {
    dir,
    stateDir: join(xdg(ctx.env, 'XDG_STATE_HOME', join(home, '.local', 'state')), APP_NAME),
    configDir,
    configFile: join(configDir, 'config.json'),
    apiKeyFile: join(configDir, 'api-key'),
    logDir: null,
  };
}

/** `~` and `~/x` expand to the home directory; relative paths resolve against `base`. */
export function expandPath(value: string, base: string, homedir: string): string {
  if (value === '~') return homedir;
  if (value.startsWith('~/')) return join(homedir, value.slice(2));
  return isAbsolute(value) ? join(value) : join(base, value);
}
