/**
 * The reconcile pass: a full listing of the remote and a full scan of the folder, compared with
 * the index by the pure planner, the plan written to the index, then its uploads and deletes run
 * through the engine's queue. Once the listing is in, the walk's files are planned and uploaded
 * in batches while it goes on (./pipeline.ts); what needs the whole scan (removals, moves, the
 * mass-delete guard, orphans, deletes) is planned when it ends. The engine hands in the parts
 * (ReconcileContext) and keeps the live state; this file is the pass itself.
 */
import { scanTree, type ScanResult } from '../scan/scanner.js';
import { commitPlan, logDeletesHeld, recordFailedReads } from '../jobs/apply-plan.js';
import { readHeld } from '../plan/held-deletes.js';
import { formatUnreadableDirs, UNREADABLE_DIRS_META } from '../plan/unreadable-dirs.js';
import { INTENT_CLOCK_SKEW_MS } from '../files-api/limits.js';
import { EXPIRY_MARGIN_MS, planSync, type Plan, type PlanOptions } from '../plan/plan.js';
import { formatRootMeta, knownRoot, ROOT_ID_META } from '../plan/root-identity.js';
import { observeRoot } from '../scan/observe-root.js';
import type { ListingTable } from '../store/listing-table.js';
import type { LocalObservation } from '../store/types.js';
import type { ReconcileOptions, ReconcileReport } from '../engine/contract.js';
import type { ReconcileContext } from '../engine/wiring.js';
import { withDecided, withoutPaths } from './early-plan.js';
import { listRemote, snapshotFromScan } from './listing.js';
import { EarlyUploads, UploadTracker } from './pipeline.js';
import { ScannedHandOff } from './scanned-handoff.js';

/**
 * Index meta key set when a reconcile's plan was first applied. An index without rows and
 * without it is fresh (new, or the state directory was lost): the pass then deletes our own
 * orphans, as no row of a lost index can still want them.
 */
const RECONCILED_META = 'sync.reconciledAt';

export async function runReconcile(ctx: ReconcileContext, options: ReconcileOptions): Promise<ReconcileReport> {
  const { config, index, logger } = ctx;
  const started = ctx.now();
  // No pause: the watcher path and its jobs run on while the pass lists and scans (issue 10).
  // What they do meanwhile reaches the planner as ctx.concurrent() (src/plan/plan-concurrent.ts),
  // which keeps the older listing and scan from undoing or repeating it.
  // Fresh as the pass begins: rows the watcher path adds meanwhile do not make it less so.
  const freshIndex = index.count() === 0 && index.getMeta(RECONCILED_META) === undefined;
  const { progress } = ctx;
  const planOpts: PlanOptions = { ...planOptions(config.sync, options), freshIndex };
  const uploads = new UploadTracker(ctx);
  // Files are planned and uploaded while the walk goes on (./pipeline.ts); a dry run only plans.
  const early = options.dryRun ? null : new EarlyUploads(ctx, planOpts, uploads);
  // The listing (network) and the scan (disk) do not depend on each other.
  const listing = startListing(ctx, early);
  // The listing may take much longer (paced by the request rate): changes the walk finds go to
  // the watcher path as it finds them (./scanned-handoff.ts), not when the whole walk has ended.
  const handOver = !options.dryRun && !freshIndex && ctx.onScanned ? new ScannedHandOff(ctx.onScanned) : null;
  const seenRoot = await observeRoot(config.dir);

  const scan = await scanFolder(ctx, options, early, handOver);
  early?.finish();
  handOver?.finish();
  progress?.scanDone();
  logger.debug(
    {
      event: 'scan-done',
      files: scan.files.length,
      hashed: scan.stats.hashed,
      early: early?.decided.size ?? 0,
      durationMs: ctx.now() - started,
    },
    'scan done',
  );
  const remote = await listing;
  progress?.planning();
  recordScanProblems(ctx, scan, options);
  const rows = index.planRows();
  const plan = planSync({
    rows,
    rowOf: index.planRowLookup(),
    intents: index.intents(),
    pendingDeletes: index.pendingDeletes(),
    local: snapshotFromScan(scan),
    remote,
    liveIntentIds: ctx.liveIntents,
    now: ctx.now(),
    options: planOpts,
    root: { seen: seenRoot, known: knownRoot((k) => index.getMeta(k)) },
    // A held path a batch decided is back in the folder: released, as the full plan would.
    held: withoutPaths(readHeld(index), early?.decided),
    // The paths the batches decided are done: left out like the watcher path's, and their new
    // files told as appeared, so that a path they left pairs with them as a move.
    concurrent: withDecided(ctx.concurrent?.(), early?.decided ?? new Set(), started),
    ...(early && early.appeared.length > 0 ? { appeared: early.appeared } : {}),
  });
  const remoteFiles = remote.size;
  remote.clear();
  ctx.onHeld(plan.held);
  logDeletesHeld(logger, plan.held);
  logLeftAlone(ctx, plan);

  const report = baseReport(started, options, remoteFiles, scan.files.length + scan.unchanged.size, plan);
  // The batches' adoptions are done already; the full plan left their paths out.
  if (early) report.adopted.unshift(...early.adopted);
  if (options.dryRun) return dryRunReport(ctx, report, plan, started);

  const applied = commitPlan(index, plan, { now: ctx.now(), logger, held: { before: new Set(), scope: null } });
  if (freshIndex) index.setMeta(RECONCILED_META, new Date(started).toISOString());
  if (plan.rootToRecord) index.setMeta(ROOT_ID_META, formatRootMeta(plan.rootToRecord));
  ctx.onApplied();
  const earlyCounts = uploads.counts;
  progress?.applying(earlyCounts.pushed + applied.uploads.length, applied.deletes.length, earlyCounts.ended);

  // Uploads first, deletes after: a path never lacks a remote copy, not even while a
  // rename's new name uploads and the old name's copy waits to be deleted.
  uploads.push(applied.uploads, false);
  await uploads.onIdle();
  uploads.fill(report);
  const deleted = await Promise.all(
    applied.deletes.map((d) => ctx.pushDelete(d).finally(() => progress?.deleteDone())),
  );
  for (const d of deleted) if (d) report.deleted.push(d);
  report.durationMs = ctx.now() - started;
  logDone(ctx, report);
  return report;
}

