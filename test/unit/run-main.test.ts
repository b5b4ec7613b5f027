import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMain } from '../../src/cli/run-main.js';
import { toFolderRelative } from '../../src/cli/folder-path.js';
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

  for (const argv of [['--help'], ['run', '--help'], ['reconcile', '--help'], ['files', 'list', '--help'], ['service', 'install', '--help'], ['help', 'status']]) {
    it(`${argv.join(' ')} prints usage, exit 0`, async () => {
      const r = await cli(argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Usage: claude-filesync/);
    });
  }

  it('every command takes --dir, --state-dir and --config', async () => {
    for (const argv of [['run'], ['sync'], ['reconcile'], ['status'], ['ls'], ['id'], ['files', 'list'], ['service', 'install']]) {
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
    const r = await cli(['service', 'install', '--print', '--platform', 'linux', '--dir', join(h, 'My Folder'), '--state-dir', join(h, 'st')], {}, h);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`ExecStart="${process.execPath}" "/opt/claude-filesync/dist/src/cli/main.js" "run" "--dir" "${join(h, 'My Folder')}" "--state-dir" "${join(h, 'st')}"`);
    expect(r.stdout).toContain(`ReadWritePaths="${join(h, 'st')}"`);
    expect(r.stdout).not.toMatch(/@[A-Z_]+@/);
    expect(() => statSync(join(h, '.config', 'systemd'))).toThrow();
  });

  it('--print --platform darwin renders the launchd agent', async () => {
    const h = home();
    const r = await cli(['service', 'install', '--print', '--platform', 'darwin', '--dir', join(h, 'f'), '--state-dir', join(h, 's')], {}, h);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('<string>com.claude-filesync</string>');
    expect(r.stdout).toContain(`<string>${join(h, 'Library', 'Logs', 'claude-filesync')}/claude-filesync.log</string>`);
  });

  it('writes the unit under $XDG_CONFIG_HOME/systemd/user, creates the folders and prints the commands', async () => {
    const h = home();
    const r = await cli(['service', 'install', '--platform', 'linux', '--dir', join(h, 'f'), '--state-dir', join(h, 's')], { XDG_CONFIG_HOME: join(h, 'xdg') }, h);
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
    const r = await cli(['service', 'install', '--platform', 'darwin', '--dir', join(h, 'f'), '--state-dir', join(h, 's')], {}, h);
    expect(r.code).toBe(0);
    expect(readFileSync(join(h, 'Library', 'LaunchAgents', 'com.claude-filesync.plist'), 'utf8')).toContain('<key>RunAtLoad</key>');
    expect(r.stdout).toContain('launchctl bootstrap');
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
