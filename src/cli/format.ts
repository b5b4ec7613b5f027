/** Text renderings of reports for people; `--json` prints the objects themselves. */
import type { FileMetadata } from '../files-api/wire.js';
import type { FileEntry, ReconcileProgressReport, ReconcileReport, StatusReport } from '../engine/contract.js';
import { escapeControls as esc, quotePath as q } from './quote-path.js';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

function list<T>(title: string, items: readonly T[], line: (item: T) => string, limit = 50): string[] {
  if (items.length === 0) return [];
  const out = [`${title} (${items.length}):`];
  for (const item of items.slice(0, limit)) out.push(`  ${line(item)}`);
  if (items.length > limit) out.push(`  ... and ${items.length - limit} more (--json lists all)`);
  return out;
}

export function formatReport(r: ReconcileReport, verb = 'reconcile'): string {
  const would = r.dryRun ? 'would be ' : '';
  const lines = [
    `${verb}${r.dryRun ? ' (dry run: nothing changed)' : ''}: ${r.localFiles} local files, ${r.remoteFiles} remote files, ${(r.durationMs / 1000).toFixed(1)} s`,
    ...list(`${would}uploaded`, r.uploaded, (p) => q(p)),
    ...list(`${would}deleted`, r.deleted, (d) => `${d.fileId} ${q(d.path ?? d.remoteName ?? '')} (${esc(d.reason)})`),
    ...list(`${would}adopted`, r.adopted, (a) => `${a.fileId} ${q(a.path)}`),
    ...list(
      'unmanaged remote files, left alone (--adopt or --delete-unmanaged)',
      r.unmanaged,
      (u) => `${u.fileId} ${q(u.filename)} (${formatBytes(u.sizeBytes)})`,
    ),
    ...list(
      'orphans: remote files with our owner tag that no file uses, left alone (--delete-orphans)',
      r.orphans,
      (u) => `${u.fileId} ${q(u.filename)} (${formatBytes(u.sizeBytes)})`,
    ),
    ...list(
      "another owner's remote files (another host or folder), never touched",
      r.foreign,
      (u) => `${u.fileId} ${q(u.filename)} (${formatBytes(u.sizeBytes)})`,
    ),
    ...list('skipped', r.skipped, (s) => `${q(s.path)}: ${esc(s.reason)}`),
    ...list('failed', r.failed, (f) => `${q(f.path)}: ${esc(f.error)}`),
  ];
  if (r.heldDeletes) lines.push(`deletes held back (${r.heldDeletes.count}): ${esc(r.heldDeletes.message)}`);
  if (lines.length === 1) lines.push('everything is in sync');
  return `${lines.join('\n')}\n`;
}

/** `folderMissing`: the status command looked, and the watched folder is not there. */
export function formatStatus(s: StatusReport, local: { folderMissing?: boolean } = {}): string {
  const t = s.target;
  const target =
    t.kind === 'emulator' ? `built-in emulator${s.running ? ` at ${t.baseURL}` : ''}` : `${t.baseURL} (${t.shape} API)`;
  const lines = [
    `claude-filesync: ${s.running ? `running (pid ${s.pid ?? '?'})` : 'not running'}`,
    `folder:   ${q(s.dir)}`,
    `state:    ${q(s.stateDir)}`,
    `target:   ${target}${t.note ? `\n          ${t.note}` : ''}`,
    `files:    ${s.counts.synced} synced, ${s.counts.pending} pending, ${s.counts.failed} failed, ${s.counts.skipped} skipped${s.counts.held ? `, ${s.counts.held} held` : ''}`,
  ];
  if (s.running) {
    const paused = s.queue.pausedUntil ? `, paused until ${s.queue.pausedUntil}` : '';
    lines.push(
      `queue:    ${s.queue.depth} queued, ${s.queue.inFlight} in flight, ${s.queue.rateLimitPauses} rate-limit pauses${paused}`,
    );
    lines.push(`watcher:  ${s.watcher.mode}${s.watcher.warning ? ` (${esc(s.watcher.warning)})` : ''}`);
  }
  lines.push(...formatActivity(s));
  if (s.apiProblem) {
    const p = s.apiProblem;
    lines.push(
      `problem:  ${p.kind === 'key-refused' ? 'the API refused the key' : "the organization's storage is full"} since ${p.since}: ${p.message}`,
    );
    lines.push(`          ${p.hint}${p.retryAt ? ` (next try ${p.retryAt})` : ''}`);
  }
  if (local.folderMissing) {
    lines.push(
      `problem:  missing folder: ${q(s.dir)} does not exist; nothing is uploaded or deleted while it is missing`,
    );
    lines.push(
      s.running
        ? '          the daemon waits for it and syncs it once it appears (create it, or mount the disk it is on)'
        : '          create it (or mount the disk it is on), or name the right folder with --dir',
    );
  }
  if (s.reconcile) lines.push(formatReconcileProgress(s.reconcile));
  const lr = s.lastReconcile;
  lines.push(
    `last reconcile: ${lr ? `${lr.at}, ${(lr.durationMs / 1000).toFixed(1)} s, ${lr.ok ? 'ok' : `failed: ${esc(lr.error ?? '')}`}` : 'none yet'}`,
  );
  if (lr?.orphans)
    lines.push(
      `orphans:  ${lr.orphans} remote copies with our owner tag that no file uses (reconcile --delete-orphans [--dry-run])`,
    );
  if (s.heldDeletes) lines.push(`deletes held back (${s.heldDeletes.count}): ${esc(s.heldDeletes.message)}`);
  lines.push(
    ...list(
      'last errors',
      s.lastErrors,
      (e) => `${e.at} ${e.path === null || e.path === undefined ? '-' : q(e.path)}: ${esc(e.error)}`,
      10,
    ),
  );
  lines.push(...list('skipped', s.skipped, (k) => `${q(k.path)}: ${esc(k.reason)}`, 20));
  lines.push(
    ...list(
      'unreadable folders (nothing under them syncs)',
      s.unreadableDirs ?? [],
      (d) => `${q(d.path || '.')}/: ${esc(d.reason)}`,
      20,
    ),
  );
  lines.push(...list('not usable as documents', s.notDocuments, (k) => `${q(k.path)}: ${esc(k.reason)}`, 20));
  return `${lines.join('\n')}\n`;
}

