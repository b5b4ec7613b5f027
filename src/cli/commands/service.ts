import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, Option } from 'commander';
import { defaultPaths } from '../../config/paths.js';
import { EXIT_OK } from '../../daemon/exit-codes.js';
import { addCommonOptions, loadConfig, reportError, usageError, type CommandEnv, type CommonOptions } from '../common.js';
import {
  LAUNCHD_LABEL,
  LAUNCHD_PLIST_NAME,
  readTemplate,
  renderLaunchdPlist,
  renderSystemdUnit,
  SYSTEMD_UNIT_NAME,
  type UnitPaths,
} from '../service-units.js';

interface InstallFlags extends CommonOptions {
  print?: boolean;
  platform?: 'linux' | 'darwin';
}

export function serviceCommand(env: CommandEnv, done: (code: number) => void): Command {
  const service = new Command('service').description('background service units (systemd on Linux, launchd on macOS)');
  service.addCommand(
    addCommonOptions(new Command('install'))
      .description("write the systemd user unit (Linux) or the launchd agent (macOS) with this installation's paths, and print how to enable it")
      .option('--print', 'only print the unit; write nothing')
      .addOption(new Option('--platform <platform>', 'render for this platform instead of this machine').choices(['linux', 'darwin']))
      .action((opts: InstallFlags) => {
        try {
          const platform = opts.platform ?? env.ctx.platform;
          if (platform !== 'linux' && platform !== 'darwin') {
            done(usageError(env, `service install supports Linux (systemd) and macOS (launchd), not ${platform}`));
            return;
          }
          const { config } = loadConfig(env, opts, { allowMissingKey: true });
          const paths = defaultPaths({ env: env.ctx.env, platform, homedir: env.ctx.homedir });
          const unitPaths: UnitPaths = {
            execPath: env.ctx.execPath,
            mainScript: env.ctx.mainScript,
            dir: config.dir,
            stateDir: config.stateDir,
            configFile: config.configFile,
            logDir: paths.logDir ?? join(config.stateDir, 'logs'),
            keyFile: config.api.apiKeyFile ?? paths.apiKeyFile,
          };
          const linux = platform === 'linux';
          const text = linux ? renderSystemdUnit(readTemplate('systemd'), unitPaths) : renderLaunchdPlist(readTemplate('launchd'), unitPaths);
          if (opts.print) {
            env.out.write(text);
            done(EXIT_OK);
            return;
          }
          const configHome = dirname(paths.configDir);
          const target = linux
            ? join(configHome, 'systemd', 'user', SYSTEMD_UNIT_NAME)
            : join(env.ctx.homedir, 'Library', 'LaunchAgents', LAUNCHD_PLIST_NAME);
          // ProtectSystem=strict needs the writable paths to exist when the unit starts.
          mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
          mkdirSync(config.dir, { recursive: true });
          if (!linux) mkdirSync(unitPaths.logDir, { recursive: true });
          mkdirSync(dirname(target), { recursive: true });
          writeFileSync(target, text, { mode: 0o644 });
          chmodSync(target, 0o644);
          env.out.write(`wrote ${target}\n\n`);
          env.out.write(linux ? linuxSteps(paths.configDir) : macSteps(target, unitPaths.keyFile));
          done(EXIT_OK);
        } catch (err) {
          done(reportError(env, err));
        }
      }),
  );
  return service;
}

function linuxSteps(configDir: string): string {
  const envFile = join(configDir, 'env');
  return [
    'To sync to Claude, put the key in the environment file the unit reads (without it, the',
    'daemon runs against its built-in emulator and nothing leaves this machine):',
    `  install -m 600 /dev/null ${envFile} && echo 'ANTHROPIC_API_KEY=sk-ant-...' >> ${envFile}`,
    '',
    'Then enable and start it:',
    '  systemctl --user daemon-reload',
    `  systemctl --user enable --now ${SYSTEMD_UNIT_NAME}`,
    '  loginctl enable-linger "$USER"    # keep it running while you are logged out',
    '',
    'Logs, status and an on-demand reconcile:',
    '  journalctl --user -u claude-filesync -f',
    '  claude-filesync status',
    `  systemctl --user reload ${SYSTEMD_UNIT_NAME}    # SIGHUP: reconcile now`,
    '',
  ].join('\n');
}

function macSteps(target: string, keyFile: string): string {
  return [
    'To sync to Claude, put the key in the key file the daemon reads (without it, the daemon',
    'runs against its built-in emulator and nothing leaves this machine):',
    `  install -m 600 /dev/null '${keyFile}' && echo 'sk-ant-...' >> '${keyFile}'`,
    '',
    'Then load and start it:',
    `  launchctl bootstrap gui/$(id -u) '${target}'`,
    `  launchctl kickstart -k gui/$(id -u)/${LAUNCHD_LABEL}`,
    '',
    'To stop it: launchctl bootout gui/$(id -u)/' + LAUNCHD_LABEL,
    '',
  ].join('\n');
}
