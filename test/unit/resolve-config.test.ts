import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { defaultPaths } from '../../src/config/paths.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import type { ResolveConfigInput } from '../../src/config/config-input.js';
import { fileConfigSchema } from '../../src/config/schema.js';
import { ownerTagFor } from '../../src/plan/naming.js';

function tempHome(): string {
  return mkdtempSync(join(tmpdir(), 'cfs-config-'));
}

function input(home: string, over: Partial<ResolveConfigInput> = {}): ResolveConfigInput {
  return { flags: {}, env: {}, cwd: home, platform: 'linux', homedir: home, ...over };
}

function withFile(home: string, content: unknown, mode = 0o600): string {
  const file = join(home, 'cfg.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  chmodSync(file, mode);
  return file;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveConfig defaults', () => {
  it('fills every default and picks the emulator when no key is set', () => {
    const home = tempHome();
    const { config, warnings } = resolveConfig(input(home));
    expect(warnings).toEqual([]);
    expect(config.dir).toBe(join(home, 'ClaudeSync'));
    expect(config.stateDir).toBe(join(home, '.local', 'state', 'claude-filesync'));
    expect(config.api.target).toBe('emulator');
    expect(config.api.apiKey).toBeNull();
    expect(config.api.shape).toBe('ga');
    expect(config.api.maxRetries).toBe(2);
    expect(config.api.timeoutMs).toBe(600_000);
    expect(config.queue).toEqual({ concurrency: 4, requestsPerMinute: 400 });
    expect(config.watch).toEqual({
      settleMs: 1000,
      ignore: [],
      include: [],
      followSymlinks: false,
      usePolling: false,
      pollIntervalMs: 2000,
    });
    expect(config.sync).toEqual({
      maxFileBytes: 524_288_000,
      expiresInSeconds: null,
      maxDeletePercent: 50,
      maxDeleteFloor: 10,
      reconcileIntervalMinutes: 60,
      instanceName: null,
      ownerTag: ownerTagFor({ instanceName: null, hostname: hostname(), dir: join(home, 'ClaudeSync') }),
    });
    expect(config.log.level).toBe('info');
    expect(config.configFile).toBeNull();
  });

  it('derives the owner tag from host and folder, or from sync.instanceName when set', () => {
    const home = tempHome();
    const a = resolveConfig(input(home, { hostname: 'alpha', flags: { dir: join(home, 'one') } })).config.sync.ownerTag;
    expect(a).toMatch(/^[0-9a-f]{8}$/);
    expect(
      resolveConfig(input(home, { hostname: 'alpha', flags: { dir: join(home, 'one') } })).config.sync.ownerTag,
    ).toBe(a);
    expect(
      resolveConfig(input(home, { hostname: 'beta', flags: { dir: join(home, 'one') } })).config.sync.ownerTag,
    ).not.toBe(a);
    expect(
      resolveConfig(input(home, { hostname: 'alpha', flags: { dir: join(home, 'two') } })).config.sync.ownerTag,
    ).not.toBe(a);
    const named = (host: string) =>
      resolveConfig(
        input(home, { hostname: host, flags: { config: withFile(home, { sync: { instanceName: 'docs' } }) } }),
      ).config.sync;
    expect(named('alpha').instanceName).toBe('docs');
    expect(named('alpha').ownerTag).toBe(named('beta').ownerTag);
    expect(named('alpha').ownerTag).toBe(ownerTagFor({ instanceName: 'docs', hostname: 'ignored', dir: '/ignored' }));
    expect(
      configError(() =>
        resolveConfig(input(home, { flags: { config: withFile(home, { sync: { instanceName: '' } }) } })),
      ).message,
    ).toMatch(/sync\.instanceName/);
  });

  it('returns a deeply frozen config', () => {
    const { config } = resolveConfig(input(tempHome()));
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.api)).toBe(true);
    expect(Object.isFrozen(config.watch.ignore)).toBe(true);
  });

  it('targets the API when ANTHROPIC_API_KEY is set', () => {
    const { config } = resolveConfig(input(tempHome(), { env: { ANTHROPIC_API_KEY: 'sk-ant-test-123456789' } }));
    expect(config.api.target).toBe('api');
    expect(config.api.apiKey).toBe('sk-ant-test-123456789');
    expect(config.api.apiKeySource).toBe('env');
    expect(config.api.baseURL).toBe('https://api.anthropic.com');
  });
});