/** Lists the remote into the index's listing table; the early batches start once it is in. */
function startListing(ctx: ReconcileContext, early: EarlyUploads | null): Promise<ListingTable> {
  const { index, progress } = ctx;
  const listing = listRemote(
    ctx.client,
    index.listingTable(),
    undefined,
    progress ? (n) => progress.listed(n) : undefined,
  );
  listing.then(
    (table) => {
      progress?.listingDone();
      early?.listed(table);
    },
    () => undefined, // awaited below; do not let it reject unobserved meanwhile
  );
  return listing;
}

/** Walks the folder against the index; its files go to the early batches and the hand-off as found. */
function scanFolder(
  ctx: ReconcileContext,
  options: ReconcileOptions,
  early: EarlyUploads | null,
  handOver: ScannedHandOff | null,
): ReturnType<typeof scanTree> {
  const { config, index, progress } = ctx;
  const checkOptions = {
    matcher: ctx.matcher,
    followSymlinks: config.watch.followSymlinks,
    maxFileBytes: config.sync.maxFileBytes,
  };
  return scanTree(config.dir, {
    ...checkOptions,
    lookup: index.localLookup(),
    rehash: options.rehash ?? false,
    unchangedAsRows: true,
    ...(progress ? { onProgress: (stats: { filesSeen: number }) => progress.scanned(stats.filesSeen) } : {}),
    ...(early || handOver
      ? {
          onFile: (obs: LocalObservation) => {
            early?.add(obs);
            handOver?.add(obs);
          },
        }
      : {}),
  });
}

/** Files that could not be read and folders that could not be listed: logged, recorded, kept in the index meta. */
function recordScanProblems(ctx: ReconcileContext, scan: ScanResult, options: ReconcileOptions): void {
  const { config, index, logger } = ctx;
  recordFailedReads(index, scan.errors, { logger, recordError: ctx.recordError, markFailed: !options.dryRun });
  const unreadableDirs = scan.dirErrors.map((e) => ({ path: e.path, reason: e.error }));
  for (const d of unreadableDirs) {
    logger.warn(
      { event: 'unreadable-dir', path: d.path, err: d.reason },
      'cannot list folder: nothing under it is uploaded or deleted until it is readable',
    );
    ctx.recordError(d.path === '' ? '.' : `${d.path}/`, `cannot list folder: ${d.reason}`, null);
  }
  if (!options.dryRun) {
    const value = formatUnreadableDirs(unreadableDirs);
    if ((index.getMeta(UNREADABLE_DIRS_META) ?? '[]') !== value) index.setMeta(UNREADABLE_DIRS_META, value);
    ctx.onUnreadableDirs?.(unreadableDirs);
  }
  if (scan.rootMissing)
    logger.warn(
      { event: 'root-missing', dir: config.dir },
      'the watched folder is missing: nothing is deleted until it is back',
    );
}

