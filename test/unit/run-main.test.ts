import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMain } from '../../src/cli/run-main.js';
import { toFolderRelative } from '../../src/cli/folder-path.js';
import { holdSignals } from '../../src/daemon/held-signals.js';
import { targetIndexes } from '../../src/state-dir/state-files.js';
import { VERSION } from '../../src/version.js';
import { captureContext } from '../helpers/cli-context.js';

const home = () => mkdtempSync(join(tmpdir(), 'cfs-cli-'));

async function cli(argv: string[], env: Record<string, string> = {}, h = home()) {
  const c = captureContext({ home: h, env });
  const code = await runMain(argv, c.ctx);
  return { code, stdout: c.stdout(), stderr: c.stderr(), home: h };
}

describe('CLI usage errors exit 2 with a message naming the problem', () => {
  const cases: [string[], RegExp][] = [
    [[], /Usage: claude-filesync/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['status', '--bogus'], /unknown option '--bogus'/],
    [['status', '--log-level', 'loud'], /--log-level.*loud.*Allowed choices/s],
    [['emulator'], /required option '--port <n>' not specified/],
    [['emulator', '--port', 'abc'], /Expected a port from 0 to 65535, got "abc"/],
    [['emulator', '--port', '70000'], /Expected a port/],
    [['id'], /missing required argument 'path'/],
    [['run', '--grace-ms', '-5'], /non-negative integer/],
    [['files', 'get'], /missing required argument 'file-id'/],
    [['service', 'install', '--platform', 'windows'], /Allowed choices are linux, darwin/],
  ];
  for (const [argv, message] of cases) {
    it(`claude-filesync ${argv.join(' ') || '(nothing)'}`, async () => {
      const r = await cli(argv);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    });
  }

  it('a bad config field exits 2 naming the field, the expectation and the value', async () => {
    const h = home();
    const file = join(h, 'c.json');
    writeFileSync(file, JSON.stringify({ queue: { requestsPerMinute: 'fast' } }));
    for (const cmd of ['run', 'sync', 'reconcile', 'status', 'ls']) {
      const r = await cli([cmd, '--config', file, '--state-dir', join(h, 's')], {}, h);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('queue.requestsPerMinute must be a positive integer, got "fast"');
    }
  });

  it('naming the real API without a key exits 2', async () => {
    const h = home();
    const file = join(h, 'c.json');
    writeFileSync(file, JSON.stringify({ api: { target: 'api' } }));
    const r = await cli(['run', '--config', file, '--state-dir', join(h, 's'), '--dir', join(h, 'f')], {}, h);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no API key');
    expect(r.stderr).toContain('set ANTHROPIC_API_KEY to sync to Claude');
  });

  it('files without a key exits 2 and says how to set one', async () => {
    const r = await cli(['files', 'list']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no API key is set');
  });

  it('id with a path outside the folder exits 2', async () => {
    const h = home();
    const r = await cli(['id', '/etc/passwd', '--dir', join(h, 'f'), '--state-dir', join(h, 's')], {}, h);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not a file inside the watched folder');
  });
});

describe('CLI help, version and read-only commands', () => {
  it('--version prints the version, exit 0', async () => {
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
  });

  for (const argv of [
    ['--help'],
    ['run', '--help'],
    ['reconcile', '--help'],
    ['files', 'list', '--help'],
    ['service', 'install', '--help'],
    ['help', 'status'],
  ]) {
    it(`${argv.join(' ')} prints usage, exit 0`, async () => {
      const r = await cli(argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Usage: claude-filesync/);
    });
  }

  it('every command takes --dir, --state-dir and --config', async () => {
    for (const argv of [
      ['run'],
      ['sync'],
      ['reconcile'],
      ['status'],
      ['ls'],
      ['id'],
      ['files', 'list'],
      ['service', 'install'],
    ]) {
      const r = await cli([...argv, '--help']);
      expect(r.stdout).toContain('--dir <path>');
      expect(r.stdout).toContain('--state-dir <path>');
      expect(r.stdout).toContain('--config <file>');
    }
  });

  it('status without a daemon says "not running" and the emulator note, text and JSON', async () => {
    const h = home();
    const args = ['--dir', join(h, 'f'), '--state-dir', join(h, 's')];
    const text = await cli(['status', ...args], {}, h);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('not running');
    expect(text.stdout).toContain('nothing leaves this machine; set ANTHROPIC_API_KEY to sync to Claude');
    const json = await cli(['status', '--json', ...args], {}, h);
    const s = JSON.parse(json.stdout) as { running: boolean; target: { kind: string }; counts: Record<string, number> };
    expect(s.running).toBe(false);
    expect(s.target.kind).toBe('emulator');
    expect(s.counts).toEqual({ pending: 0, synced: 0, failed: 0, skipped: 0 });
  });

  it('ls --json without an index prints an empty array; id of an unknown path exits 1', async () => {
    const h = home();
    const args = ['--dir', join(h, 'f'), '--state-dir', join(h, 's')];
    const ls = await cli(['ls', '--json', ...args], {}, h);
    expect(ls.code).toBe(0);
    expect(JSON.parse(ls.stdout)).toEqual([]);
    const id = await cli(['id', 'nope.txt', ...args], {}, h);
    expect(id.code).toBe(1);
    expect(id.stderr).toContain('nope.txt is not synced');
  });

  it('never prints the key from the environment, even in an error', async () => {
    const key = 'sk-ant-api03-cli-test-secret-000111';
    const h = home();
    const file = join(h, 'c.json');
    writeFileSync(file, JSON.stringify({ dir: key }));
    const r = await cli(['status', '--config', file], { ANTHROPIC_API_KEY: key }, h);
    expect(r.stdout + r.stderr).not.toContain(key);
  });
});

describe('service install', () => {
  it('--print renders the systemd unit with the real paths and writes nothing', async () => {
    const h = home();
    const r = await cli(
      [
        'service',
        'install',
        '--print',
        '--platform',
        'linux',
        '--dir',
        join(h, 'My Folder'),
        '--state-dir',
        join(h, 'st'),
      ],
      {},
      h,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `ExecStart="${process.execPath}" "/opt/claude-filesync/dist/src/cli/main.js" "run" "--config" "${join(h, '.config', 'claude-filesync', 'config.json')}"`,
    );
    expect(r.stdout).toContain(`"dir": "${join(h, 'My Folder')}"`);
    expect(r.stdout).toContain(`ReadWritePaths="${join(h, 'st')}"`);
    expect(r.stdout).not.toMatch(/@[A-Z_]+@/);
    expect(() => statSync(join(h, '.config', 'systemd'))).toThrow();
  });

  it('--print --platform darwin renders the launchd agent', async () => {
    const h = home();
    const r = await cli(
      ['service', 'install', '--print', '--platform', 'darwin', '--dir', join(h, 'f'), '--state-dir', join(h, 's')],
      {},
      h,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('<string>com.claude-filesync</string>');
    expect(r.stdout).toContain(`<string>${join(h, 'Library', 'Logs', 'claude-filesync')}/claude-filesync.log</string>`);
  });

  it('writes the unit under $XDG_CONFIG_HOME/systemd/user, creates the folders and prints the commands', async () => {
    const h = home();
    const r = await cli(
      ['service', 'install', '--platform', 'linux', '--dir', join(h, 'f'), '--state-dir', join(h, 's')],
      { XDG_CONFIG_HOME: join(h, 'xdg') },
      h,
    );
    expect(r.code).toBe(0);
    const unit = join(h, 'xdg', 'systemd', 'user', 'claude-filesync.service');
    expect(readFileSync(unit, 'utf8')).toContain('Restart=on-failure');
    expect(r.stdout).toContain(`wrote ${unit}`);
    expect(r.stdout).toContain('systemctl --user enable --now claude-filesync.service');
    expect(statSync(join(h, 'f')).isDirectory()).toBe(true);
    expect(statSync(join(h, 's')).mode & 0o777).toBe(0o700);
  });

  it('writes the launchd agent under ~/Library/LaunchAgents', async () => {
    const h = home();
    mkdirSync(join(h, 'Library'), { recursive: true });
    const r = await cli(
      ['service', 'install', '--platform', 'darwin', '--dir', join(h, 'f'), '--state-dir', join(h, 's')],
      {},
      h,
    );
    expect(r.code).toBe(0);
    expect(readFileSync(join(h, 'Library', 'LaunchAgents', 'com.claude-filesync.plist'), 'utf8')).toContain(
      '<key>RunAtLoad</key>',
    );
    expect(r.stdout).toContain('launchctl bootstrap');
  });
});

describe('a named folder that does not exist is not created (issue 21, symptom 8)', () => {
  it('sync and reconcile exit 2 for a named folder that does not exist, naming it and where it came from, and create nothing', async () => {
    const h = home();
    const typo = join(h, 'Typo');
    const cases: [string[], Record<string, string>, string][] = [
      [['sync', '--dir', typo], {}, 'from --dir'],
      [['reconcile', '--dry-run', '--dir', typo], {}, 'from --dir'],
      [['reconcile', '--dir', typo], {}, 'from --dir'],
      [['sync'], { CLAUDE_FILESYNC_DIR: typo }, 'from CLAUDE_FILESYNC_DIR'],
    ];
    for (const [argv, env, source] of cases) {
      const r = await cli([...argv, '--state-dir', join(h, 's')], env, h);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toContain(`the folder ${typo} (${source}) does not exist`);
      expect(r.stderr).toContain(`mkdir -p '${typo}'`);
      expect(existsSync(typo)).toBe(false);
    }
    writeFileSync(join(h, 'c.json'), JSON.stringify({ dir: typo }));
    const fromFile = await cli(['sync', '--config', join(h, 'c.json'), '--state-dir', join(h, 's')], {}, h);
    expect(fromFile.code).toBe(2);
    expect(fromFile.stderr).toContain(`(in ${join(h, 'c.json')}) does not exist`);
    expect(existsSync(typo)).toBe(false);
  });

  it('the default folder is still created on a first run', async () => {
    const h = home();
    const r = await cli(['sync', '--state-dir', join(h, 's')], {}, h);
    expect(r.code).toBe(0);
    expect(statSync(join(h, 'ClaudeSync')).isDirectory()).toBe(true);
  });

  it('run with a named folder that does not exist reports it missing, waits, and syncs it once it appears', async () => {
    const h = home();
    const dir = join(h, 'Later');
    const args = ['--dir', dir, '--state-dir', join(h, 's')];
    const c = captureContext({ home: h });
    const running = runMain(['run', ...args], c.ctx);
    const status = async () => {
      const r = await cli(['status', ...args], {}, h);
      return r.stdout;
    };
    const until = async (what: string, ok: (text: string) => boolean) => {
      for (let i = 0; i < 200; i++) {
        const text = await status();
        if (ok(text)) return text;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out waiting for ${what}: ${await status()}`);
    };
    try {
      const text = await until('the missing folder in status', (t) => /problem: .*missing folder/.test(t));
      expect(text).toContain(dir);
      expect(existsSync(dir)).toBe(false);
      mkdirSync(dir);
      writeFileSync(join(dir, 'a.txt'), 'alpha');
      await until('a.txt synced', (t) => /1 synced/.test(t));
    } finally {
      c.signals.emit('SIGTERM');
    }
    expect(await running).toBe(0);
  });
});

describe('a service never syncs to the emulator unnoticed (issue 21, symptom 7)', () => {
  it('under a service manager, target auto with no key is a configuration error naming what was looked at', async () => {
    const managers: Record<string, string>[] = [
      { INVOCATION_ID: 'abc123' },
      { XPC_SERVICE_NAME: 'com.claude-filesync' },
    ];
    for (const manager of managers) {
      const h = home();
      mkdirSync(join(h, 'f'));
      const c = captureContext({ home: h, env: manager });
      const running = runMain(['run', '--dir', join(h, 'f'), '--state-dir', join(h, 's')], c.ctx);
      const code = await Promise.race([running, new Promise((r) => setTimeout(() => r('still running'), 3000))]);
      if (code === 'still running') {
        c.signals.emit('SIGTERM');
        await running;
      }
      expect(code).toBe(2);
      expect(c.stderr()).toContain('ANTHROPIC_API_KEY is not set');
      expect(c.stderr()).toContain(join(h, '.config', 'claude-filesync', 'api-key'));
      expect(c.stderr()).toContain(join(h, '.config', 'claude-filesync', 'config.json'));
      expect(c.stderr()).toMatch(/"target": "emulator"/);
      const sync = await cli(['sync', '--dir', join(h, 'f'), '--state-dir', join(h, 's')], manager, h);
      expect(sync.code).toBe(2);
      // Naming the emulator is a choice, and stays one.
      writeFileSync(join(h, 'emulator.json'), JSON.stringify({ api: { target: 'emulator' } }));
      const chosen = await cli(
        ['sync', '--dir', join(h, 'f'), '--state-dir', join(h, 's'), '--config', join(h, 'emulator.json')],
        manager,
        h,
      );
      expect(chosen.stderr).not.toContain('ANTHROPIC_API_KEY is not set');
      expect(chosen.code).toBe(0);
    }
  });

  it('service install writes the target explicitly in the configuration it writes', async () => {
    const h = home();
    const r = await cli(
      ['service', 'install', '--platform', 'linux', '--dir', join(h, 'f'), '--state-dir', join(h, 's')],
      {},
      h,
    );
    expect(r.code).toBe(0);
    const written = JSON.parse(readFileSync(join(h, '.config', 'claude-filesync', 'config.json'), 'utf8')) as unknown;
    expect(written).toEqual({ dir: join(h, 'f'), stateDir: join(h, 's'), api: { target: 'api' } });
    const named = await cli(
      ['service', 'install', '--name', 'w', '--platform', 'linux', '--dir', join(h, 'W'), '--state-dir', join(h, 'ws')],
      {},
      h,
    );
    expect(named.code).toBe(0);
    expect(JSON.parse(readFileSync(join(h, '.config', 'claude-filesync', 'w.json'), 'utf8'))).toMatchObject({
      api: { target: 'api' },
    });
  });

  it('id, ls and export answered from the emulator say so on stderr, and stdout stays the answer', async () => {
    const h = home();
    mkdirSync(join(h, 'f'));
    writeFileSync(join(h, 'f', 'a.txt'), 'a');
    const args = ['--dir', join(h, 'f'), '--state-dir', join(h, 's')];
    expect((await cli(['sync', ...args], {}, h)).code).toBe(0);
    const id = await cli(['id', 'a.txt', ...args], {}, h);
    expect(id.code).toBe(0);
    expect(id.stdout).toMatch(/^file_\w+\n$/);
    expect(id.stderr).toMatch(/built-in emulator/);
    for (const argv of [['ls'], ['ls', '--json'], ['export']]) {
      const r = await cli([...argv, ...args], {}, h);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/built-in emulator/);
    }
    expect(JSON.parse((await cli(['ls', '--json', ...args], {}, h)).stdout)).toHaveLength(1);
  });
});

describe('service install: set-up steps that work (issue 21, symptom 15)', () => {
  it('the printed step that writes the env file works on a machine with no configuration folder yet', async () => {
    const h = home();
    const r = await cli(
      ['service', 'install', '--platform', 'linux', '--dir', join(h, 'f'), '--state-dir', join(h, 's')],
      { XDG_CONFIG_HOME: join(h, 'xdg') },
      h,
    );
    expect(r.code).toBe(0);
    const step = r.stdout.split('\n').find((l) => l.includes('install -m 600 /dev/null'));
    expect(step).toBeDefined();
    rmSync(join(h, 'xdg', 'claude-filesync'), { recursive: true, force: true });
    const sh = spawnSync('sh', ['-c', step!.trim()], { encoding: 'utf8' });
    expect(sh.stderr).toBe('');
    expect(sh.status).toBe(0);
    const envFile = join(h, 'xdg', 'claude-filesync', 'env');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(h, 'xdg', 'claude-filesync')).mode & 0o777).toBe(0o700);
  });

  it('the single-folder unit starts the daemon with --config, so later edits of dir and stateDir take effect', async () => {
    const h = home();
    const r = await cli(
      ['service', 'install', '--platform', 'linux', '--dir', join(h, 'f'), '--state-dir', join(h, 's')],
      {},
      h,
    );
    expect(r.code).toBe(0);
    const configFile = join(h, '.config', 'claude-filesync', 'config.json');
    const unit = readFileSync(join(h, '.config', 'systemd', 'user', 'claude-filesync.service'), 'utf8');
    expect(unit).toContain(
      `ExecStart="${process.execPath}" "/opt/claude-filesync/dist/src/cli/main.js" "run" "--config" "${configFile}"\n`,
    );
    expect(unit).not.toContain('"--dir"');
    expect(unit).not.toContain('"--state-dir"');
    const written = JSON.parse(readFileSync(configFile, 'utf8')) as { dir: string; stateDir: string };
    expect(written).toMatchObject({ dir: join(h, 'f'), stateDir: join(h, 's') });
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    expect(r.stdout).toContain(`wrote ${configFile}`);

    // Now the configuration is the source of the folders: a flag that contradicts it is refused.
    const clash = await cli(['service', 'install', '--platform', 'linux', '--dir', join(h, 'other')], {}, h);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain('config.json exists: change "dir" and "stateDir" there');
    const again = await cli(['service', 'install', '--platform', 'linux', '--print'], {}, h);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`"run" "--config" "${configFile}"`);
  });
});

describe('service install --name (issue 11: several folders)', () => {
  it('--print renders the template unit, which reads <config folder>/<name>.json, and the drop-in with its folders; writes nothing', async () => {
    const h = home();
    const r = await cli(
      ['service', 'install', '--name', 'work', '--print', '--platform', 'linux', '--dir', join(h, 'Work')],
      {},
      h,
    );
    expect(r.code).toBe(0);
    const configDir = join(h, '.config', 'claude-filesync');
    expect(r.stdout).toContain(
      `# ${join(configDir, 'work.json')}\n{\n  "dir": "${join(h, 'Work')}",\n  "stateDir": "${join(h, '.local', 'state', 'claude-filesync', 'work')}",\n  "api": {\n    "target": "api"\n  }\n}`,
    );
    expect(r.stdout).toContain(`# ${join(h, '.config', 'systemd', 'user', 'claude-filesync@.service')}\n`);
    expect(r.stdout).toContain(
      `ExecStart="${process.execPath}" "/opt/claude-filesync/dist/src/cli/main.js" "run" "--config" "${configDir}/%i.json"`,
    );
    expect(r.stdout).toContain('Description=claude-filesync (%i)');
    expect(r.stdout).toContain(
      `# ${join(h, '.config', 'systemd', 'user', 'claude-filesync@work.service.d', 'folders.conf')}\n`,
    );
    expect(r.stdout).toContain(`ReadWritePaths="${join(h, '.local', 'state', 'claude-filesync', 'work')}"`);
    expect(r.stdout).toContain(`ReadWritePaths="-${join(h, 'Work')}"`);
    expect(r.stdout).not.toMatch(/@[A-Z_]+@/);
    expect(existsSync(join(h, '.config'))).toBe(false);
  });

  it('writes the config, the template and the drop-in, and says how to enable the instance', async () => {
    const h = home();
    const r = await cli(
      [
        'service',
        'install',
        '--name',
        'notes',
        '--platform',
        'linux',
        '--dir',
        join(h, 'Notes'),
        '--state-dir',
        join(h, 'notes-state'),
      ],
      {},
      h,
    );
    expect(r.code).toBe(0);
    const config = JSON.parse(readFileSync(join(h, '.config', 'claude-filesync', 'notes.json'), 'utf8')) as unknown;
    expect(config).toEqual({ dir: join(h, 'Notes'), stateDir: join(h, 'notes-state'), api: { target: 'api' } });
    expect(readFileSync(join(h, '.config', 'systemd', 'user', 'claude-filesync@.service'), 'utf8')).toContain(
      '%i.json',
    );
    expect(
      readFileSync(join(h, '.config', 'systemd', 'user', 'claude-filesync@notes.service.d', 'folders.conf'), 'utf8'),
    ).toContain(`ReadWritePaths="${join(h, 'notes-state')}"`);
    expect(r.stdout).toContain('systemctl --user enable --now claude-filesync@notes.service');
    expect(r.stdout).toContain(join(h, '.config', 'claude-filesync', 'notes.env'));

    // Again, now from the file: it is the source of the folders, flags may not contradict it.
    const again = await cli(['service', 'install', '--name', 'notes', '--print', '--platform', 'linux'], {}, h);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`ReadWritePaths="-${join(h, 'Notes')}"`);
    const clash = await cli(
      ['service', 'install', '--name', 'notes', '--platform', 'linux', '--dir', join(h, 'Other')],
      {},
      h,
    );
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain('notes.json exists: change "dir" and "stateDir" there');
  });

  it('refuses an instance whose configuration shares the default state directory, or a name that is not a plain word', async () => {
    const h = home();
    mkdirSync(join(h, '.config', 'claude-filesync'), { recursive: true });
    writeFileSync(join(h, '.config', 'claude-filesync', 'shared.json'), JSON.stringify({ dir: join(h, 'S') }));
    const shared = await cli(['service', 'install', '--name', 'shared', '--print', '--platform', 'linux'], {}, h);
    expect(shared.code).toBe(2);
    expect(shared.stderr).toContain('must name its own "stateDir"');
    const bad = await cli(['service', 'install', '--name', '../x', '--print', '--platform', 'linux'], {}, h);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--name must be letters, digits, - and _');
    const missing = await cli(['service', 'install', '--name', 'new', '--print', '--platform', 'linux'], {}, h);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('new.json does not exist: pass --dir <folder>');
  });

  it('--platform darwin renders a launchd agent whose label and logs carry the name', async () => {
    const h = home();
    const r = await cli(
      ['service', 'install', '--name', 'work', '--print', '--platform', 'darwin', '--dir', join(h, 'Work')],
      {},
      h,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`# ${join(h, 'Library', 'LaunchAgents', 'com.claude-filesync.work.plist')}`);
    expect(r.stdout).toContain('<string>com.claude-filesync.work</string>');
    expect(r.stdout).toContain(`<string>${join(h, 'Library', 'Logs', 'claude-filesync')}/work.log</string>`);
    expect(r.stdout).toContain(
      `<string>${join(h, 'Library', 'Application Support', 'claude-filesync', 'work.json')}</string>`,
    );
  });
});

describe('toFolderRelative', () => {
  it('accepts folder-relative and absolute paths inside the folder', () => {
    expect(toFolderRelative('/data/f', 'a/b.txt')).toBe('a/b.txt');
    expect(toFolderRelative('/data/f', './a//b.txt')).toBe('a/b.txt');
    expect(toFolderRelative('/data/f', '/data/f/a/b.txt')).toBe('a/b.txt');
    expect(toFolderRelative('/data/f/', '/data/f/x')).toBe('x');
  });

  it('rejects paths outside the folder and the folder itself', () => {
    for (const p of ['/data/other/x', '../x', '/data/f', '.', 'a/../../x']) {
      expect(() => toFolderRelative('/data/f', p)).toThrow(/not a file inside the watched folder/);
    }
  });
});

describe('CLI edge cases (issue 14)', () => {
  it('a state directory that is a regular file exits 2 naming it and what to do', async () => {
    const h = home();
    const stateFile = join(h, 'state');
    writeFileSync(stateFile, 'not a directory');
    for (const cmd of ['run', 'sync', 'reconcile', 'status']) {
      const r = await cli([cmd, '--dir', join(h, 'f'), '--state-dir', stateFile], {}, h);
      expect(r.code, cmd).toBe(2);
      expect(r.stderr, cmd).toContain(
        `stateDir must be a directory (the index, the lock and the control socket), but ${stateFile} (from --state-dir) is a regular file`,
      );
      expect(r.stderr, cmd).toContain('--state-dir');
      expect(r.stderr, cmd).not.toContain('ENOTDIR');
    }
  });

  it('--dir naming a regular file exits 2 for run, sync and reconcile', async () => {
    const h = home();
    const file = join(h, 'notes.txt');
    writeFileSync(file, 'a file, not a folder');
    for (const cmd of ['run', 'sync', 'reconcile']) {
      const c = captureContext({ home: h });
      // Before the fix `run` watched the "missing" folder for ever: stop it rather than hang.
      const stop = setTimeout(() => c.signals.emit('SIGTERM'), 5000);
      const code = await runMain([cmd, '--dir', file, '--state-dir', join(h, 's')], c.ctx);
      clearTimeout(stop);
      expect(code, cmd).toBe(2);
      expect(c.stderr(), cmd).toContain(
        `dir must be a directory (the watched folder), but ${file} (from --dir) is a regular file`,
      );
    }
  });

  it('a one-shot sync whose folder is missing exits 1, says so, and deletes nothing', async () => {
    const h = home();
    const args = ['--dir', join(h, 'f'), '--state-dir', join(h, 's')];
    mkdirSync(join(h, 'f'));
    writeFileSync(join(h, 'f', 'a.txt'), 'alpha');
    expect((await cli(['sync', ...args], {}, h)).code).toBe(0);
    rmSync(join(h, 'f'), { recursive: true });
    const r = await cli(['sync', ...args], {}, h);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `the watched folder ${join(h, 'f')} is missing: nothing was synced and nothing deleted remotely`,
    );
    expect(existsSync(join(h, 'f'))).toBe(false);
    const ls = JSON.parse((await cli(['ls', '--json', ...args], {}, h)).stdout) as {
      path: string;
      state: string;
      fileId: string | null;
    }[];
    expect(ls).toEqual([expect.objectContaining({ path: 'a.txt', state: 'synced', fileId: expect.any(String) })]);
  });

  it('an invalid ignore or include pattern exits 2 naming the pattern', async () => {
    const h = home();
    const file = join(h, 'c.json');
    writeFileSync(file, JSON.stringify({ watch: { ignore: ['*.log', 'report[z-a].txt'], include: ['docs/[abc'] } }));
    for (const cmd of ['run', 'sync']) {
      const r = await cli([cmd, '--config', file, '--dir', join(h, 'f'), '--state-dir', join(h, 's')], {}, h);
      expect(r.code, cmd).toBe(2);
      expect(r.stderr).toContain(
        'watch.ignore[1] is not a valid gitignore pattern: "report[z-a].txt": its range "z-a" is out of order and matches nothing',
      );
      expect(r.stderr).toContain(
        'watch.include[0] is not a valid gitignore pattern: "docs/[abc": it has an unclosed "["',
      );
    }
    expect(existsSync(join(h, 's'))).toBe(false);
  });

  it('reconcile --dry-run creates no state directory, no index and no folder', async () => {
    const h = home();
    // The default folder: a named one that does not exist is refused (issue 21, symptom 8).
    const r = await cli(['reconcile', '--dry-run', '--state-dir', join(h, 's')], {}, h);
    expect(r.code).toBe(0);
    expect(existsSync(join(h, 's'))).toBe(false);
    expect(existsSync(join(h, 'ClaudeSync'))).toBe(false);
  });

  it('sync --rehash and reconcile --rehash are accepted and sync a same-stat edit', async () => {
    const h = home();
    const args = ['--dir', join(h, 'f'), '--state-dir', join(h, 's')];
    const file = join(h, 'f', 'a.txt');
    mkdirSync(join(h, 'f'));
    writeFileSync(file, 'version-1');
    utimesSync(file, 1_700_000_000, 1_700_000_000);
    expect((await cli(['sync', ...args], {}, h)).code).toBe(0);
    for (const [cmd, content] of [
      ['sync', 'version-2'],
      ['reconcile', 'version-3'],
    ] as const) {
      writeFileSync(file, content);
      utimesSync(file, 1_700_000_000, 1_700_000_000);
      const r = await cli([cmd, '--rehash', '--json', ...args], {}, h);
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(0);
      expect((JSON.parse(r.stdout) as { uploaded: string[] }).uploaded, cmd).toEqual(['a.txt']);
    }
  });

  it('reconcile --dry-run with a folder and no index reports the uploads and creates nothing', async () => {
    const h = home();
    mkdirSync(join(h, 'f'));
    writeFileSync(join(h, 'f', 'a.txt'), 'alpha');
    const r = await cli(
      ['reconcile', '--dry-run', '--json', '--dir', join(h, 'f'), '--state-dir', join(h, 's')],
      {},
      h,
    );
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { uploaded: string[]; dryRun: boolean }).uploaded).toEqual(['a.txt']);
    expect(existsSync(join(h, 's'))).toBe(false);
    expect(readdirSync(join(h, 'f'))).toEqual(['a.txt']);
  });

  it('reconcile --dry-run after the index is lost sees the emulator store, skips a state directory inside the folder, and creates nothing', async () => {
    const h = home();
    const args = ['--dir', join(h, 'f'), '--state-dir', join(h, 'f', '.state')];
    mkdirSync(join(h, 'f'));
    writeFileSync(join(h, 'f', 'a.txt'), 'alpha');
    expect((await cli(['sync', ...args], {}, h)).code).toBe(0);
    for (const file of targetIndexes(join(h, 'f', '.state'))) rmSync(file);
    const before = readdirSync(join(h, 'f', '.state')).sort();
    const r = await cli(['reconcile', '--dry-run', '--json', ...args], {}, h);
    expect(r.code).toBe(0);
    // The remote copy carries our owner tag: with the index lost it would be adopted, not uploaded again.
    const report = JSON.parse(r.stdout) as {
      uploaded: string[];
      adopted: { path: string }[];
      unmanaged: { filename: string }[];
    };
    expect(report.uploaded).toEqual([]);
    expect(report.adopted.map((a) => a.path)).toEqual(['a.txt']);
    expect(report.unmanaged).toHaveLength(0);
    expect(readdirSync(join(h, 'f', '.state')).sort()).toEqual(before);
  });

  it('files upload <directory> exits 2 saying it is a directory', async () => {
    const h = home();
    mkdirSync(join(h, 'docs'));
    const r = await cli(
      ['files', 'upload', 'docs'],
      { ANTHROPIC_API_KEY: 'sk-ant-api03-unit-test-key-0000', ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' },
      h,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('docs is a directory; files upload takes one file');
  });
});

describe('a SIGHUP during start-up (issue 14)', () => {
  it('is kept until the daemon listens, then queued: one reconcile runs after the start reconcile', async () => {
    const h = home();
    mkdirSync(join(h, 'f'));
    writeFileSync(join(h, 'f', 'a.txt'), 'alpha');
    const raw = new EventEmitter();
    const c = captureContext({ home: h, signals: holdSignals(raw, ['SIGHUP']) });
    // Sent before the command even runs, as while main.ts still loads the modules.
    raw.emit('SIGHUP');
    raw.emit('SIGHUP');
    const lines = () =>
      c
        .stdout()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const exited = runMain(['run', '--dir', join(h, 'f'), '--state-dir', join(h, 's'), '--log-level', 'info'], c.ctx);
    const deadline = Date.now() + 20_000;
    while (!lines().some((l) => l.event === 'reconcile' && l.reason === 'SIGHUP') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    raw.emit('SIGTERM');
    expect(await exited).toBe(0);
    const events = lines();
    const ready = events.findIndex((l) => l.event === 'ready');
    const hups = events.flatMap((l, i) => (l.event === 'reconcile' && l.reason === 'SIGHUP' ? [i] : []));
    expect(ready).toBeGreaterThanOrEqual(0);
    expect(hups).toHaveLength(1);
    expect(hups[0]).toBeGreaterThan(ready);
  });

  it('holdSignals passes other signals through and delivers a kept one only once', () => {
    const raw = new EventEmitter();
    const held = holdSignals(raw, ['SIGHUP']);
    const got: string[] = [];
    raw.emit('SIGHUP');
    const hup = () => got.push('hup');
    held.on('SIGHUP', hup);
    held.on('SIGTERM', () => got.push('term'));
    raw.emit('SIGTERM');
    raw.emit('SIGHUP');
    held.off('SIGHUP', hup);
    raw.emit('SIGHUP');
    expect(got).toEqual(['hup', 'term', 'hup']);
  });
});
