/**
 * The fixture cases 3 and 7 share: a tree of tiny files (cached), an emulator process holding a
 * remote copy of each file (seeded with addFile in its own process), and an index that knows
 * them all (built once per bench run by a reconcile with adopt, which hashes every file once).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { BENCH_KEY, type BenchContext } from './common.js';
import { tinyTree } from './fixtures.js';
import { EmulatorProcess, runWorker } from './processes.js';

export interface SyncedTree {
  dir: string;
  stateDir: string;
  emulator: EmulatorProcess;
  files: number;
  folders: number;
  /** How long the one-time setup took (seeding and adoption), for the notes. */
  setupMs: { seed: number; adopt: number };
}

let shared: Promise<SyncedTree> | null = null;

export function treeSize(ctx: BenchContext): { files: number; folders: number } {
  return ctx.smoke ? { files: 1_000, folders: 10 } : { files: 100_000, folders: 1_000 };
}

export function syncedTree(ctx: BenchContext): Promise<SyncedTree> {
  shared ??= (async () => {
    const { files, folders } = treeSize(ctx);
    ctx.log(`tree of ${files} files in ${folders} folders (cached under ${ctx.cacheDir})`);
    const dir = await tinyTree(ctx.cacheDir, files, folders);
    const stateDir = path.join(ctx.workDir, 'synced-tree-state');
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const emulator = await EmulatorProcess.start({ apiKey: BENCH_KEY });
    let t = Date.now();
    const seeded = await emulator.seedTree(dir);
    const seed = Date.now() - t;
    ctx.log(`seeded ${seeded} remote files in ${seed} ms; building the index by adoption`);
    t = Date.now();
    const adopt = await runWorker('adopt', { dir, stateDir, url: emulator.url }, { timeoutMs: 30 * 60_000 });
    const adopted = Number(adopt.result?.adopted ?? 0);
    if (adopted !== files)
      throw new Error(`adoption built ${adopted} rows for ${files} files: ${adopt.stdout.slice(-500)}`);
    ctx.log(`index built in ${Date.now() - t} ms`);
    return { dir, stateDir, emulator, files, folders, setupMs: { seed, adopt: Date.now() - t } };
  })();
  return shared;
}

export async function closeSharedFixtures(): Promise<void> {
  const s = shared;
  shared = null;
  if (!s) return;
  const tree = await s.catch(() => null);
  await tree?.emulator.close();
}
