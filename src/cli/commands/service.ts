import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { defaultPaths, type DefaultPaths } from '../../config/paths.js';
import { EXIT_OK } from '../../daemon/exit-codes.js';
import {
  addCommonOptions,
  loadConfig,
  reportError,
  usageError,
  type CommandEnv,
  type CommonOptions,
} from '../common.js';
import {
  INSTANCE_NAME,
  LAUNCHD_PLIST_NAME,
  launchdLabel,
  readTemplate,
  renderLaunchdPlist,
  renderSystemdDropIn,
  renderSystemdTemplate,
  renderSystemdUnit,
  SYSTEMD_TEMPLATE_NAME,
  SYSTEMD_UNIT_NAME,
  systemdInstanceUnit,
  type UnitPaths,
} from '../service-units.js';

interface InstallFlags extends CommonOptions {
  print?: boolean;
  platform?: 'linux' | 'darwin';
  name?: string;
}

export function serviceCommand(env: CommandEnv, done: (code: number) => void): Command {
  const service = new Command('service').description('background service units (systemd on Linux, launchd on macOS)');
  service.addCommand(
    addCommonOptions(new Command('install'))
      .description(
        "write the systemd user unit (Linux) or the launchd agent (macOS) with this installation's paths, and print how to enable it",
      )
      .option('--print', 'only print the unit; write nothing')
      .option(
        '--name <name>',
        'one daemon per folder: instance <name> reads <config folder>/<name>.json (written from --dir and --state-dir when missing)',
      )
      .addOption(
        new Option('--platform <platform>', 'render for this platform instead of this machine').choices([
          'linux',
          'darwin',
        ]),
      )
      .action((opts: InstallFlags) => {
        try {
          const platform = opts.platform ?? env.ctx.platform;
          if (platform !== 'linux' && platform !== 'darwin') {
            done(usageError(env, `service install supports Linux (systemd) and macOS (launchd), not ${platform}`));
            return;
          }
          const paths = defaultPaths({ env: env.ctx.env, platform, homedir: env.ctx.homedir });
          if (opts.name !== undefined) {
            done(installNamed(env, opts, opts.name, platform, paths));
            return;
          }
          done(installSingle(env, opts, platform, paths));
        } catch (err) {
          done(reportError(env, err));
        }
      }),
  );
  return service;
}

/**
 * The single-folder unit: the daemon reads the configuration file only, written here from --dir
 * and --state-dir when there is none yet, so that editing it later is all it takes.
 */
function installSingle(env: CommandEnv, opts: InstallFlags, platform: 'linux' | 'darwin', paths: DefaultPaths): number {
  const { config, requestedTarget } = loadConfig(env, opts, { allowMissingKey: true });
  const configFile = config.configFile ?? paths.configFile;
  if (config.configFile !== null && (opts.dir !== undefined || opts.stateDir !== undefined)) {
    return usageError(
      env,
      `${configFile} exists: change "dir" and "stateDir" there instead of passing --dir or --state-dir (the unit reads only that file)`,
    );
  }
  const files: { path: string; text: string }[] = [];
  if (config.configFile === null) {
    files.push({
      path: configFile,
      text: configText(config.dir, config.stateDir, requestedTarget),
    });
  }
  const unitPaths: UnitPaths = {
    execPath: env.ctx.execPath,
    mainScript: env.ctx.mainScript,
    dir: config.dir,
    stateDir: config.stateDir,
    configFile,
    logDir: paths.logDir ?? join(config.stateDir, 'logs'),
    keyFile: config.api.apiKeyFile ?? paths.apiKeyFile,
  };
  const linux = platform === 'linux';
  const target = linux
    ? join(dirname(paths.configDir), 'systemd', 'user', SYSTEMD_UNIT_NAME)
    : join(env.ctx.homedir, 'Library', 'LaunchAgents', LAUNCHD_PLIST_NAME);
  files.push({
    path: target,
    text: linux
      ? renderSystemdUnit(readTemplate('systemd'), unitPaths)
      : renderLaunchdPlist(readTemplate('launchd'), unitPaths),
  });
  if (opts.print) {
    env.out.write(files.map((f) => `# ${f.path}\n${f.text}`).join('\n'));
    return EXIT_OK;
  }
  // ProtectSystem=strict needs the writable paths to exist when the unit starts.
  mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
  mkdirSync(config.dir, { recursive: true });
  if (!linux) mkdirSync(unitPaths.logDir, { recursive: true });
  writeFiles(env, files, configFile, paths.configDir);
  env.out.write('\n');
  env.out.write(
    linux
      ? linuxSteps(paths.configDir, SYSTEMD_UNIT_NAME, 'claude-filesync')
      : macSteps(target, unitPaths.keyFile, launchdLabel()),
  );
  return EXIT_OK;
}

