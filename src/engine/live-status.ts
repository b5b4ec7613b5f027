/**
 * The running daemon's status report, built from the engine's parts at one moment: the index's
 * counts and rows, the queue and the gate, the watcher, the API problems and the last errors.
 * The offline CLI builds the same report from the index alone (src/cli/offline.ts); both end in
 * src/engine/report.ts buildStatus, so `status` reads the same with or without a daemon.
 */
import type { FilesApi } from '../api/types.js';
import type { Config } from '../config/types.js';
import type { IndexStore } from '../store/store.js';
import type { Watcher } from '../watch/watcher.js';
import { readHeld } from '../plan/held-deletes.js';
import type { KeyedQueue } from '../jobs/queue.js';
import { buildActivity, buildStatus, countsWithHeld, heldStatus, readUnreadableDirs } from './report.js';
import type { RequestGate } from '../rate/request-gate.js';
import type { ApiProblem, LastError, StatusReport, TrafficFacts } from './contract.js';

const EMULATOR_NOTE = 'built-in emulator: nothing leaves this machine; set ANTHROPIC_API_KEY to sync to Claude';

export interface LiveStatusFacts {
  config: Config;
  index: IndexStore;
  client: FilesApi;
  queue: KeyedQueue;
  gate: RequestGate;
  watcher: Watcher | null;
  traffic: TrafficFacts | undefined;
  /** Deletes held because the API answers for another workspace (src/jobs/workspace-guard.ts). */
  workspaceHold: { count: number; message: string } | null;
  apiProblem: ApiProblem | null;
  lastErrors: LastError[];
  lastReconcile: StatusReport['lastReconcile'];
  /** The pass running now, or null. */
  reconcile: StatusReport['reconcile'];
  /** The last pass's hold (deletion safety, a missing or replaced folder). */
  lastHold: StatusReport['heldDeletes'];
  now: number;
}

export function liveStatus(f: LiveStatusFacts): StatusReport {
  const { config, index, gate, now } = f;
  const held = readHeld(index);
  const heldRows = [...held].flatMap((p) => index.get(p) ?? []);
  const pausedUntil = gate.pausedUntil;
  const counts = index.countByState();
  const deletes = index.deleteBacklog();
  return buildStatus({
    running: true,
    pid: process.pid,
    dir: config.dir,
    stateDir: config.stateDir,
    target: {
      kind: config.api.target,
      baseURL: f.client.baseURL,
      shape: f.client.shape,
      note: config.api.target === 'emulator' ? EMULATOR_NOTE : null,
    },
    counts: countsWithHeld(counts, heldRows),
    queue: {
      depth: f.queue.size,
      inFlight: f.queue.inFlight,
      pausedUntil: pausedUntil !== null ? new Date(pausedUntil).toISOString() : null,
      rateLimitPauses: gate.rateLimitPauses,
    },
    watcher: { mode: f.watcher ? f.watcher.mode : 'off', warning: f.watcher?.warning ?? null },
    lastReconcile: f.lastReconcile,
    reconcile: f.reconcile ?? null,
    heldDeletes: mergeHeld(f.workspaceHold, heldStatus(held.size, f.lastHold)),
    lastErrors: f.lastErrors,
    apiProblem: f.apiProblem,
    skippedRows: index.byState('skipped', 100),
    unreadableDirs: readUnreadableDirs(index),
    activity: buildActivity({
      now,
      lastUploadAt: index.lastUploadAt(),
      oldestPendingRow: index.oldestPending(),
      oldestDelete: deletes.oldest,
      backlog: counts.pending + deletes.count,
      traffic: f.traffic
        ? {
            requestsLastMinute: f.traffic.requestsLastMinute(now),
            configuredRpm: gate.requestsPerMinute,
            effectiveRpm: gate.effectiveRpm,
            pausedUntil,
          }
        : null,
    }),
    noteRows: index.withMimeNote(100),
  });
}

/** Two holds as one: counts add up, messages follow each other. */
export function mergeHeld(
  first: { count: number; message: string } | null,
  second: { count: number; message: string } | null,
): { count: number; message: string } | null {
  if (!first) return second;
  if (!second) return first;
  return { count: first.count + second.count, message: `${first.message} ${second.message}` };
}
