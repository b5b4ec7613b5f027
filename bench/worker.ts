/**
 * The measured side of the bench, one task per process: `node dist/bench/worker.js <task> <json>`.
 * Each task prints one JSON line last, with `maxRssBytes` (process.resourceUsage().maxRSS, the
 * kernel's peak RSS of this process) and what the task measured. Only node: modules are imported
 * at the top, so that the file-open counter (see countOpensUnder) is in place before any module
 * of claude-filesync binds its fs functions.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

type Params = Record<string, unknown>;

function str(p: Params, key: string): string {
  const v = p[key];
  if (typeof v !== 'string') throw new TypeError(`Expected ${key} to be a string, got ${JSON.stringify(v)}`);
  return v;
}
function num(p: Params, key: string, fallback: number): number {
  const v = p[key];
  return typeof v === 'number' ? v : fallback;
}

function procIo(): { rchar: number; readBytes: number } {
  const text = fs.readFileSync('/proc/self/io', 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { rchar: field('rchar'), readBytes: field('read_bytes') };
}

/** inotify watches held by this process (lines of /proc/self/fdinfo/* that start with "inotify wd:"). */
function inotifyWatches(): number {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fdinfo')) {
    try {
      const text = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
      for (const line of text.split('\n')) if (line.startsWith('inotify wd:')) n++;
    } catch {
      // the fd was closed meanwhile
    }
  }
  return n;
}

/**
 * Counts every open of a path under `root` through node:fs (open, openSync, createReadStream,
 * readFile, and their promise forms). syncBuiltinESMExports() makes the ESM named imports that
 * modules bind later see the wrapped functions. Native code (better-sqlite3) does not go through
 * node:fs, and the index does not live under root anyway.
 */
function countOpensUnder(root: string): { opens: number; paths: string[] } {
  const counter = { opens: 0, paths: [] as string[] };
  const prefix = path.resolve(root) + path.sep;
  const seen = (p: unknown) => {
    const s = typeof p === 'string' ? p : p instanceof URL ? p.pathname : Buffer.isBuffer(p) ? p.toString() : null;
    if (s !== null && path.resolve(s).startsWith(prefix)) {
      counter.opens++;
      if (counter.paths.length < 5) counter.paths.push(s);
    }
  };
  const wrap = <T extends object, K extends keyof T>(obj: T, key: K) => {
    const original = obj[key] as unknown as (...args: unknown[]) => unknown;
    (obj as Record<K, unknown>)[key] = function (this: unknown, ...args: unknown[]) {
      seen(args[0]);
      return original.apply(this, args);
    };
  };
  wrap(fs, 'open');
  wrap(fs, 'openSync');
  wrap(fs, 'createReadStream');
  wrap(fs, 'readFile');
  wrap(fs, 'readFileSync');
  wrap(fsp, 'open');
  wrap(fsp, 'readFile');
  syncBuiltinESMExports();
  return counter;
}

const BENCH_KEY = 'sk-ant-bench-key-0123456789';

/** Relative '/'-paths of every file under root, sorted. */
async function listFiles(root: string, rel = '', out: string[] = []): Promise<string[]> {
  const entries = await fsp.readdir(path.join(root, rel), { withFileTypes: true });
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) await listFiles(root, r, out);
    else if (e.isFile()) out.push(r);
  }
  return out.sort();
}

async function runPool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await fn(item);
      }
    }),
  );
}

