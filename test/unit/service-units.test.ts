import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  readTemplate,
  renderLaunchdPlist,
  renderSystemdDropIn,
  renderSystemdTemplate,
  renderSystemdUnit,
  systemdQuote,
  xmlEscape,
  type UnitPaths,
} from '../../src/cli/service-units.js';

function paths(base: string, over: Partial<UnitPaths> = {}): UnitPaths {
  const main = join(base, 'dist', 'src', 'cli', 'main.js');
  mkdirSync(join(base, 'dist', 'src', 'cli'), { recursive: true });
  writeFileSync(main, '');
  return {
    execPath: process.execPath,
    mainScript: main,
    dir: join(base, 'Claude Sync 100%'),
    stateDir: join(base, 'state'),
    configFile: join(base, 'config.json'),
    logDir: join(base, 'Library', 'Logs', 'claude-filesync'),
    keyFile: join(base, 'api-key'),
    ...over,
  };
}

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

describe('systemd unit', () => {
  const base = mkdtempSync(join(tmpdir(), 'cfs-units-'));
  const unit = renderSystemdUnit(readTemplate('systemd'), paths(base, { configFile: join(base, 'c $HOME.json') }));

  it('has the required settings and no placeholder left', () => {
    expect(unit).not.toMatch(/@[A-Z_]+@/);
    for (const line of [
      'Restart=on-failure',
      'RestartPreventExitStatus=2',
      'LimitNOFILE=65536',
      'EnvironmentFile=-%h/.config/claude-filesync/env',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'PrivateTmp=yes',
      `ReadWritePaths="${join(base, 'state')}"`,
      `ReadWritePaths="-${join(base, 'Claude Sync 100%%')}"`,
      'WantedBy=default.target',
    ]) {
      expect(unit).toContain(line);
    }
  });

  it('quotes paths with spaces, % and $ in ExecStart', () => {
    expect(unit).toContain(`"--config" "${join(base, 'c $$HOME.json')}"`);
    const percent = renderSystemdUnit(
      readTemplate('systemd'),
      paths(base, { configFile: join(base, 'Claude Sync 100%', 'c.json') }),
    );
    expect(percent).toContain(`"run" "--config" "${join(base, 'Claude Sync 100%%', 'c.json')}"`);
    expect(systemdQuote('a"b\\c')).toBe('"a\\"b\\\\c"');
  });

  it('passes systemd-analyze verify', (ctx) => {
    if (!has('systemd-analyze')) {
      ctx.skip(true, 'systemd-analyze is not installed here');
      return;
    }
    const file = join(base, 'claude-filesync.service');
    writeFileSync(file, unit);
    const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    if (/Failed to (initialize manager|lookup RuntimeDirectory)/.test(r.stderr)) {
      ctx.skip(true, `systemd-analyze cannot run in this environment: ${r.stderr.trim()}`);
      return;
    }
    expect(
      r.stderr.split('\n').filter((l) => l.includes('claude-filesync.service') && !/Unit is bound to inactive/.test(l)),
    ).toEqual([]);
    expect(r.status).toBe(0);
  });
});

describe('systemd template unit (one folder per instance)', () => {
  const base = mkdtempSync(join(tmpdir(), 'cfs-units-'));
  const p = paths(base);
  const configDir = join(base, 'conf 100%');
  const template = renderSystemdTemplate(readTemplate('systemd-template'), {
    execPath: p.execPath,
    mainScript: p.mainScript,
    configDir,
  });
  const dropIn = renderSystemdDropIn({
    name: 'work',
    dir: p.dir,
    stateDir: p.stateDir,
    configFile: join(configDir, 'work.json'),
  });

  it('reads the instance configuration <config folder>/%i.json and keeps the service settings', () => {
    expect(template).not.toMatch(/@[A-Z_]+@/);
    expect(template).toContain(`"run" "--config" "${join(base, 'conf 100%%')}/%i.json"`);
    for (const line of [
      'Restart=on-failure',
      'RestartPreventExitStatus=2',
      'LimitNOFILE=65536',
      'EnvironmentFile=-%h/.config/claude-filesync/%i.env',
      'ProtectSystem=strict',
      'WantedBy=default.target',
    ]) {
      expect(template).toContain(line);
    }
    expect(dropIn).toContain(`ReadWritePaths="${p.stateDir}"`);
    expect(dropIn).toContain(`ReadWritePaths="-${join(base, 'Claude Sync 100%%')}"`);
  });

  it('passes systemd-analyze verify as an instance, with its drop-in', (ctx) => {
    if (!has('systemd-analyze')) {
      ctx.skip(true, 'systemd-analyze is not installed here');
      return;
    }
    const unitDir = join(base, 'units');
    mkdirSync(join(unitDir, 'claude-filesync@work.service.d'), { recursive: true });
    writeFileSync(join(unitDir, 'claude-filesync@.service'), template);
    writeFileSync(join(unitDir, 'claude-filesync@work.service.d', 'folders.conf'), dropIn);
    const r = spawnSync('systemd-analyze', ['verify', join(unitDir, 'claude-filesync@work.service')], {
      encoding: 'utf8',
      env: { ...process.env, SYSTEMD_UNIT_PATH: `${unitDir}:` },
    });
    if (/Failed to (initialize manager|lookup RuntimeDirectory)/.test(r.stderr)) {
      ctx.skip(true, `systemd-analyze cannot run in this environment: ${r.stderr.trim()}`);
      return;
    }
    expect(
      r.stderr.split('\n').filter((l) => l.includes('claude-filesync@') && !/Unit is bound to inactive/.test(l)),
    ).toEqual([]);
    expect(r.status).toBe(0);
  });
});

