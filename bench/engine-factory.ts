/**
 * The sync engine as the daemon builds it (config, index file, logger, client), for the cases
 * that run it in-process: the same parts, minus the CLI and the control socket.
 */
import os from 'node:os';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import type { Config } from '../src/config/types.js';
import type { SyncEngine } from '../src/engine/contract.js';
import { IndexStore } from '../src/store/store.js';
import { composeEngine } from '../src/daemon/compose-engine.js';
import { ownerTagFor } from '../src/plan/naming.js';
import { BENCH_KEY } from './common.js';

export interface EngineSetup {
  dir: string;
  stateDir: string;
  baseURL: string;
  watch: boolean;
  concurrency?: number;
  requestsPerMinute?: number;
  settleMs?: number;
  maxRetries?: number;
  /** Receives every log line as an object (case 4 times uploads by them). */
  onLog?: (entry: Record<string, unknown>) => void;
  logLevel?: 'debug' | 'info' | 'warn';
}

export function benchConfig(s: EngineSetup): Config {
  return Object.freeze({
    dir: s.dir,
    stateDir: s.stateDir,
    api: {
      target: 'api',
      baseURL: s.baseURL,
      shape: 'ga',
      apiKey: BENCH_KEY,
      apiKeySource: 'env',
      apiKeyEnv: 'ANTHROPIC_API_KEY',
      apiKeyFile: null,
      maxRetries: s.maxRetries ?? 2,
      timeoutMs: 600_000,
    },
    queue: { concurrency: s.concurrency ?? 4, requestsPerMinute: s.requestsPerMinute ?? 400 },
    watch: {
      settleMs: s.settleMs ?? 1000,
      ignore: [],
      include: [],
      followSymlinks: false,
      usePolling: false,
      pollIntervalMs: 2000,
    },
    sync: {
      maxFileBytes: 500 * 1024 * 1024,
      expiresInSeconds: null,
      maxDeletePercent: 50,
      maxDeleteFloor: 10,
      reconcileIntervalMinutes: 0,
      instanceName: null,
      ownerTag: ownerTagFor({ instanceName: null, hostname: os.hostname(), dir: path.resolve(s.dir) }),
    },
    log: { level: s.logLevel ?? 'warn' },
    metrics: { listen: null, allowNonLoopback: false },
    configFile: null,
  }) as Config;
}

export interface BenchEngine {
  engine: SyncEngine;
  index: IndexStore;
  config: Config;
  close(): Promise<void>;
}

export function makeLogger(level: string, onLog?: (entry: Record<string, unknown>) => void): Logger {
  return pino(
    { level },
    {
      write: (line: string) => {
        if (onLog) onLog(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
}

export function buildEngine(s: EngineSetup): BenchEngine {
  const config = benchConfig(s);
  const index = IndexStore.open(path.join(s.stateDir, 'index.sqlite'));
  const logger = makeLogger(s.logLevel ?? (s.onLog ? 'info' : 'warn'), s.onLog);
  const engine = composeEngine(config, index, logger, { watch: s.watch });
  let closed: Promise<void> | null = null;
  return {
    engine,
    index,
    config,
    close() {
      closed ??= (async () => {
        await engine.close(5_000);
        index.close();
      })();
      return closed;
    },
  };
}