/**
 * The configuration a service reads, its target written out: "auto" would fall back to the
 * built-in emulator when the key is missing, and nobody watches a service do that.
 */
function configText(dir: string, stateDir: string, requested: 'auto' | 'api' | 'emulator'): string {
  const target = requested === 'emulator' ? 'emulator' : 'api';
  return `${JSON.stringify({ dir, stateDir, api: { target } }, null, 2)}\n`;
}

/** The configuration (and its folder, which holds the key) private; the units readable. */
function writeFiles(env: CommandEnv, files: { path: string; text: string }[], configFile: string, configDir: string) {
  mkdirSync(configDir, { recursive: true, mode: 0o700 });
  for (const f of files) {
    mkdirSync(dirname(f.path), { recursive: true });
    writeFileSync(f.path, f.text, { mode: f.path === configFile ? 0o600 : 0o644 });
    if (f.path !== configFile) chmodSync(f.path, 0o644);
    env.out.write(`wrote ${f.path}\n`);
  }
}

/**
 * One daemon per folder: the instance reads <config folder>/<name>.json, which must name its own
 * folder and state directory (two daemons on one index would fight over its lock).
 */
function installNamed(
  env: CommandEnv,
  opts: InstallFlags,
  name: string,
  platform: 'linux' | 'darwin',
  paths: DefaultPaths,
): number {
  if (!INSTANCE_NAME.test(name)) {
    return usageError(
      env,
      `--name must be letters, digits, - and _ (at most 64, starting with a letter or digit), got ${JSON.stringify(name)}`,
    );
  }
  if (opts.config !== undefined)
    return usageError(
      env,
      `--name ${name} reads ${join(paths.configDir, `${name}.json`)}; do not pass --config with it`,
    );
  const configFile = join(paths.configDir, `${name}.json`);
  const exists = existsSync(configFile);
  let dir: string;
  let stateDir: string;
  let keyFile = paths.apiKeyFile;
  if (exists) {
    if (opts.dir !== undefined || opts.stateDir !== undefined) {
      return usageError(
        env,
        `${configFile} exists: change "dir" and "stateDir" there instead of passing --dir or --state-dir`,
      );
    }
    const { config } = loadConfig(
      env,
      { config: configFile, ...(opts.logLevel ? { logLevel: opts.logLevel } : {}) },
      { allowMissingKey: true },
    );
    if (config.stateDir === paths.stateDir) {
      return usageError(
        env,
        `${configFile} must name its own "stateDir": every instance needs its own index (for example ${join(paths.stateDir, name)})`,
      );
    }
    dir = config.dir;
    stateDir = config.stateDir;
    keyFile = config.api.apiKeyFile ?? keyFile;
  } else {
    if (opts.dir === undefined) {
      return usageError(
        env,
        `${configFile} does not exist: pass --dir <folder> (and --state-dir, default ${join(paths.stateDir, name)}) to have it written, or write it with "dir" and "stateDir"`,
      );
    }
    dir = resolve(env.ctx.cwd, opts.dir);
    stateDir = opts.stateDir !== undefined ? resolve(env.ctx.cwd, opts.stateDir) : join(paths.stateDir, name);
  }
  const linux = platform === 'linux';
  const configHome = dirname(paths.configDir);
  const unitDir = join(configHome, 'systemd', 'user');
  const files: { path: string; text: string }[] = [];
  if (!exists) {
    const { requestedTarget } = loadConfig(env, {}, { allowMissingKey: true });
    files.push({ path: configFile, text: configText(dir, stateDir, requestedTarget) });
  }
  if (linux) {
    files.push({
      path: join(unitDir, SYSTEMD_TEMPLATE_NAME),
      text: renderSystemdTemplate(readTemplate('systemd-template'), {
        execPath: env.ctx.execPath,
        mainScript: env.ctx.mainScript,
        configDir: paths.configDir,
      }),
    });
    files.push({
      path: join(unitDir, `${systemdInstanceUnit(name)}.d`, 'folders.conf'),
      text: renderSystemdDropIn({ name, dir, stateDir, configFile }),
    });
  } else {
    const logDir = paths.logDir ?? join(stateDir, 'logs');
    const unitPaths: UnitPaths = {
      execPath: env.ctx.execPath,
      mainScript: env.ctx.mainScript,
      dir,
      stateDir,
      configFile,
      logDir,
      keyFile,
      name,
    };
    files.push({
      path: join(env.ctx.homedir, 'Library', 'LaunchAgents', `${launchdLabel(name)}.plist`),
      text: renderLaunchdPlist(readTemplate('launchd'), unitPaths),
    });
  }
  if (opts.print) {
    env.out.write(files.map((f) => `# ${f.path}\n${f.text}`).join('\n'));
    return EXIT_OK;
  }
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  mkdirSync(dir, { recursive: true });
  if (!linux) mkdirSync(paths.logDir ?? join(stateDir, 'logs'), { recursive: true });
  writeFiles(env, files, configFile, paths.configDir);
  env.out.write('\n');
  const plist = files[files.length - 1]!.path;
  env.out.write(
    linux
      ? linuxSteps(paths.configDir, systemdInstanceUnit(name), systemdInstanceUnit(name), name)
      : macSteps(plist, keyFile, launchdLabel(name)),
  );
  return EXIT_OK;
}

