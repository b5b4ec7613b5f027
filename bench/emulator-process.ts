/**
 * The emulator in its own process, so that it never shares a core's event loop (or its memory
 * figures) with the program being measured. Forked with an IPC channel by emulator-handle.ts;
 * argv[2] is the EmulatorOptions as JSON. Seeding happens here, in the emulator's process, with
 * addFile: no HTTP request is spent on it.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Emulator, type EmulatorOptions, type FaultConfig, type StormSettings } from '../src/emulator/index.js';
import { remoteNameFor } from '../src/plan/naming.js';

type Command =
  | { id: number; cmd: 'stats' }
  | { id: number; cmd: 'resetStats' }
  | { id: number; cmd: 'setFaults'; faults: Partial<FaultConfig> }
  | { id: number; cmd: 'startStorm'; settings: StormSettings }
  | { id: number; cmd: 'count' }
  | { id: number; cmd: 'contents' }
  | { id: number; cmd: 'seedTree'; root: string }
  | { id: number; cmd: 'seedCount'; count: number; prefix: string }
  | { id: number; cmd: 'close' };

/** Every file under root as (relative '/'-path, absolute path), depth first. */
async function* walk(root: string, rel = ''): AsyncGenerator<[string, string]> {
  const entries = await readdir(path.join(root, rel), { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) yield* walk(root, r);
    else if (e.isFile()) yield [r, path.join(root, r)];
  }
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as EmulatorOptions;
  const emulator = await Emulator.start(options);
  const send = (msg: object) => process.send?.(msg);

  process.on('message', (raw) => {
    const m = raw as Command;
    const reply = (value: unknown) => send({ id: m.id, ok: true, value });
    const fail = (err: unknown) =>
      send({ id: m.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    (async () => {
      switch (m.cmd) {
        case 'stats':
          return reply(emulator.stats());
        case 'resetStats':
          emulator.resetStats();
          return reply(null);
        case 'setFaults':
          emulator.setFaults(m.faults);
          return reply(emulator.faults());
        case 'startStorm':
          return reply(emulator.startStorm(m.settings));
        case 'count':
          return reply(emulator.files().length);
        case 'contents':
          return reply(emulator.files().map((f) => ({ filename: f.filename, sha256: f.sha256 })));
        case 'seedTree': {
          // Named as the engine names them, so a reconcile with adopt rebuilds the index.
          let n = 0;
          for await (const [rel, abs] of walk(m.root)) {
            const bytes = await readFile(abs);
            const digest = createHash('sha256').update(bytes).digest('hex');
            await emulator.addFile({ filename: remoteNameFor(rel, digest, null), bytes });
            n++;
          }
          return reply(n);
        }
        case 'seedCount': {
          for (let i = 0; i < m.count; i++)
            await emulator.addFile({ filename: `${m.prefix}-${i}.txt`, bytes: Buffer.from(`content ${i}\n`) });
          return reply(m.count);
        }
        case 'close':
          await emulator.close();
          reply(null);
          process.disconnect?.();
          return;
      }
    })().catch(fail);
  });
  process.on('disconnect', () => {
    void emulator.close().finally(() => process.exit(0));
  });
  send({ ready: true, url: emulator.url, pid: process.pid });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