describe('resolveConfig precedence: flags > environment > file > defaults', () => {
  it('applies each layer over the one below', () => {
    const home = tempHome();
    const file = withFile(home, {
      dir: '/from/file',
      stateDir: '/state/file',
      log: { level: 'debug' },
      queue: { concurrency: 2 },
    });
    const base = input(home, { flags: { config: file } });
    expect(resolveConfig(base).config.dir).toBe('/from/file');
    expect(resolveConfig(base).config.log.level).toBe('debug');
    const withEnv = { ...base, env: { CLAUDE_FILESYNC_DIR: '/from/env', CLAUDE_FILESYNC_LOG_LEVEL: 'warn' } };
    expect(resolveConfig(withEnv).config.dir).toBe('/from/env');
    expect(resolveConfig(withEnv).config.log.level).toBe('warn');
    const withFlags = { ...withEnv, flags: { ...withEnv.flags, dir: '/from/flag', logLevel: 'error' } };
    const { config } = resolveConfig(withFlags);
    expect(config.dir).toBe('/from/flag');
    expect(config.log.level).toBe('error');
    expect(config.stateDir).toBe('/state/file');
    expect(config.queue.concurrency).toBe(2);
    expect(config.queue.requestsPerMinute).toBe(400);
    expect(config.configFile).toBe(file);
  });

  it('ANTHROPIC_BASE_URL overrides the file and is normalised', () => {
    const home = tempHome();
    const file = withFile(home, { api: { baseURL: 'http://file.example:1' } });
    const { config } = resolveConfig(
      input(home, {
        flags: { config: file },
        env: { ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/', ANTHROPIC_API_KEY: 'k-123' },
      }),
    );
    expect(config.api.baseURL).toBe('http://127.0.0.1:9');
  });

  it('resolves relative paths in the file against the file, and flags against cwd', () => {
    const home = tempHome();
    mkdirSync(join(home, 'etc'));
    const file = join(home, 'etc', 'c.json');
    writeFileSync(file, JSON.stringify({ dir: 'data', stateDir: '~/st' }));
    const { config } = resolveConfig(input(home, { flags: { config: file } }));
    expect(config.dir).toBe(join(home, 'etc', 'data'));
    expect(config.stateDir).toBe(join(home, 'st'));
    const flagged = resolveConfig(input(home, { cwd: '/work', flags: { config: file, dir: 'rel' } }));
    expect(flagged.config.dir).toBe('/work/rel');
  });

  it("defaults requestsPerMinute below each shape's documented limit", () => {
    const home = tempHome();
    const beta = withFile(home, { api: { shape: 'beta' } });
    expect(resolveConfig(input(home, { flags: { config: beta } })).config.queue.requestsPerMinute).toBe(90);
    const set = withFile(home, { api: { shape: 'beta' }, queue: { requestsPerMinute: 50 } });
    expect(resolveConfig(input(home, { flags: { config: set } })).config.queue.requestsPerMinute).toBe(50);
  });

  it('reads the default config file when present, and CLAUDE_FILESYNC_CONFIG names another', () => {
    const home = tempHome();
    const cfgDir = join(home, '.config', 'claude-filesync');
    mkdirSync(cfgDir, { recursive: true });
    writeFileSync(join(cfgDir, 'config.json'), JSON.stringify({ queue: { concurrency: 3 } }));
    expect(resolveConfig(input(home)).config.queue.concurrency).toBe(3);
    const other = withFile(home, { queue: { concurrency: 5 } });
    expect(resolveConfig(input(home, { env: { CLAUDE_FILESYNC_CONFIG: other } })).config.queue.concurrency).toBe(5);
  });

  it('accepts "$comment" in every section', () => {
    const home = tempHome();
    const file = withFile(home, {
      $comment: 'x',
      api: { $comment: 'y' },
      queue: { $comment: 'z' },
      log: { $comment: 'w' },
    });
    expect(() => resolveConfig(input(home, { flags: { config: file } }))).not.toThrow();
  });
});

describe('resolveConfig validation messages', () => {
  const cases: [unknown, string][] = [
    [{ queue: { requestsPerMinute: 'fast' } }, 'queue.requestsPerMinute must be a positive integer, got "fast"'],
    [{ queue: { requestsPerMinute: 0 } }, 'queue.requestsPerMinute must be a positive integer, got 0'],
    [{ queue: { concurrency: 1.5 } }, 'queue.concurrency must be an integer from 1 to 64, got 1.5'],
    [{ queue: { concurrency: 100 } }, 'queue.concurrency must be an integer from 1 to 64, got 100'],
    [{ api: { shape: 'gamma' } }, 'api.shape must be one of "ga", "beta", got "gamma"'],
    [{ api: { target: 'cloud' } }, 'api.target must be one of "auto", "api", "emulator", got "cloud"'],
    [{ api: { baseURL: 'not a url' } }, 'api.baseURL must be an http or https URL, got "not a url"'],
    [{ api: { maxRetries: -1 } }, 'api.maxRetries must be an integer from 0 to 10, got -1'],
    [{ api: { timeoutMs: 'soon' } }, 'api.timeoutMs must be a positive integer (milliseconds), got "soon"'],
    [
      { api: { apiKeyEnv: 'MY-KEY' } },
      'api.apiKeyEnv must be the name of an environment variable (letters, digits, _), got "MY-KEY"',
    ],
    [{ watch: { settleMs: -5 } }, 'watch.settleMs must be a non-negative integer (milliseconds), got -5'],
    [{ watch: { ignore: '*.log' } }, 'watch.ignore must be an array of gitignore patterns (strings), got "*.log"'],
    [{ watch: { include: ['ok', 3] } }, 'watch.include[1] must be a string (a gitignore pattern), got 3'],
    [{ watch: { followSymlinks: 'yes' } }, 'watch.followSymlinks must be true or false, got "yes"'],
    [{ watch: { usePolling: 1 } }, 'watch.usePolling must be true or false, got 1'],
    [{ watch: { pollIntervalMs: 0 } }, 'watch.pollIntervalMs must be a positive integer (milliseconds), got 0'],
    [
      { sync: { maxFileBytes: 600_000_000 } },
      'sync.maxFileBytes must be a positive integer (bytes) no larger than 524288000',
    ],
    [
      { sync: { expiresInSeconds: 60 } },
      'sync.expiresInSeconds must be null or an integer from 3600 to 7776000 (1 hour to 90 days), got 60',
    ],
    [{ sync: { maxDeletePercent: 150 } }, 'sync.maxDeletePercent must be a number from 0 to 100, got 150'],
    [{ sync: { maxDeleteFloor: 'ten' } }, 'sync.maxDeleteFloor must be a non-negative integer, got "ten"'],
    [{ sync: { reconcileIntervalMinutes: -1 } }, 'sync.reconcileIntervalMinutes must be a non-negative integer'],
    [
      { log: { level: 'loud' } },
      'log.level must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent", got "loud"',
    ],
    [{ dir: '' }, 'dir must be a non-empty path, got ""'],
    [{ stateDir: 7 }, 'stateDir must be a non-empty path, got 7'],
    [{ queue: 'fast' }, 'queue must be an object, got "fast"'],
    [[1, 2], 'the configuration must be a JSON object, got [1,2]'],
    [{ queue: { fast: true } }, 'queue.fast is not a known configuration field'],
    [{ colour: 'blue' }, 'colour is not a known configuration field'],
    [
      { api: { apiKey: 'sk-ant-abcdefghijklmnop' } },
      'api.apiKey is not a configuration field: the API key is never stored',
    ],
  ];
  for (const [content, message] of cases) {
    it(`rejects ${JSON.stringify(content)} with "${message}"`, () => {
      const home = tempHome();
      const file = withFile(home, content);
      const err = configError(() => resolveConfig(input(home, { flags: { config: file } })));
      expect(err.message).toContain(message);
      expect(err.message).toContain(file);
      expect(err.code).toBe('E_CONFIG');
    });
  }

  it('lists every problem at once', () => {
    const home = tempHome();
    const file = withFile(home, { queue: { concurrency: 0, requestsPerMinute: 'x' }, log: { level: 1 } });
    const err = configError(() => resolveConfig(input(home, { flags: { config: file } })));
    expect(err.message).toContain('queue.concurrency');
    expect(err.message).toContain('queue.requestsPerMinute');
    expect(err.message).toContain('log.level');
  });

  it('names the environment variable or flag a bad value came from', () => {
    const home = tempHome();
    const env = configError(() => resolveConfig(input(home, { env: { CLAUDE_FILESYNC_LOG_LEVEL: 'chatty' } })));
    expect(env.message).toContain('from CLAUDE_FILESYNC_LOG_LEVEL');
    const flag = configError(() => resolveConfig(input(home, { flags: { logLevel: 'chatty' } })));
    expect(flag.message).toContain('log.level must be one of');
    expect(flag.message).toContain('from --log-level');
    const url = configError(() =>
      resolveConfig(input(home, { env: { ANTHROPIC_BASE_URL: 'ftp://x', ANTHROPIC_API_KEY: 'k' } })),
    );
    expect(url.message).toContain('api.baseURL must be an http or https URL, got "ftp://x" (from ANTHROPIC_BASE_URL)');
  });

  it('never echoes a value that looks like a key', () => {
    const home = tempHome();
    const file = withFile(home, { api: { baseURL: 'sk-ant-api03-secretsecretsecret' } });
    const err = configError(() => resolveConfig(input(home, { flags: { config: file } })));
    expect(err.message).not.toContain('secretsecret');
    expect(err.message).toContain('looks like an API key');
  });

  it('rejects invalid JSON, a missing --config, expiry with the beta shape and dir == stateDir', () => {
    const home = tempHome();
    const bad = withFile(home, '{ "queue": ');
    expect(configError(() => resolveConfig(input(home, { flags: { config: bad } }))).message).toContain(
      'is not valid JSON',
    );
    expect(
      configError(() => resolveConfig(input(home, { flags: { config: join(home, 'nope.json') } }))).message,
    ).toContain('config file not found');
    const beta = withFile(home, { api: { shape: 'beta' }, sync: { expiresInSeconds: 3600 } });
    expect(configError(() => resolveConfig(input(home, { flags: { config: beta } }))).message).toContain(
      'sync.expiresInSeconds must be null with api.shape "beta"',
    );
    expect(
      configError(() => resolveConfig(input(home, { flags: { dir: '/a/b', stateDir: '/a/b/' } }))).message,
    ).toContain('stateDir must be a different folder from dir');
  });
});

describe('resolveConfig target and key', () => {
  it('exits with a config error when the real API is named and no key is set', () => {
    const home = tempHome();
    const file = withFile(home, { api: { target: 'api' } });
    const err = configError(() => resolveConfig(input(home, { flags: { config: file } })));
    expect(err.message).toContain('no API key');
    expect(err.hint).toContain('set ANTHROPIC_API_KEY to sync to Claude');
    const viaUrl = configError(() => resolveConfig(input(home, { env: { ANTHROPIC_BASE_URL: 'http://127.0.0.1:1' } })));
    expect(viaUrl.message).toContain('api.baseURL is set (from ANTHROPIC_BASE_URL)');
  });

  it('api.target "emulator" wins over a key, and the key is dropped', () => {
    const home = tempHome();
    const file = withFile(home, { api: { target: 'emulator' } });
    const { config } = resolveConfig(input(home, { flags: { config: file }, env: { ANTHROPIC_API_KEY: 'k-1234' } }));
    expect(config.api.target).toBe('emulator');
    expect(config.api.apiKey).toBeNull();
  });

  it('reads the key from api.apiKeyEnv, then a key file, and warns when the file is readable by others', () => {
    const home = tempHome();
    const keyFile = join(home, 'key');
    writeFileSync(keyFile, 'sk-ant-from-file-000\n');
    chmodSync(keyFile, 0o644);
    const file = withFile(home, { api: { apiKeyFile: keyFile } });
    const r = resolveConfig(input(home, { flags: { config: file } }));
    expect(r.config.api.apiKey).toBe('sk-ant-from-file-000');
    expect(r.config.api.apiKeySource).toBe('file');
    expect(r.config.api.target).toBe('api');
    expect(r.warnings.join('\n')).toContain(`API key file ${keyFile} is readable by other users (mode 0644)`);
    expect(r.warnings.join('\n')).not.toContain('sk-ant-from-file');
    chmodSync(keyFile, 0o600);
    expect(resolveConfig(input(home, { flags: { config: file } })).warnings).toEqual([]);
    const custom = withFile(home, { api: { apiKeyEnv: 'MY_KEY' } });
    const c = resolveConfig(
      input(home, { flags: { config: custom }, env: { MY_KEY: 'mine-123', ANTHROPIC_API_KEY: 'other' } }),
    );
    expect(c.config.api.apiKey).toBe('mine-123');
  });

  it("lists the daemon's own files: the state directory, the configuration file, the key files and the configuration folder", () => {
    const home = tempHome();
    const keyFile = join(home, 'docs', 'api-key');
    mkdirSync(join(home, 'docs'));
    writeFileSync(keyFile, 'sk-ant-from-file-000\n', { mode: 0o600 });
    const file = withFile(home, { api: { apiKeyFile: keyFile }, stateDir: join(home, 'docs', '.state') });
    const { config } = resolveConfig(input(home, { flags: { config: file } }));
    const cfgDir = join(home, '.config', 'claude-filesync');
    expect(config.ownFiles).toEqual([
      { path: join(home, 'docs', '.state'), what: 'the state directory', dir: true },
      { path: file, what: 'the configuration file', dir: false },
      { path: keyFile, what: 'the API key file', dir: false },
      { path: join(cfgDir, 'api-key'), what: 'the API key file', dir: false },
      { path: cfgDir, what: 'the configuration folder', dir: true },
    ]);
  });

  it('uses the default key file in the config folder when it exists', () => {
    const home = tempHome();
    const cfgDir = join(home, '.config', 'claude-filesync');
    mkdirSync(cfgDir, { recursive: true });
    writeFileSync(join(cfgDir, 'api-key'), 'default-key-1\n', { mode: 0o600 });
    const { config } = resolveConfig(input(home));
    expect(config.api.apiKey).toBe('default-key-1');
    expect(config.api.apiKeyFile).toBe(join(cfgDir, 'api-key'));
  });

  it('fails when a configured key file is missing or empty', () => {
    const home = tempHome();
    const missing = withFile(home, { api: { apiKeyFile: join(home, 'none') } });
    expect(configError(() => resolveConfig(input(home, { flags: { config: missing } }))).message).toContain(
      'does not exist',
    );
    writeFileSync(join(home, 'empty'), '\n');
    const empty = withFile(home, { api: { apiKeyFile: join(home, 'empty') } });
    expect(configError(() => resolveConfig(input(home, { flags: { config: empty } }))).message).toContain('is empty');
  });

  it('warns when a config file readable by others holds a key', () => {
    const home = tempHome();
    const file = withFile(home, { $comment: 'my key is sk-ant-api03-abcdefghijkl' }, 0o644);
    const { warnings } = resolveConfig(input(home, { flags: { config: file } }));
    expect(warnings.join('\n')).toContain('is readable by other users');
    expect(warnings.join('\n')).not.toContain('abcdefghijkl');
    const plain = withFile(home, { queue: { concurrency: 2 } }, 0o644);
    expect(resolveConfig(input(home, { flags: { config: plain } })).warnings).toEqual([]);
  });
});

describe('defaultPaths', () => {
  it('follows XDG on Linux', () => {
    expect(defaultPaths({ env: {}, platform: 'linux', homedir: '/home/u' })).toEqual({
      dir: '/home/u/ClaudeSync',
      stateDir: '/home/u/.local/state/claude-filesync',
      configDir: '/home/u/.config/claude-filesync',
      configFile: '/home/u/.config/claude-filesync/config.json',
      apiKeyFile: '/home/u/.config/claude-filesync/api-key',
      logDir: null,
    });
    const p = defaultPaths({
      env: { XDG_STATE_HOME: '/x/state', XDG_CONFIG_HOME: '/x/conf' },
      platform: 'linux',
      homedir: '/home/u',
    });
    expect(p.stateDir).toBe('/x/state/claude-filesync');
    expect(p.configFile).toBe('/x/conf/claude-filesync/config.json');
  });

  it('ignores relative XDG variables, as the specification says', () => {
    const p = defaultPaths({ env: { XDG_STATE_HOME: 'rel/state' }, platform: 'linux', homedir: '/home/u' });
    expect(p.stateDir).toBe('/home/u/.local/state/claude-filesync');
  });

  it('uses ~/Library on macOS', () => {
    const p = defaultPaths({ env: { XDG_STATE_HOME: '/x' }, platform: 'darwin', homedir: '/Users/u' });
    expect(p.stateDir).toBe('/Users/u/Library/Application Support/claude-filesync');
    expect(p.configFile).toBe('/Users/u/Library/Application Support/claude-filesync/config.json');
    expect(p.logDir).toBe('/Users/u/Library/Logs/claude-filesync');
    expect(p.dir).toBe('/Users/u/ClaudeSync');
  });
});

describe('config.example.json', () => {
  it('is accepted by the schema and matches every default', () => {
    const example = JSON.parse(readFileSync(new URL('../../config.example.json', import.meta.url), 'utf8'));
    expect(fileConfigSchema.safeParse(example).success).toBe(true);
    const home = tempHome();
    const file = withFile(home, { ...example, dir: undefined, stateDir: undefined });
    const { config } = resolveConfig(input(home, { flags: { config: file } }));
    const defaults = resolveConfig(input(home)).config;
    // The own files name the configuration file read; everything else is the defaults.
    expect({ ...config, configFile: null, ownFiles: null }).toEqual({ ...defaults, ownFiles: null });
  });
});

describe('resolveConfig edge cases (issue 14)', () => {
  it('reads a config file that starts with a UTF-8 byte-order mark', () => {
    const home = tempHome();
    const file = withFile(home, `\uFEFF${JSON.stringify({ queue: { concurrency: 7 } })}`);
    expect(resolveConfig(input(home, { flags: { config: file } })).config.queue.concurrency).toBe(7);
  });

  it('refuses a dir or stateDir that is a regular file, naming it and the flag to use', () => {
    const home = tempHome();
    const file = join(home, 'plain');
    writeFileSync(file, 'x');
    const dirErr = configError(() => resolveConfig(input(home, { flags: { dir: file } })));
    expect(dirErr.message).toBe(
      `dir must be a directory (the watched folder), but ${file} (from --dir) is a regular file: move it away, or name another folder with --dir`,
    );
    const stateErr = configError(() =>
      resolveConfig(input(home, { env: { CLAUDE_FILESYNC_STATE_DIR: join(file, 'sub') } })),
    );
    expect(stateErr.message).toContain(`but ${join(file, 'sub')} (from CLAUDE_FILESYNC_STATE_DIR) is not a directory`);
    // Missing folders are fine: the first run creates them.
    expect(() =>
      resolveConfig(input(home, { flags: { dir: join(home, 'new'), stateDir: join(home, 'st') } })),
    ).not.toThrow();
  });

  it('refuses ignore and include patterns that git would never match as meant, naming each', () => {
    const home = tempHome();
    const file = withFile(home, {
      watch: { ignore: ['ok/*.log', '', '#notes', 'trail\\', '[z-a]', 'a[b', '!'], include: ['[!]'] },
    });
    const err = configError(() => resolveConfig(input(home, { flags: { config: file } })));
    for (const line of [
      `watch.ignore[1] is not a valid gitignore pattern: "": it is blank (in ${file})`,
      'watch.ignore[2] is not a valid gitignore pattern: "#notes": it starts with "#"',
      'watch.ignore[3] is not a valid gitignore pattern: "trail\\\\": it ends with a lone backslash',
      'watch.ignore[4] is not a valid gitignore pattern: "[z-a]": its range "z-a" is out of order',
      'watch.ignore[5] is not a valid gitignore pattern: "a[b": it has an unclosed "[" at position 2',
      'watch.ignore[6] is not a valid gitignore pattern: "!": it names no path',
      'watch.include[0] is not a valid gitignore pattern: "[!]": it has an unclosed "["',
    ]) {
      expect(err.message).toContain(line);
    }
    expect(err.message).not.toContain('ok/*.log');
  });

  it('accepts the gitignore patterns people write', () => {
    const home = tempHome();
    const patterns = [
      '*.log',
      'build/',
      '/top.txt',
      '!keep.tmp',
      'secret/**/*.key',
      '[abc].txt',
      '[!a-z]*',
      '[]x]',
      '[a-]',
      '\\#hash',
      'a\\[b',
      'x\\\\',
      '[[:digit:]]*',
      'a\\ ',
    ];
    const file = withFile(home, { watch: { ignore: patterns, include: ['docs/**'] } });
    expect(resolveConfig(input(home, { flags: { config: file } })).config.watch.ignore).toEqual(patterns);
  });
});

describe('metrics.listen (issue 11)', () => {
  it('is off by default and parses host:port from the file or from run --metrics', () => {
    const home = tempHome();
    expect(resolveConfig(input(home)).config.metrics).toEqual({ listen: null, allowNonLoopback: false });
    const file = withFile(home, { metrics: { listen: '127.0.0.1:9464' } });
    expect(resolveConfig(input(home, { flags: { config: file } })).config.metrics.listen).toEqual({
      host: '127.0.0.1',
      port: 9464,
    });
    const flag = resolveConfig(input(home, { flags: { config: file, metrics: '[::1]:9000' } })).config.metrics.listen;
    expect(flag).toEqual({ host: '::1', port: 9000 });
  });

  it('refuses a non-loopback address, naming it and where it came from, unless the file allows it', () => {
    const home = tempHome();
    const err = configError(() => resolveConfig(input(home, { flags: { metrics: '0.0.0.0:9464' } })));
    expect(err.message).toBe(
      'metrics.listen 0.0.0.0:9464 (from --metrics) is not a loopback address: the metrics would be served to the network',
    );
    const file = withFile(home, { metrics: { allowNonLoopback: true } });
    expect(
      resolveConfig(input(home, { flags: { config: file, metrics: '0.0.0.0:9464' } })).config.metrics.listen,
    ).toEqual({ host: '0.0.0.0', port: 9464 });
  });

  it('refuses an address without a port or with port 0, saying what it expected', () => {
    const home = tempHome();
    expect(configError(() => resolveConfig(input(home, { flags: { metrics: '127.0.0.1' } }))).message).toContain(
      'metrics.listen must be null or host:port',
    );
    expect(configError(() => resolveConfig(input(home, { flags: { metrics: '127.0.0.1:0' } }))).message).toBe(
      'metrics.listen must be host:port with a port from 1 to 65535, got "127.0.0.1:0" (from --metrics)',
    );
  });
});

describe('sync.mimeTypes', () => {
  it('takes upload types per extension, keys in lower case', () => {
    const home = tempHome();
    const file = withFile(home, {
      sync: { mimeTypes: { '.MD': 'text/markdown', '.dat': 'text/plain; charset=utf-8' } },
    });
    expect(resolveConfig(input(home, { flags: { config: file } })).config.sync.mimeTypes).toEqual({
      '.md': 'text/markdown',
      '.dat': 'text/plain; charset=utf-8',
    });
  });

  it('refuses an extension without its dot and a value that is not a MIME type, naming the field', () => {
    const home = tempHome();
    const bad = configError(() =>
      resolveConfig(input(home, { flags: { config: withFile(home, { sync: { mimeTypes: { md: 'text/plain' } } }) } })),
    );
    expect(bad.message).toContain('sync.mimeTypes');
    const badType = configError(() =>
      resolveConfig(
        input(home, { flags: { config: withFile(home, { sync: { mimeTypes: { '.md': 'plain text' } } }) } }),
      ),
    );
    expect(badType.message).toContain('sync.mimeTypes..md must be an object mapping extensions (".md") to MIME types');
  });
});
