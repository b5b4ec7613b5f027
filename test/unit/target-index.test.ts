/**
 * The target is part of the state (issue 14): one index per target in the state directory, so
 * switching between the built-in emulator and an API (and back) never hands out the other
 * target's ids and leaves no orphans; a legacy index.sqlite is taken over by the first target
 * that opens it. Through the CLI in-process (runMain), with an emulator standing in for the API.
 */
import { existsSync, mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runMain } from '../../src/cli/run-main.js';
import {
  BUILTIN_EMULATOR_TARGET,
  indexFile,
  legacyIndexFile,
  targetIndexes,
  targetKey,
} from '../../src/state-dir/state-files.js';
import { Emulator } from '../../src/emulator/index.js';
import { captureContext } from '../helpers/cli-context.js';

const KEY = 'sk-ant-target-test-0123456789';
let api: Emulator | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
});

async function cli(h: string, argv: string[], env: Record<string, string> = {}) {
  const c = captureContext({ home: h, env });
  const code = await runMain([...argv, '--dir', join(h, 'f'), '--state-dir', join(h, 's')], c.ctx);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

describe('one index per target', () => {
  it('names the index file after the target key', () => {
    expect(targetKey({ target: 'emulator', baseURL: 'http://127.0.0.1:1234' })).toBe(BUILTIN_EMULATOR_TARGET);
    expect(targetKey({ target: 'api', baseURL: 'HTTPS://API.Anthropic.com/' })).toBe('https://api.anthropic.com');
    expect(indexFile('/s', 'a')).toMatch(/^\/s\/index-[0-9a-f]{8}\.sqlite$/);
    expect(indexFile('/s', 'a')).not.toBe(indexFile('/s', 'b'));
  });

  it('built-in emulator -> API -> built-in emulator: id never prints the other target id, and the switch leaves no orphans', async () => {
    const h = mkdtempSync(join(tmpdir(), 'cfs-target-'));
    mkdirSync(join(h, 'f'));
    writeFileSync(join(h, 'f', 'a.txt'), 'alpha');
    expect((await cli(h, ['sync'])).code).toBe(0);
    const builtinId = (await cli(h, ['id', 'a.txt'])).stdout.trim();
    expect(builtinId).toMatch(/^file_/);

    api = await Emulator.start({ apiKey: KEY });
    const toApi = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
    // Pointed at the API before anything was synced to it: no id, and the message names the target.
    const none = await cli(h, ['id', 'a.txt'], toApi);
    expect(none.code).toBe(1);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain(`no index for ${targetKey({ target: 'api', baseURL: api.url })}`);

    const first = await cli(h, ['sync'], toApi);
    expect(first.code).toBe(0);
    // One line says this target starts its own index while another target's exists.
    expect(first.stderr.match(/no index for .* yet/g)).toHaveLength(1);
    const apiId = (await cli(h, ['id', 'a.txt'], toApi)).stdout.trim();
    expect(api.files().map((f) => f.id)).toEqual([apiId]);
    expect(targetIndexes(join(h, 's'))).toHaveLength(2);

    // Back to the built-in emulator: its own index resumes; nothing uploaded, nothing orphaned.
    expect((await cli(h, ['id', 'a.txt'])).stdout.trim()).toBe(builtinId);
    const back = await cli(h, ['reconcile', '--json']);
    expect(back.code).toBe(0);
    const report = JSON.parse(back.stdout) as {
      uploaded: string[];
      deleted: unknown[];
      orphans: unknown[];
      adopted: unknown[];
    };
    expect(report).toMatchObject({ uploaded: [], deleted: [], orphans: [], adopted: [] });
    // And the API's copy is still the one the API's index names.
    const again = JSON.parse((await cli(h, ['reconcile', '--json'], toApi)).stdout) as {
      uploaded: string[];
      orphans: unknown[];
    };
    expect(again).toMatchObject({ uploaded: [], orphans: [] });
    expect((await cli(h, ['id', 'a.txt'], toApi)).stdout.trim()).toBe(apiId);
  });

  it('a legacy index.sqlite is read as it is, then taken over by the first target that opens it', async () => {
    const h = mkdtempSync(join(tmpdir(), 'cfs-target-'));
    mkdirSync(join(h, 'f'));
    writeFileSync(join(h, 'f', 'a.txt'), 'alpha');
    expect((await cli(h, ['sync'])).code).toBe(0);
    const id = (await cli(h, ['id', 'a.txt'])).stdout.trim();
    // As an older version left it.
    const file = indexFile(join(h, 's'), BUILTIN_EMULATOR_TARGET);
    for (const suffix of ['-wal', '-shm'])
      if (existsSync(file + suffix)) renameSync(file + suffix, legacyIndexFile(join(h, 's')) + suffix);
    renameSync(file, legacyIndexFile(join(h, 's')));

    expect((await cli(h, ['id', 'a.txt'])).stdout.trim()).toBe(id);
    const sync = await cli(h, ['sync']);
    expect(sync.code).toBe(0);
    expect(existsSync(legacyIndexFile(join(h, 's')))).toBe(false);
    expect(targetIndexes(join(h, 's'))).toEqual([file]);
    expect((await cli(h, ['id', 'a.txt'])).stdout.trim()).toBe(id);
  });
});