const tasks: Record<string, (p: Params) => Promise<Record<string, unknown>>> = {
  /** Case 1 (fallback when the CLI is not there): one-shot sync, as `claude-filesync sync` does it. */
  async 'engine-sync'(p) {
    const { buildEngine } = await import('./engine-factory.js');
    const b = buildEngine({
      dir: str(p, 'dir'),
      stateDir: str(p, 'stateDir'),
      baseURL: str(p, 'url'),
      watch: false,
      concurrency: num(p, 'concurrency', 4),
      requestsPerMinute: num(p, 'requestsPerMinute', 400),
    });
    const t0 = performance.now();
    await b.engine.start();
    await b.engine.onIdle();
    const ms = performance.now() - t0;
    const counts = b.index.countByState();
    await b.close();
    return { ms, counts };
  },

  /** Case 1 reference: the way users upload a folder today, with the official SDK. */
  async 'sdk-sync'(p) {
    const { default: Anthropic, toFile } = await import('@anthropic-ai/sdk');
    const dir = str(p, 'dir');
    const client = new Anthropic({ apiKey: BENCH_KEY, baseURL: str(p, 'url') });
    const t0 = performance.now();
    const files = await listFiles(dir);
    let uploaded = 0;
    await runPool(files, num(p, 'concurrency', 4), async (rel) => {
      await client.files.upload({
        file: await toFile(fs.createReadStream(path.join(dir, rel)), rel.split('/').join('__')),
      });
      uploaded++;
    });
    return { ms: performance.now() - t0, uploaded };
  },

  /**
   * Cases 9 and 10 reference: the same SDK script, but a file whose upload throws (after the
   * SDK's default retries) is counted lost and the others go on, as a script with a try/catch per
   * file would. With `exitOnFailure` it exits 1 when any was lost, as such a script would.
   */
  async 'sdk-sync-tolerant'(p) {
    const { default: Anthropic, toFile } = await import('@anthropic-ai/sdk');
    const dir = str(p, 'dir');
    const client = new Anthropic({ apiKey: BENCH_KEY, baseURL: str(p, 'url') });
    const t0 = performance.now();
    const files = await listFiles(dir);
    let uploaded = 0;
    const failed: string[] = [];
    await runPool(files, num(p, 'concurrency', 4), async (rel) => {
      try {
        await client.files.upload({
          file: await toFile(fs.createReadStream(path.join(dir, rel)), rel.split('/').join('__')),
        });
        uploaded++;
      } catch (err) {
        failed.push(`${rel}: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
    if (failed.length > 0 && p.exitOnFailure === true) process.exitCode = 1;
    return {
      ms: performance.now() - t0,
      uploaded,
      lost: failed.length,
      failed: failed.length,
      firstFailures: failed.slice(0, 3),
    };
  },

  /** Case 6: one big upload through our client, streamed from the path. */
  async 'client-upload'(p) {
    const { createFilesClient } = await import('../src/api/index.js');
    const client = createFilesClient({ apiKey: BENCH_KEY, baseURL: str(p, 'url'), maxRetries: 0 });
    const t0 = performance.now();
    const r = await client.upload({ path: str(p, 'file') }, { filename: path.basename(str(p, 'file')) });
    const ms = performance.now() - t0;
    await client.close();
    return { ms, bytes: r.bytesSent, fileId: r.file.id };
  },

  /** Case 6 reference: the SDK uploading the same file from fs.createReadStream. */
  async 'sdk-upload-one'(p) {
    const { default: Anthropic } = await import('@anthropic-ai/sdk');
    const client = new Anthropic({ apiKey: BENCH_KEY, baseURL: str(p, 'url'), maxRetries: 0, timeout: 600_000 });
    const t0 = performance.now();
    const f = await client.files.upload({ file: fs.createReadStream(str(p, 'file')) });
    return { ms: performance.now() - t0, bytes: f.size_bytes, fileId: f.id };
  },

  /** Setup of cases 3 and 7: builds the index by adopting the seeded remote copies. */
  async adopt(p) {
    const { buildEngine } = await import('./engine-factory.js');
    const b = buildEngine({
      dir: str(p, 'dir'),
      stateDir: str(p, 'stateDir'),
      baseURL: str(p, 'url'),
      watch: false,
      requestsPerMinute: 1_000_000,
    });
    const t0 = performance.now();
    const report = await b.engine.reconcile({ adopt: true });
    await b.engine.onIdle();
    const counts = b.index.countByState();
    await b.close();
    return { ms: performance.now() - t0, adopted: report.adopted.length, uploaded: report.uploaded.length, counts };
  },

  /** Case 3: a restart over an unchanged tree, from construction to idle, counting file opens. */
  async restart(p) {
    const dir = str(p, 'dir');
    const counter = countOpensUnder(dir);
    const { buildEngine } = await import('./engine-factory.js');
    const io0 = procIo();
    const t0 = performance.now();
    const b = buildEngine({
      dir,
      stateDir: str(p, 'stateDir'),
      baseURL: str(p, 'url'),
      watch: false,
      requestsPerMinute: num(p, 'requestsPerMinute', 400),
    });
    await b.engine.start();
    await b.engine.onIdle();
    const ms = performance.now() - t0;
    const io1 = procIo();
    const counts = b.index.countByState();
    await b.close();
    return {
      ms,
      opens: counter.opens,
      openedPaths: counter.paths,
      rchar: io1.rchar - io0.rchar,
      readBytes: io1.readBytes - io0.readBytes,
      counts,
    };
  },

  /**
   * Case 11: a restart over the synced tree with the watcher on and the default rate. One file is
   * changed 1 s after start() and another 1 s after the engine is live (watcher ready); each is
   * timed until the engine has committed the answered upload of its new content, with the
   * start-up reconcile's phase at both moments. Both files are put back (and synced) after.
   */
  async 'live-restart'(p) {
    const dir = str(p, 'dir');
    const files = [str(p, 'early'), str(p, 'afterLive')];
    const { createHash } = await import('node:crypto');
    const { buildEngine } = await import('./engine-factory.js');
    const digest = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
    const abs = (rel: string) => path.join(dir, ...rel.split('/'));
    const originals = await Promise.all(files.map((rel) => fsp.readFile(abs(rel))));
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
    const b = buildEngine({
      dir,
      stateDir: str(p, 'stateDir'),
      baseURL: str(p, 'url'),
      watch: true,
      settleMs: num(p, 'settleMs', 1000),
      requestsPerMinute: 400,
    });
    const t0 = performance.now();
    let liveMs: number | null = null;
    let startupMs: number | null = null;
    const live = b.engine.onLive().then(() => void (liveMs = performance.now() - t0));
    const started = b.engine.start().then(() => void (startupMs = performance.now() - t0));
    started.catch(() => undefined);
    const remoteHolds = async (rel: string, sha: string, limitMs: number): Promise<void> => {
      const from = performance.now();
      for (;;) {
        const row = b.index.get(rel);
        if (row?.fileId && row.remoteSha256 === sha) return;
        if (performance.now() - from > limitMs) throw new Error(`${rel}: new content not remote after ${limitMs} ms`);
        await sleep(5);
      }
    };
    const change = async (rel: string) => {
      const content = `changed ${rel} at ${Date.now()}\n`;
      const reconcileAtChange = b.engine.status().reconcile ?? null;
      const liveAtChange = liveMs !== null;
      await fsp.writeFile(abs(rel), content);
      const at = performance.now();
      await remoteHolds(rel, digest(content), 300_000);
      return {
        atMs: at - t0,
        toRemoteMs: performance.now() - at,
        liveAtChange,
        reconcileAtChange,
        reconcileAtRemote: b.engine.status().reconcile ?? null,
        liveAtRemote: liveMs !== null,
      };
    };
    await sleep(1000 - (performance.now() - t0));
    const early = change(files[0] as string);
    await live;
    await sleep(1000);
    const afterLive = await change(files[1] as string);
    const earlyResult = await early;
    await started;
    await b.engine.onIdle();
    // Put the fixture back as it was (content; the index and the remote follow through the watcher).
    for (const [i, rel] of files.entries()) await fsp.writeFile(abs(rel), originals[i] as Buffer);
    for (const [i, rel] of files.entries()) await remoteHolds(rel, digest(originals[i] as Buffer), 120_000);
    await b.engine.onIdle();
    const counts = b.index.countByState();
    await b.close();
    return { liveMs, startupMs, early: earlyResult, afterLive, counts };
  },

  /**
   * Case 3, the local half alone: scanTree against the index rows (loaded into a Map first, so
   * that /proc/self/io counts file reads and not the index's), counting file opens.
   */
  async scan(p) {
    const dir = str(p, 'dir');
    const counter = countOpensUnder(dir);
    const { IndexStore } = await import('../src/store/store.js');
    const { scanTree } = await import('../src/scan/scanner.js');
    const { createIgnoreMatcher } = await import('../src/scan/ignore.js');
    const index = IndexStore.open(path.join(str(p, 'stateDir'), 'index.sqlite'));
    const rows = new Map(index.all().map((r) => [r.path, r]));
    index.close();
    const matcher = createIgnoreMatcher({ ignore: [], include: [] });
    const io0 = procIo();
    const t0 = performance.now();
    const result = await scanTree(dir, {
      matcher,
      followSymlinks: false,
      maxFileBytes: 500 * 1024 * 1024,
      lookup: (rel: string) => rows.get(rel),
    });
    const ms = performance.now() - t0;
    const io1 = procIo();
    const stats = (result as unknown as { stats?: Record<string, unknown> }).stats ?? null;
    return {
      ms,
      files: result.files.length,
      errors: result.errors.length,
      opens: counter.opens,
      rchar: io1.rchar - io0.rchar,
      readBytes: io1.readBytes - io0.readBytes,
      stats,
    };
  },

  /**
   * Case 12 setup: an index of a tree of empty files, written directly (no emulator, no reads):
   * one row per file with its stat and the empty content's hash, each pointing at a made-up
   * remote copy as adoption would record it, in transactions of 10,000 rows.
   */
  async 'index-tree'(p) {
    const dir = str(p, 'dir');
    const { IndexStore } = await import('../src/store/store.js');
    const { remoteNameFor } = await import('../src/plan/naming.js');
    const { createHash } = await import('node:crypto');
    const empty = createHash('sha256').digest('hex');
    const index = IndexStore.open(str(p, 'index'));
    const t0 = performance.now();
    let batch: { path: string; st: fs.Stats }[] = [];
    let rows = 0;
    const flush = () => {
      index.transaction(() => {
        for (const { path: rel, st } of batch) {
          index.observe({
            path: rel,
            size: st.size,
            mtimeMs: st.mtimeMs,
            ino: st.ino,
            ctimeMs: st.ctimeMs,
            sha256: empty,
          });
          const remoteName = remoteNameFor(rel, empty, null);
          index.adopt(rel, {
            fileId: `file_${String(rows++).padStart(24, '0')}`,
            remoteName,
            size: 0,
            sha256: empty,
            createdAt: 1_700_000_000_000,
            expiresAt: null,
            mimeType: 'text/plain',
          });
        }
      });
      batch = [];
    };
    const walk = (rel: string): void => {
      for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(r);
        else {
          batch.push({ path: r, st: fs.lstatSync(path.join(dir, r)) });
          if (batch.length >= 10_000) flush();
        }
      }
    };
    walk('');
    flush();
    const counts = index.countByState();
    index.close();
    return { ms: performance.now() - t0, rows, counts, indexBytes: fs.statSync(str(p, 'index')).size };
  },

  /**
   * Case 12: the local half of a restart's reconcile over an indexed tree, stage by stage, as
   * src/reconcile/run-reconcile.ts runs it: the listing (here made from the index's own rows, so
   * that no emulator has to hold a million files) written page by page to the listing table, the
   * index loaded for the scan's lookups, scanTree, the planner's rows and the plan.
   */
  async 'restart-local'(p) {
    const dir = str(p, 'dir');
    const { IndexStore } = await import('../src/store/store.js');
    const { scanTree } = await import('../src/scan/scanner.js');
    const { createIgnoreMatcher } = await import('../src/scan/ignore.js');
    const { planSync, EXPIRY_MARGIN_MS } = await import('../src/plan/plan.js');
    const { INTENT_CLOCK_SKEW_MS: INTENT_SKEW_MS } = await import('../src/files-api/limits.js');
    const { snapshotFromScan } = await import('../src/reconcile/listing.js');
    const index = IndexStore.open(str(p, 'index'));
    const stage: Record<string, number> = {};
    let t = performance.now();
    const lap = (name: string) => {
      const now = performance.now();
      stage[name] = now - t;
      t = now;
    };
    const lookup = index.localLookup();
    lap('indexLoadMs');
    const table = index.listingTable();
    const rows = index.planRows();
    for (let i = 0; i < rows.length; i += 1000) {
      table.add(
        rows.slice(i, i + 1000).map((r) => ({
          id: r.fileId ?? '',
          filename: r.remoteName ?? '',
          size: r.size,
          createdAt: 1_700_000_000_000,
          expiresAt: null,
          mimeType: 'text/plain',
        })),
      );
    }
    lap('listingTableMs');
    const matcher = createIgnoreMatcher({ ignore: [], include: [] });
    const scan = await scanTree(dir, {
      matcher,
      followSymlinks: false,
      maxFileBytes: 500 * 1024 * 1024,
      lookup,
      unchangedAsRows: true,
    });
    lap('scanMs');
    const plan = planSync({
      rows: index.planRows(),
      rowOf: index.planRowLookup(),
      intents: index.intents(),
      pendingDeletes: index.pendingDeletes(),
      local: snapshotFromScan(scan),
      remote: table,
      now: Date.now(),
      options: {
        adopt: false,
        deleteUnmanaged: false,
        allowMassDelete: false,
        maxDeletePercent: 50,
        maxDeleteFloor: 10,
        intentSkewMs: INTENT_SKEW_MS,
        expiryMarginMs: EXPIRY_MARGIN_MS,
        ownerTag: null,
      },
    });
    lap('planMs');
    const work =
      plan.uploads.length +
      plan.deletes.length +
      plan.removals.length +
      plan.observe.length +
      plan.adoptions.length +
      plan.unmanaged.length;
    const result = {
      ...stage,
      files: scan.files.length + scan.unchanged.size,
      listed: table.size,
      hashed: scan.stats.hashed,
      work,
      heapUsedBytes: process.memoryUsage().heapUsed,
    };
    index.close();
    return result;
  },

  /**
   * Case 3 lower bound: a bare recursive walk with lstat of every file, nothing else. Two ways,
   * so the bound is the faster of them: `parallel` (readdir withFileTypes, every lstat of a
   * folder at once) and `sync` (readdirSync + lstatSync, no thread-pool round trips).
   */
  async 'bare-walk'(p) {
    const dir = str(p, 'dir');
    const mode = p.mode === 'sync' ? 'sync' : 'parallel';
    const t0 = performance.now();
    let files = 0;
    let bytes = 0;
    const walkAsync = async (abs: string): Promise<void> => {
      const entries = await fsp.readdir(abs, { withFileTypes: true });
      await Promise.all(
        entries.map(async (e) => {
          const child = path.join(abs, e.name);
          if (e.isDirectory()) return walkAsync(child);
          const st = await fsp.lstat(child);
          files++;
          bytes += st.size;
        }),
      );
    };
    const walkSync = (abs: string): void => {
      for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
        const child = path.join(abs, e.name);
        if (e.isDirectory()) walkSync(child);
        else {
          bytes += fs.lstatSync(child).size;
          files++;
        }
      }
    };
    if (mode === 'sync') walkSync(dir);
    else await walkAsync(dir);
    return { ms: performance.now() - t0, files, bytes, mode };
  },

  /** Case 3 breakdown: the full listing alone, as reconcile reads it (pages of 1,000). */
  async 'list-all'(p) {
    const { createFilesClient } = await import('../src/api/index.js');
    const client = createFilesClient({ apiKey: BENCH_KEY, baseURL: str(p, 'url') });
    const t0 = performance.now();
    let count = 0;
    for await (const f of client.list({ limit: 1000 })) if (f.id) count++;
    const ms = performance.now() - t0;
    await client.close();
    return { ms, count };
  },

  /** Case 7: one reconcile (listing + scan + plan) over a synced tree and its remote copies. */
  async reconcile(p) {
    const { buildEngine } = await import('./engine-factory.js');
    const b = buildEngine({
      dir: str(p, 'dir'),
      stateDir: str(p, 'stateDir'),
      baseURL: str(p, 'url'),
      watch: false,
      requestsPerMinute: num(p, 'requestsPerMinute', 400),
    });
    const t0 = performance.now();
    const report = await b.engine.reconcile({});
    await b.engine.onIdle();
    const ms = performance.now() - t0;
    await b.close();
    return {
      ms,
      remoteFiles: report.remoteFiles,
      localFiles: report.localFiles,
      uploaded: report.uploaded.length,
      deleted: report.deleted.length,
      unmanaged: report.unmanaged.length,
    };
  },

  /** Case 8: the watcher over a big tree, until ready(). */
  async watch(p) {
    const { createWatcher } = await import('../src/watch/watcher.js');
    const { createIgnoreMatcher } = await import('../src/scan/ignore.js');
    const matcher = createIgnoreMatcher({ ignore: [], include: [] });
    const warnings: string[] = [];
    const rssBefore = process.memoryUsage().rss;
    const t0 = performance.now();
    const w = createWatcher({
      root: str(p, 'dir'),
      ignored: (rel, isDir) => matcher.check(rel, isDir) !== null,
      followSymlinks: false,
      usePolling: p.usePolling === true,
      pollIntervalMs: 2000,
      settleMs: 1000,
      onSettled: () => undefined,
      onWarning: (message, code) => warnings.push(`${code}: ${message}`),
    });
    await w.ready();
    const ms = performance.now() - t0;
    const watches = inotifyWatches();
    const rssReady = process.memoryUsage().rss;
    await w.close();
    return {
      ms,
      mode: w.mode,
      backend: w.backend,
      warnings,
      inotifyWatches: watches,
      rssBeforeBytes: rssBefore,
      rssReadyBytes: rssReady,
    };
  },

  /** Case 5: sha256 of one file with src/scan/hash.ts. */
  async hash(p) {
    const { hashFile } = await import('../src/scan/hash.js');
    const file = str(p, 'file');
    const t0 = performance.now();
    const r = await hashFile(file);
    return { ms: performance.now() - t0, sha256: r.sha256, bytes: r.size };
  },
};

async function main(): Promise<void> {
  const [task, json] = process.argv.slice(2);
  const fn = task ? tasks[task] : undefined;
  if (!fn) throw new Error(`unknown task ${String(task)}; one of ${Object.keys(tasks).join(', ')}`);
  const out = await fn(JSON.parse(json ?? '{}') as Params);
  process.stdout.write(`${JSON.stringify({ ...out, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
}

main().then(
  // Lingering keep-alive sockets or watchers must not hold the measured process open.
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