/** A strict-enough well-formedness check of the plist XML: balanced tags, plist elements only. */
function parsePlistTags(xml: string): string[] {
  const body = xml
    .replace(/<\?xml[^>]*\?>/, '')
    .replace(/<!DOCTYPE[^>]*>/, '')
    .replace(/<!--[\s\S]*?-->/g, '');
  const allowed = new Set(['plist', 'dict', 'key', 'string', 'array', 'true', 'false', 'integer']);
  const stack: string[] = [];
  const keys: string[] = [];
  const re = /<(\/?)([a-zA-Z]+)[^>]*?(\/?)>([^<]*)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body))) {
    const [, close, name, self, text] = m;
    if (!allowed.has(name!)) throw new Error(`unexpected element <${name}>`);
    if (/&(?!(amp|lt|gt|quot|apos);)/.test(text ?? '')) throw new Error(`unescaped & in ${text}`);
    if (self) continue;
    if (close) {
      if (stack.pop() !== name) throw new Error(`unbalanced </${name}>`);
    } else {
      stack.push(name!);
      if (name === 'key') keys.push((text ?? '').trim());
    }
  }
  if (stack.length > 0) throw new Error(`unclosed ${stack.join(',')}`);
  return keys;
}

describe('launchd plist', () => {
  const base = mkdtempSync(join(tmpdir(), 'cfs-units-'));
  const p = paths(base, { configFile: join(base, 'Docs & <Notes> -- x', 'c.json') });
  const plist = renderLaunchdPlist(readTemplate('launchd'), p);

  it('is well-formed XML with RunAtLoad, KeepAlive and log paths', () => {
    const keys = parsePlistTags(plist);
    for (const k of [
      'Label',
      'ProgramArguments',
      'RunAtLoad',
      'KeepAlive',
      'StandardOutPath',
      'StandardErrorPath',
      'EnvironmentVariables',
    ]) {
      expect(keys).toContain(k);
    }
    expect(plist).not.toMatch(/@[A-Z_]+@/);
    expect(plist).toContain(`<string>${xmlEscape(p.configFile)}</string>`);
    expect(plist).toContain(`<string>${p.logDir}/claude-filesync.log</string>`);
  });

  it('parses with plutil -lint or python plistlib where they exist', (ctx) => {
    const file = join(base, 'com.claude-filesync.plist');
    writeFileSync(file, plist);
    if (has('plutil')) {
      expect(spawnSync('plutil', ['-lint', file]).status).toBe(0);
      return;
    }
    if (!has('python3')) {
      ctx.skip(true, 'neither plutil nor python3 is installed here');
      return;
    }
    const r = spawnSync(
      'python3',
      ['-c', 'import plistlib,sys,json; d=plistlib.load(open(sys.argv[1],"rb")); print(json.dumps(d))', file],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    const parsed = JSON.parse(r.stdout) as { ProgramArguments: string[]; RunAtLoad: boolean; KeepAlive: unknown };
    expect(parsed.ProgramArguments).toEqual([process.execPath, p.mainScript, 'run', '--config', p.configFile]);
    expect(parsed.RunAtLoad).toBe(true);
    expect(parsed.KeepAlive).toEqual({ SuccessfulExit: false });
  });

  it("sets the open files limit (NumberOfFiles) explicitly, soft and hard, above launchd's default of 256", (ctx) => {
    const file = join(base, 'limits.plist');
    writeFileSync(file, plist);
    if (!has('python3')) {
      ctx.skip(true, 'python3 is not installed here');
      return;
    }
    const r = spawnSync(
      'python3',
      [
        '-c',
        'import plistlib,sys,json; d=plistlib.load(open(sys.argv[1],"rb")); print(json.dumps([d["SoftResourceLimits"], d["HardResourceLimits"]]))',
        file,
      ],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([{ NumberOfFiles: 65536 }, { NumberOfFiles: 65536 }]);
  });

  it('names the label and the logs after the instance when it has a name', () => {
    const named = renderLaunchdPlist(readTemplate('launchd'), { ...p, name: 'work' });
    expect(parsePlistTags(named)).toContain('Label');
    expect(named).toContain('<string>com.claude-filesync.work</string>');
    expect(named).toContain(`<string>${xmlEscape(p.logDir)}/work.err.log</string>`);
  });

  it('rejects a broken document (the checker can fail)', () => {
    expect(() => parsePlistTags('<plist><dict><key>a</key></plist>')).toThrow();
  });
});
