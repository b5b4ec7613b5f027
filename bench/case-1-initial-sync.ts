/**
 * Case 1: initial sync of many small files at the same concurrency. Ours: `claude-filesync sync`
 * (the built CLI) when it works, else the engine in a worker process doing what `sync` does.
 * Reference: a plain script with the official @anthropic-ai/sdk uploading every file through
 * client.files.upload(toFile(fs.createReadStream(...))) with the same number of workers.
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BENCH_KEY, REPO_ROOT, metric, type BenchCase } from './common.js';
import { smallFilesTree } from './fixtures.js';
import { EmulatorProcess, runChild, runWorker } from './processes.js';

const CONCURRENCY = 4;
/** High enough never to bind: this case compares speed at equal concurrency. */
const UNBOUND_RPM = 1_000_000;

export const CLI_PATH = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

/** True when the built CLI exists and knows `sync`. */
export async function cliSyncWorks(): Promise<boolean> {
  try {
    await access(CLI_PATH);
    const r = await runChild([CLI_PATH, 'sync', '--help'], { allowFailure: true, timeoutMs: 20_000 });
    return r.exitCode === 0 && /--dir/.test(r.stdout + r.stderr);
  } catch {
    return false;
  }
}

export const initialSync: BenchCase = async (ctx) => {
  const count = ctx.smoke ? 20 : 2_000;
  const dir = await smallFilesTree(ctx.cacheDir, count);
  const useCli = await cliSyncWorks();
  ctx.log(`case 1: ${count} files; ours via ${useCli ? 'the CLI' : 'the engine in a worker (CLI not usable)'}`);
  const ours = { ms: [] as number[], requests: [] as number[], uploads: [] as number[] };
  const sdk = { ms: [] as number[], requests: [] as number[], uploads: [] as number[] };
  const notes: string[] = [];
  for (let run = 0; run < ctx.runs; run++) {
    const stateDir = path.join(ctx.workDir, `case1-state-${run}`);
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    let emulator = await EmulatorProcess.start({ apiKey: BENCH_KEY });
    try {
      if (useCli) {
        const configFile = path.join(ctx.workDir, `case1-config-${run}.json`);
        await writeFile(
          configFile,
          JSON.stringify({ queue: { concurrency: CONCURRENCY, requestsPerMinute: UNBOUND_RPM } }),
        );
        const r = await runChild([CLI_PATH, 'sync', '--dir', dir, '--state-dir', stateDir, '--config', configFile], {
          env: { ...process.env, ANTHROPIC_BASE_URL: emulator.url, ANTHROPIC_API_KEY: BENCH_KEY },
          timeoutMs: 30 * 60_000,
        });
        ours.ms.push(r.wallMs);
      } else {
        const r = await runWorker(
          'engine-sync',
          { dir, stateDir, url: emulator.url, concurrency: CONCURRENCY, requestsPerMinute: UNBOUND_RPM },
          { timeoutMs: 30 * 60_000 },
        );
        ours.ms.push(r.wallMs);
      }
      const s = await emulator.stats();
      ours.requests.push(s.requests);
      ours.uploads.push(s.byRoute.upload);
      if ((await emulator.count()) !== count)
        notes.push(`run ${run + 1}: ours left ${await emulator.count()} remote files for ${count} local`);
    } finally {
      await emulator.close();
    }
    emulator = await EmulatorProcess.start({ apiKey: BENCH_KEY });
    try {
      const r = await runWorker(
        'sdk-sync',
        { dir, url: emulator.url, concurrency: CONCURRENCY },
        { timeoutMs: 30 * 60_000 },
      );
      sdk.ms.push(r.wallMs);
      const s = await emulator.stats();
      sdk.requests.push(s.requests);
      sdk.uploads.push(s.byRoute.upload);
    } finally {
      await emulator.close();
    }
  }
  const wall = metric('wall time, process start to exit', 'ms', ours.ms, sdk.ms);
  const requests = metric('requests made (emulator count)', '', ours.requests, sdk.requests);
  const uploads = metric('of which uploads', '', ours.uploads, sdk.uploads);
  const faster = wall.ratio !== null && wall.ratio <= 1;
  // Decided (issue 10): the one start-up listing stays. Without it a lost state directory uploads
  // every file a second time; the SDK script cannot know what is already remote. So the request
  // target is: never more uploads than the script, and one request more at most, that listing.
  const extra = (requests.ours ?? 0) - (requests.reference ?? 0);
  const fewer = uploads.ours !== null && uploads.reference !== null && uploads.ours <= uploads.reference && extra <= 1;
  return {
    title: `Initial sync of ${count.toLocaleString('en-US')} small files (1–64 KB), concurrency ${CONCURRENCY}`,
    setup:
      `Ours: ${useCli ? '`claude-filesync sync --dir D --state-dir S --config C` (the built CLI, fresh state dir)' : 'the sync engine in a worker process (start + idle, what `sync` does; the CLI was not usable when this ran)'} ` +
      `with queue.concurrency ${CONCURRENCY} and queue.requestsPerMinute ${UNBOUND_RPM.toLocaleString('en-US')} (so the rate limiter, whose default 400/min protects the real API, does not bind). ` +
      `Reference: a plain Node script with the official \`@anthropic-ai/sdk\` (GA client, ${CONCURRENCY} workers, \`client.files.upload({ file: await toFile(fs.createReadStream(p), name) })\`). ` +
      `Each side gets a fresh emulator process; times are wall times of the whole process (Node start-up included on both sides).`,
    runs: ctx.runs,
    metrics: [wall, requests, uploads],
    target:
      'at least as fast as the SDK script; never more uploads, and one request more at most (the start-up listing, kept by decision)',
    met: faster && fewer,
    verdict:
      `${wall.ratio === null ? 'no time ratio' : `${wall.ratio.toFixed(2)}x the SDK script's wall time (${faster ? 'faster or equal' : 'slower'})`}; ` +
      `${requests.ours} requests vs ${requests.reference}` +
      (extra > 0
        ? ` (+${extra}: the start-up listing, which tells what is already remote, so a lost index adopts its copies instead of uploading them again; the SDK script cannot know and would upload everything again on a second run)`
        : ''),
    notes,
  };
};