/** The listed files the plan leaves alone: unmanaged, another owner's, and our orphans. */
function logLeftAlone(ctx: ReconcileContext, plan: Plan): void {
  const { logger } = ctx;
  for (const f of plan.unmanaged)
    logger.info(
      { event: 'unmanaged', fileId: f.id, filename: f.filename, size: f.size },
      'remote file not in the index; left alone',
    );
  for (const f of plan.foreign)
    logger.debug(
      { event: 'foreign', fileId: f.id, filename: f.filename },
      "another owner's remote file; never touched",
    );
  if (plan.orphans.length > 0) {
    logger.warn(
      { event: 'orphans', count: plan.orphans.length },
      `${plan.orphans.length} remote copies carry our owner tag but no file uses them; \`claude-filesync reconcile --delete-orphans\` deletes them`,
    );
  }
}

/** A dry run's report: what the plan would upload and delete. */
function dryRunReport(ctx: ReconcileContext, report: ReconcileReport, plan: Plan, started: number): ReconcileReport {
  report.uploaded = plan.uploads.map((u) => u.path);
  report.deleted = [
    ...plan.deletes,
    ...plan.removals
      .filter((r) => r.fileId)
      .map((r) => ({ fileId: r.fileId as string, remoteName: null, path: r.path, reason: r.reason })),
  ].map((d) => ({ fileId: d.fileId, remoteName: d.remoteName, path: d.path, reason: d.reason }));
  report.durationMs = ctx.now() - started;
  return report;
}

/** One line for the pass, with its counts. */
function logDone(ctx: ReconcileContext, report: ReconcileReport): void {
  ctx.logger.info(
    {
      event: 'reconcile',
      durationMs: report.durationMs,
      remoteFiles: report.remoteFiles,
      localFiles: report.localFiles,
      uploaded: report.uploaded.length,
      deleted: report.deleted.length,
      adopted: report.adopted.length,
      unmanaged: report.unmanaged.length,
      orphans: report.orphans.length,
      foreign: report.foreign.length,
      failed: report.failed.length,
    },
    'reconcile done',
  );
}

function planOptions(
  sync: { maxDeletePercent: number; maxDeleteFloor: number; ownerTag: string },
  options: ReconcileOptions,
): PlanOptions {
  return {
    adopt: options.adopt ?? false,
    deleteUnmanaged: options.deleteUnmanaged ?? false,
    deleteOrphans: options.deleteOrphans ?? false,
    ownerTag: sync.ownerTag,
    allowMassDelete: options.allowMassDelete ?? false,
    maxDeletePercent: sync.maxDeletePercent,
    maxDeleteFloor: sync.maxDeleteFloor,
    intentSkewMs: INTENT_CLOCK_SKEW_MS,
    expiryMarginMs: EXPIRY_MARGIN_MS,
  };
}

function baseReport(
  started: number,
  options: ReconcileOptions,
  remoteFiles: number,
  localFiles: number,
  plan: Plan,
): ReconcileReport {
  return {
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    dryRun: options.dryRun ?? false,
    remoteFiles,
    localFiles,
    uploaded: [],
    deleted: [],
    adopted: plan.adoptions.map((a) => ({ fileId: a.file.id, path: a.path })),
    unmanaged: plan.unmanaged.map((f) => ({ fileId: f.id, filename: f.filename, sizeBytes: f.size })),
    orphans: plan.orphans.map((f) => ({ fileId: f.id, filename: f.filename, sizeBytes: f.size })),
    foreign: plan.foreign.map((f) => ({ fileId: f.id, filename: f.filename, sizeBytes: f.size })),
    skipped: plan.skip.map((s) => ({ path: s.obs.path, reason: s.reason })),
    failed: [],
    heldDeletes: plan.held,
  };
}
