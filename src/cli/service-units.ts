/**
 * Renders the service units in systemd/ and launchd/ with this installation's real paths. Pure:
 * the templates' text and the paths come in, the unit's text comes out.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FilesyncError, ErrorCode } from '../errors.js';

export const SYSTEMD_UNIT_NAME = 'claude-filesync.service';
/** One folder per instance: claude-filesync@<name>.service reads <config folder>/<name>.json. */
export const SYSTEMD_TEMPLATE_NAME = 'claude-filesync@.service';
export const LAUNCHD_LABEL = 'com.claude-filesync';
export const LAUNCHD_PLIST_NAME = `${LAUNCHD_LABEL}.plist`;

/** Instance names become file and unit names: letters, digits, - and _ only. */
export const INSTANCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function systemdInstanceUnit(name: string): string {
  return `claude-filesync@${name}.service`;
}

/** The launchd label (and plist file name without .plist) of the default agent or of a named one. */
export function launchdLabel(name: string | null = null): string {
  return name ? `${LAUNCHD_LABEL}.${name}` : LAUNCHD_LABEL;
}

export interface UnitPaths {
  /** The node binary. */
  execPath: string;
  /** dist/src/cli/main.js. */
  mainScript: string;
  dir: string;
  stateDir: string;
  /** The daemon's only argument: the folders come from it, so editing it is enough (and a restart). */
  configFile: string;
  /** launchd: where stdout and stderr go. */
  logDir: string;
  /** launchd: the key file the daemon reads when ANTHROPIC_API_KEY is unset. */
  keyFile: string;
  /** launchd: the instance name (label com.claude-filesync.<name>, logs <name>.log), or null. */
  name?: string | null;
}

/** What the shared template unit needs: every instance-specific path comes from %i. */
export interface TemplatePaths {
  execPath: string;
  mainScript: string;
  /** Where <name>.json lives. */
  configDir: string;
}

/**
 * The daemon's arguments: the configuration file only, like the template unit. --dir or
 * --state-dir here would win over the file, and a later edit of "dir" there would be ignored.
 */
function daemonArgs(p: UnitPaths): string[] {
  return [p.execPath, p.mainScript, 'run', '--config', p.configFile];
}

/** One word of a systemd command line or path list: quoted, with specifiers (%) and variables ($) literal. */
export function systemdQuote(value: string, options: { exec?: boolean } = {}): string {
  let v = value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%');
  if (options.exec) v = v.replace(/\$/g, '$$$$');
  return `"${v}"`;
}

export function renderSystemdUnit(template: string, p: UnitPaths): string {
  const exec = daemonArgs(p)
    .map((a) => systemdQuote(a, { exec: true }))
    .join(' ');
  return (
    template
      .replace('@EXEC_START@', () => exec)
      .replace('@STATE_DIR@', () => systemdQuote(p.stateDir))
      // '-': a folder that is missing at start (an unmounted disk) must not stop the daemon from
      // starting and saying so; it never writes into the folder anyway.
      .replace('@DIR@', () => systemdQuote(`-${p.dir}`))
      .replace('@DIR_LABEL@', () => p.dir.replace(/%/g, '%%'))
  );
}

/** The template's ExecStart reads <configDir>/%i.json: the instance name picks the configuration. */
export function renderSystemdTemplate(template: string, p: TemplatePaths): string {
  const configArg = `${systemdQuote(p.configDir, { exec: true }).slice(0, -1)}/%i.json"`;
  const exec = [
    ...[p.execPath, p.mainScript, 'run', '--config'].map((a) => systemdQuote(a, { exec: true })),
    configArg,
  ].join(' ');
  return template.replace('@EXEC_START@', () => exec);
}

/** The drop-in that lets one instance write to its own folder and state directory, and nothing else. */
export function renderSystemdDropIn(p: { name: string; dir: string; stateDir: string; configFile: string }): string {
  return [
    `# claude-filesync@${p.name}: the folders named in ${p.configFile.replace(/%/g, '%%')}.`,
    '# Written by `claude-filesync service install --name`; run it again after changing them.',
    '[Service]',
    `ReadWritePaths=${systemdQuote(p.stateDir)}`,
    // '-': a folder that is missing at start (an unmounted disk) must not keep the daemon from
    // starting and saying so.
    `ReadWritePaths=${systemdQuote(`-${p.dir}`)}`,
    '',
  ].join('\n');
}

export function xmlEscape(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export function renderLaunchdPlist(template: string, p: UnitPaths): string {
  const args = daemonArgs(p)
    .map((a) => `    <string>${xmlEscape(a)}</string>`)
    .join('\n');
  return (
    template
      .replace('@LABEL@', () => xmlEscape(launchdLabel(p.name ?? null)))
      .replace('@PROGRAM_ARGUMENTS@', () => args)
      .replaceAll('@LOG_NAME@', () => xmlEscape(p.name ?? 'claude-filesync'))
      .replaceAll('@LOG_DIR@', () => xmlEscape(p.logDir))
      // Inside an XML comment '--' is not allowed; a path with it is shown with a space between.
      .replace('@KEY_FILE@', () => p.keyFile.replace(/--/g, '- -'))
  );
}

/** The templates ship with the package: two levels up from src/cli, three from dist/src/cli. */
export function readTemplate(
  kind: 'systemd' | 'systemd-template' | 'launchd',
  moduleUrl: string = import.meta.url,
): string {
  const rel =
    kind === 'systemd'
      ? join('systemd', SYSTEMD_UNIT_NAME)
      : kind === 'systemd-template'
        ? join('systemd', SYSTEMD_TEMPLATE_NAME)
        : join('launchd', LAUNCHD_PLIST_NAME);
  for (const up of ['../../', '../../../']) {
    try {
      return readFileSync(new URL(`${up}${rel}`, moduleUrl), 'utf8');
    } catch {
      // try the next candidate
    }
  }
  throw new FilesyncError(ErrorCode.Install, `Cannot find the ${kind} template ${rel} in this installation.`, {
    hint: 'Reinstall claude-filesync: the package is incomplete.',
  });
}