function linuxSteps(configDir: string, unit: string, journalUnit: string, name: string | null = null): string {
  const envFile = join(configDir, name ? `${name}.env` : 'env');
  return [
    'To sync to Claude, put the key in the environment file the unit reads (without it, the',
    'daemon stops at start with exit 2 and says so; it never falls back to its built-in emulator):',
    `  mkdir -p -m 700 '${configDir}' && install -m 600 /dev/null '${envFile}' && echo 'ANTHROPIC_API_KEY=sk-ant-...' >> '${envFile}'`,
    '',
    'Then enable and start it:',
    '  systemctl --user daemon-reload',
    `  systemctl --user enable --now ${unit}`,
    '  loginctl enable-linger "$USER"    # keep it running while you are logged out',
    '',
    'Logs, status and an on-demand reconcile:',
    `  journalctl --user -u ${journalUnit} -f`,
    `  claude-filesync status${name ? ` --config ${join(configDir, `${name}.json`)}` : ''}`,
    `  systemctl --user reload ${unit}    # SIGHUP: reconcile now`,
    '',
  ].join('\n');
}

function macSteps(target: string, keyFile: string, label: string): string {
  return [
    'To sync to Claude, put the key in the key file the daemon reads (without it, the daemon',
    'stops at start with exit 2 and says so; it never falls back to its built-in emulator):',
    `  mkdir -p -m 700 '${dirname(keyFile)}' && install -m 600 /dev/null '${keyFile}' && echo 'sk-ant-...' >> '${keyFile}'`,
    '',
    'Then load and start it:',
    `  launchctl bootstrap gui/$(id -u) '${target}'`,
    `  launchctl kickstart -k gui/$(id -u)/${label}`,
    '',
    `To stop it: launchctl bootout gui/$(id -u)/${label}`,
    '',
  ].join('\n');
}