/** The pass running now: `reconcile: listing, page 12 (12,000 files), 40,311 files scanned, 4.2 s so far`. */
export function formatReconcileProgress(r: ReconcileProgressReport): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const listing = `${r.listing.done ? 'listed' : 'listing'} ${n(r.listing.pages)} page${r.listing.pages === 1 ? '' : 's'} (${n(r.listing.files)} remote files)`;
  const scan = `${n(r.scan.files)} local files ${r.scan.done ? 'scanned' : 'scanned so far'}`;
  const took = `${(r.elapsedMs / 1000).toFixed(1)} s so far`;
  switch (r.phase) {
    case 'listing':
    case 'scanning':
      return `reconcile: ${r.phase} (changes sync meanwhile): ${listing}, ${scan}, ${took}`;
    case 'planning':
      return `reconcile: planning: ${n(r.listing.files)} remote and ${n(r.scan.files)} local files, ${took}`;
    case 'applying': {
      const a = r.apply ?? { uploadsDone: 0, uploadsTotal: 0, deletesDone: 0, deletesTotal: 0 };
      return `reconcile: applying: ${n(a.uploadsDone)} of ${n(a.uploadsTotal)} uploads, ${n(a.deletesDone)} of ${n(a.deletesTotal)} deletes done, ${took}`;
    }
  }
}

/** Whether it is moving, what waits, and (when the API holds it back) when it will be done. */
function formatActivity(s: StatusReport): string[] {
  const a = s.activity;
  const lines = [`last upload: ${a.lastUploadAt ?? 'none yet'}`];
  if (a.oldestPending) {
    const what = a.oldestPending.kind === 'delete' ? 'remote delete of ' : '';
    lines.push(
      `waiting:  ${a.backlog} to do; oldest: ${what}${a.oldestPending.path ? q(a.oldestPending.path) : '?'}, since ${a.oldestPending.since} (${formatDuration(a.oldestPending.waitingMs)})`,
    );
  }
  if (a.requestsLastMinute !== null) lines.push(`rate:     ${a.requestsLastMinute} requests in the last minute`);
  const r = a.rateLimited;
  if (r) {
    const paused = r.pausedUntil ? `, paused until ${r.pausedUntil}` : '';
    const eta =
      r.doneBy && r.etaMs !== null ? `; backlog done in about ${formatDuration(r.etaMs)} (by ${r.doneBy})` : '';
    lines.push(`rate limited: ${r.currentRpm} of ${r.configuredRpm} requests per minute${paused}${eta}`);
  }
  return lines;
}

/** 45 s, 12 min, 3 h 5 min, 2 d 4 h: as precise as a person needs. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function formatEntries(entries: readonly FileEntry[]): string {
  if (entries.length === 0) return 'no files indexed yet\n';
  return `${entries
    .map(
      (e) =>
        `${e.state.padEnd(7)} ${formatBytes(e.sizeBytes).padStart(9)}  ${(e.fileId ?? '-').padEnd(30)} ${q(e.path)}${e.error ? `  (${esc(e.error)})` : ''}${e.note ? `  (${esc(e.note)})` : ''}`,
    )
    .join('\n')}\n`;
}

export function formatRemote(files: readonly FileMetadata[]): string {
  if (files.length === 0) return 'no remote files\n';
  return `${files.map((f) => `${f.id.padEnd(30)} ${formatBytes(f.size_bytes).padStart(9)}  ${f.created_at}  ${q(f.filename)}`).join('\n')}\n`;
}
