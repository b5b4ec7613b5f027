import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { escapeControls, quotePath } from '../../src/cli/quote-path.js';
import { runMain } from '../../src/cli/run-main.js';
import { captureContext } from '../helpers/cli-context.js';

const FORGED = 'evil\nsynced        9 B  file_FORGED000000000000000000 passwords.txt';
const CLEARS = 'clear\u001b[2J\u001b[Hscreen.txt';

/** Control characters a terminal acts on: C0, DEL, C1. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

describe('quotePath', () => {
  it('leaves ordinary names alone, spaces and non-ASCII letters included', () => {
    expect(quotePath('notes/a b.txt')).toBe('notes/a b.txt');
    expect(quotePath('Grüße/日本.md')).toBe('Grüße/日本.md');
  });

  it('quotes a name with control characters, C1, DEL or a lone surrogate, as git core.quotePath does', () => {
    expect(quotePath('a\nb')).toBe('"a\\nb"');
    expect(quotePath('t\tx\r')).toBe('"t\\tx\\r"');
    expect(quotePath('e\u001b[2J')).toBe('"e\\033[2J"');
    expect(quotePath('del\u007f')).toBe('"del\\177"');
    expect(quotePath('c1\u009b')).toBe('"c1\\u009b"');
    expect(quotePath('half\ud800')).toBe('"half\\ud800"');
    expect(quotePath('rtl\u202etxt.exe')).toBe('"rtl\\u202etxt.exe"');
    // Once quoted, a quote and a backslash are escaped too, so the quoted form reads back as one.
    expect(quotePath('q"\\\n')).toBe('"q\\"\\\\\\n"');
    // A name that looks quoted already is quoted, so it cannot pass for an escaped one.
    expect(quotePath('"a\\nb"')).toBe('"\\"a\\\\nb\\""');
    for (const name of [FORGED, CLEARS]) expect(quotePath(name)).not.toMatch(CONTROL);
  });

  it('escapeControls escapes within a message without quoting it', () => {
    expect(escapeControls(`EACCES: open '/x/${FORGED}'`)).toBe(
      `EACCES: open '/x/evil\\nsynced        9 B  file_FORGED000000000000000000 passwords.txt'`,
    );
  });
});

describe('file names in human output (issue 21, symptom 10)', () => {
  it('a name with a newline or an escape sequence forges no row and clears no screen in ls, sync, reconcile, status and id', async () => {
    const h = mkdtempSync(join(tmpdir(), 'cfs-quote-'));
    mkdirSync(join(h, 'f'));
    writeFileSync(join(h, 'f', FORGED), 'forged');
    writeFileSync(join(h, 'f', CLEARS), 'clears');
    writeFileSync(join(h, 'f', 'plain.txt'), 'plain');
    const args = ['--dir', join(h, 'f'), '--state-dir', join(h, 's')];
    const run = async (argv: string[]) => {
      const c = captureContext({ home: h });
      const code = await runMain([...argv, ...args], c.ctx);
      return { code, stdout: c.stdout(), stderr: c.stderr() };
    };
    const sync = await run(['sync']);
    expect(sync.code).toBe(0);
    for (const out of [sync.stdout, (await run(['ls'])).stdout, (await run(['reconcile', '--dry-run'])).stdout]) {
      expect(out.replace(/\n/g, '')).not.toMatch(CONTROL);
      expect(out).not.toMatch(/^synced +9 B +file_FORGED/m);
    }
    const ls = (await run(['ls'])).stdout.trimEnd().split('\n');
    expect(ls).toHaveLength(3);
    expect(ls.some((l) => l.endsWith(quotePath(FORGED)))).toBe(true);
    // The upload list of the first sync: one line per file.
    expect(sync.stdout).toContain(quotePath(CLEARS));
    const id = await run(['id', `${FORGED}.missing`]);
    expect(id.code).toBe(1);
    expect(id.stderr).not.toMatch(/\n(?!$)/);
    expect(id.stderr).toContain(quotePath(`${FORGED}.missing`));
    // JSON stays as it is: exact names, escaped by JSON itself.
    const json = JSON.parse((await run(['ls', '--json'])).stdout) as { path: string }[];
    expect(json.map((e) => e.path).sort()).toEqual([CLEARS, FORGED, 'plain.txt'].sort());
  });

  it('status lists a skipped file with a control character in its name on one line', async () => {
    const h = mkdtempSync(join(tmpdir(), 'cfs-quote-'));
    mkdirSync(join(h, 'f'));
    const name = 'big\nskipped.bin';
    writeFileSync(join(h, 'f', name), Buffer.alloc(2048));
    writeFileSync(join(h, 'c.json'), JSON.stringify({ sync: { maxFileBytes: 1024 } }));
    const args = ['--dir', join(h, 'f'), '--state-dir', join(h, 's'), '--config', join(h, 'c.json')];
    const run = async (argv: string[]) => {
      const c = captureContext({ home: h });
      const code = await runMain([...argv, ...args], c.ctx);
      return { code, stdout: c.stdout(), stderr: c.stderr() };
    };
    await run(['sync']);
    const status = (await run(['status'])).stdout;
    expect(status).toContain(`  ${quotePath(name)}: too large`);
    expect(status).not.toMatch(/^skipped\.bin/m);
  });
});
