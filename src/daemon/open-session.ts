/**
 * Everything a command needs to sync in this process: the state directory, the lock, the index,
 * the built-in emulator when the target is the emulator, and an engine over them. `run`, `sync`
 * and an in-process `reconcile` all open one; close() undoes it in reverse order.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { Emulator } from '../emulator/index.js';
import { IndexStore } from '../store/store.js';
import { acquireLock, ensureStateDir, type Lock } from '../state-dir/lock.js';
import { composeEngine } from './compose-engine.js';
import type { SyncMeter } from './sync-meter.js';
import {
  anyIndexExists,
  describeTarget,
  EMULATOR_DIR,
  INDEX_TARGET_META,
  indexFile,
  LAST_RECONCILE_META,
  takeOverLegacyIndex,
  targetIndexes,
  targetKey,
} from '../state-dir/state-files.js';
import type { ProgressEvent, SyncEngine } from '../engine/contract.js';

export interface SessionOptions {
  watch: boolean;
  onProgress?: (event: ProgressEvent) => void;
  onFatal?: (err: Error) => void;
  /** Learns the generated emulator key, so outputs can redact it too. */
  onSecret?: (secret: string) => void;
  /** Counts the engine's requests and work (the daemon's status rate and metrics). */
  meter?: SyncMeter;
}

export interface Session {
  /** The config the engine runs with: for the emulator, its URL and generated key. */
  readonly config: Config;
  readonly engine: SyncEngine;
  readonly index: IndexStore;
  readonly emulator: Emulator | null;
  /** True when this session created the watched folder (first run). */
  readonly createdDir: boolean;
  /** Closes the engine (in-flight work finishes within graceMs), the index, the emulator, the lock. */
  close(graceMs?: number): Promise<void>;
}

export async function openSession(config: Config, logger: Logger, options: SessionOptions): Promise<Session> {
  ensureStateDir(config.stateDir);
  const lock: Lock = acquireLock(config.stateDir);
  const undo: (() => Promise<void> | void)[] = [() => lock.release()];
  try {
    const target = targetKey(config.api);
    const indexPath = indexFile(config.stateDir, target);
    // Create the folder on the first run only, and only the default one: later, a missing folder
    // may be an unmounted disk, and a named one a typo; the engine must see it missing (and
    // delete nothing, and wait for it) rather than an empty folder.
    let createdDir = false;
    if (config.dirSource === undefined && !existsSync(config.dir) && !anyIndexExists(config.stateDir)) {
      mkdirSync(config.dir, { recursive: true });
      createdDir = true;
    }
    const tookOver = takeOverLegacyIndex(config.stateDir, target);
    if (!tookOver && !existsSync(indexPath) && targetIndexes(config.stateDir).length > 0) {
      logger.info(
        { event: 'new-target-index', target },
        `no index for ${describeTarget(target)} yet (this state directory holds another target's): starting one; the other target's index stays for when you switch back`,
      );
    }
    const index = IndexStore.open(indexPath);
    undo.push(() => index.close());
    if (index.getMeta(INDEX_TARGET_META) === undefined) index.setMeta(INDEX_TARGET_META, target);

    let emulator: Emulator | null = null;
    let effective = config;
    if (config.api.target === 'emulator') {
      // A fresh key each start, kept in memory: only this process can reach the emulator's files.
      const key = `emu-${randomBytes(24).toString('base64url')}`;
      options.onSecret?.(key);
      // Loaded only when used: a daemon on the real API never pays for the emulator's code.
      const { Emulator } = await import('../emulator/index.js');
      emulator = await Emulator.start({
        host: '127.0.0.1',
        port: 0,
        dataDir: join(config.stateDir, EMULATOR_DIR),
        apiKey: key,
        maxFileBytes: config.sync.maxFileBytes,
      });
      const started = emulator;
      undo.push(() => started.close());
      effective = Object.freeze({
        ...config,
        api: Object.freeze({ ...config.api, baseURL: emulator.url, apiKey: key }),
      });
    }

    const engine = composeEngine(effective, index, logger, {
      watch: options.watch,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.onFatal ? { onFatal: options.onFatal } : {}),
      ...(options.meter ? { meter: options.meter } : {}),
    });

    let closing: Promise<void> | null = null;
    return {
      config: effective,
      engine,
      index,
      emulator,
      createdDir,
      close(graceMs = 10_000) {
        closing ??= (async () => {
          try {
            await engine.close(graceMs);
          } finally {
            try {
              const last = engine.status().lastReconcile;
              if (last) index.setMeta(LAST_RECONCILE_META, JSON.stringify(last));
            } catch {
              // status is a courtesy for `status` without a daemon; never block shutdown on it
            }
            await runUndo(undo);
          }
        })();
        return closing;
      },
    };
  } catch (err) {
    await runUndo(undo);
    throw err;
  }
}

async function runUndo(undo: (() => Promise<void> | void)[]): Promise<void> {
  for (const step of undo.splice(0).reverse()) {
    try {
      await step();
    } catch {
      // keep undoing: the lock must be released even if the index failed to close
    }
  }
}
