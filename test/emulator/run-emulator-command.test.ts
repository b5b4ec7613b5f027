import { afterEach, describe, expect, test } from 'vitest';
import { runEmulatorCommand, type Emulator } from '../../src/emulator/index.js';
import { raw, tempDir } from '../helpers/emulator.js';

let emu: Emulator | null = null;
afterEach(async () => {
  await emu?.close();
  emu = null;
});

describe('runEmulatorCommand', () => {
  test('starts in memory, accepts any key and prints one line with the URL', async () => {
    const lines: string[] = [];
    emu = await runEmulatorCommand({ port: 0 }, (l) => lines.push(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(emu.url);
    expect(lines[0]).toMatch(/memory/);
    expect(lines[0]).toMatch(/any non-empty key/);
    expect((await raw(emu.url, '/v1/files', { headers: { 'x-api-key': 'whatever' } })).status).toBe(200);
  });

  test('with a folder, a key and faults', async () => {
    const dir = await tempDir();
    try {
      const lines: string[] = [];
      emu = await runEmulatorCommand({ port: 0, dataDir: dir.path, key: 'k1', faults: { error500Rate: 1 } }, (l) =>
        lines.push(l),
      );
      expect(lines[0]).toContain(dir.path);
      expect(lines[0]).toMatch(/only the given key/);
      expect(emu.storageKind).toBe('folder');
      expect((await raw(emu.url, '/v1/files', { headers: { 'x-api-key': 'other' } })).status).toBe(401);
      expect((await raw(emu.url, '/v1/files', { headers: { 'x-api-key': 'k1' } })).status).toBe(500);
      await emu.close();
    } finally {
      await dir.remove();
    }
  });
});
