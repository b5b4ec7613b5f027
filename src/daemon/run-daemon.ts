/**
 * `claude-filesync run`: the composition root of the long-lived daemon. Opens a session (state
 * dir, lock, index, emulator if needed, engine), serves the control socket, runs until SIGTERM or
 * SIGINT, and stops gracefully: no new work, in-flight uploads finish within a bound, the index is
 * closed cleanly, the socket and the lock are removed. SIGHUP asks for a reconcile.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { startControlServer, type ControlServer } from '../control/server.js';
import { describeError, LockedError } from '../errors.js';
import { EXIT_FAILURE, EXIT_OK, exitCodeFor, isAuthError } from './exit-codes.js';
import type { MetricsServer } from './metrics-server.js';
import { startManifestWriter, type ManifestWriter } from './manifest-writer.js';
import { openSession, type Session } from './open-session.js';
import { SyncMeter } from './sync-meter.js';
import type { ReconcileReport } from '../engine/contract.js';

export const EMULATOR_NOTE = 'nothing leaves this machine; set ANTHROPIC_API_KEY to sync to Claude';

/** Where signals come from; tests pass an EventEmitter. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

export interface RunDaemonOptions {
  /** @default process */
  signals?: SignalSource;
  /** How long in-flight requests may take to finish at shutdown. @default 10000 */
  graceMs?: number;
  /** Configuration warnings to log after the first line. */
  warnings?: readonly string[];
  /** Learns secrets created at run time (the emulator's key) so every output redacts them. */
  onSecret?: (secret: string) => void;
  /**
   * Started by systemd or launchd: a key refused at start keeps the daemon running and trying
   * again every 5 minutes (or at SIGHUP), since an exit would be restarted into the same refusal
   * every 10 s. In a terminal it exits 1 at once, where a person sees it. @default false
   */
  underServiceManager?: boolean;
  /** Called once the control socket listens and the start reconcile is under way. */
  onReady?: (info: { session: Session; control: ControlServer; metrics: MetricsServer | null }) => void;
}

/** The first line says where the folder is and where files go, plainly. */
export function firstLine(config: Config): string {
  return config.api.target === 'emulator'
    ? `watching ${config.dir} with the built-in emulator: ${EMULATOR_NOTE}`
    : `watching ${config.dir}, syncing to ${config.api.baseURL} (${config.api.shape} API, key from ${config.api.apiKeySource === 'file' ? (config.api.apiKeyFile ?? 'a key file') : config.api.apiKeyEnv})`;
}

/** What the steps of a run share: the session once open, and how far start-up and stopping are. */
interface DaemonRun {
  session: Session | null;
  stopping: boolean;
  /** What /readyz answers until the start reconcile is done (and after, if the key is refused). */
  notReady: string | null;
  code: number;
  // A SIGHUP before the engine has started is not lost: it is queued (one is enough, as one
  // reconcile covers every change before it) and runs once the start reconcile is done.
  engineStarted: boolean;
  hupQueued: boolean;
  /** Resolves with the exit code the first stop request asked for. */
  stopped: Promise<number>;
  requestStop(code: number, why: string): void;
  onHup(): void;
}

/** What the run started besides the session, closed in reverse at shutdown. */
interface DaemonServers {
  control: ControlServer | null;
  metrics: MetricsServer | null;
  manifest: ManifestWriter | null;
}

export async function runDaemon(config: Config, logger: Logger, options: RunDaemonOptions = {}): Promise<number> {
  const signals = options.signals ?? process;
  const graceMs = options.graceMs ?? 10_000;
  const log = logger.child({ component: 'daemon' });
  log.info(
    { event: 'start', dir: config.dir, stateDir: config.stateDir, target: config.api.target },
    firstLine(config),
  );
  for (const w of options.warnings ?? []) log.warn({ event: 'config-warning' }, w);

  const run = newDaemonRun(log);
  const onTerm = (): void => run.requestStop(EXIT_OK, 'SIGTERM');
  const onInt = (): void => run.requestStop(EXIT_OK, 'SIGINT');
  const onHup = (): void => run.onHup();
  signals.on('SIGTERM', onTerm);
  signals.on('SIGINT', onInt);
  signals.on('SIGHUP', onHup);

  const servers: DaemonServers = { control: null, metrics: null, manifest: null };
  const meter = new SyncMeter();
  try {
    const session = await openDaemonSession(config, logger, log, run, meter, options);
    if (typeof session === 'number') return session;
    run.session = session;
    if (session.createdDir) log.info({ event: 'created-dir', dir: config.dir }, `created the folder ${config.dir}`);
    const failed = await startServers(config, session, log, run, meter, servers);
    if (failed !== null) return failed;
    options.onReady?.({ session, control: servers.control!, metrics: servers.metrics });
    startEngine(config, session, log, run, servers, options);
    const stopCode = await run.stopped;
    run.code = run.code === EXIT_OK ? stopCode : run.code;
  } finally {
    signals.off('SIGHUP', onHup);
    await shutdown(run, servers, graceMs, log);
    signals.off('SIGTERM', onTerm);
    signals.off('SIGINT', onInt);
  }
  log.info({ event: 'stopped', exitCode: run.code }, 'stopped');
  return run.code;
}

function newDaemonRun(log: Logger): DaemonRun {
  let stopRequested: (code: number) => void = () => undefined;
  const run: DaemonRun = {
    session: null,
    stopping: false,
    notReady: 'the start-up reconcile has not finished',
    code: EXIT_OK,
    engineStarted: false,
    hupQueued: false,
    stopped: new Promise<number>((resolve) => {
      stopRequested = resolve;
    }),
    requestStop(code, why) {
      if (run.stopping) {
        log.warn({ event: 'stop' }, 'already stopping: waiting for uploads in flight (send SIGKILL to force)');
        return;
      }
      run.stopping = true;
      log.info({ event: 'stop', reason: why }, `stopping (${why})`);
      stopRequested(code);
    },
    onHup() {
      if (run.stopping) return;
      const session = run.session;
      if (!session || !run.engineStarted) {
        if (!run.hupQueued)
          log.info(
            { event: 'reconcile-requested', reason: 'SIGHUP' },
            'SIGHUP during start-up: reconciling once started',
          );
        run.hupQueued = true;
        return;
      }
      log.info({ event: 'reconcile-requested', reason: 'SIGHUP' }, 'SIGHUP: reconciling now');
      session.engine.reconcile({}).then(
        (r) => logReport(log, r, 'SIGHUP'),
        (err: unknown) => log.error({ event: 'failure', err: describeError(err) }, 'reconcile after SIGHUP failed'),
      );
    },
  };
  return run;
}

/** The session, or the exit code when it cannot be opened (the cause logged). */
async function openDaemonSession(
  config: Config,
  logger: Logger,
  log: Logger,
  run: DaemonRun,
  meter: SyncMeter,
  options: RunDaemonOptions,
): Promise<Session | number> {
  try {
    return await openSession(config, logger, {
      watch: true,
      meter,
      onFatal: (err) => {
        run.notReady = 'the API refused the key';
        log.fatal({ event: 'fatal', err: err.message }, `authentication failed: ${err.message}`);
        run.code = EXIT_FAILURE;
        run.requestStop(EXIT_FAILURE, 'authentication failed');
      },
      ...(options.onSecret ? { onSecret: options.onSecret } : {}),
    });
  } catch (err) {
    if (err instanceof LockedError) {
      log.error({ event: 'locked', hint: err.hint }, err.message);
      return EXIT_FAILURE;
    }
    log.fatal({ event: 'fatal', err: describeError(err) }, `cannot start: ${describeError(err)}`);
    return exitCodeFor(err);
  }
}

/** The control socket, the manifest writer and the metrics endpoint; an exit code if one cannot start. */
async function startServers(
  config: Config,
  session: Session,
  log: Logger,
  run: DaemonRun,
  meter: SyncMeter,
  servers: DaemonServers,
): Promise<number | null> {
  const engine = session.engine;
  const emulatorNote = config.api.target === 'emulator' ? EMULATOR_NOTE : null;
  servers.control = await startControlServer({
    stateDir: config.stateDir,
    logger: log,
    handler: {
      status: () => {
        const s = engine.status();
        return emulatorNote && !s.target.note?.includes(EMULATOR_NOTE)
          ? { ...s, target: { ...s.target, note: emulatorNote } }
          : s;
      },
      reconcile: async (opts) => {
        const r = await engine.reconcile(opts);
        logReport(log, r, 'control');
        return r;
      },
      files: () => engine.files(),
      fileIdOf: (p) => engine.fileIdOf(p),
      stateOf: (p) => engine.stateOf(p),
    },
  });
  servers.manifest = startManifestWriter({
    stateDir: config.stateDir,
    dir: config.dir,
    index: session.index,
    files: () => engine.files(),
    logger: log,
  });
  if (!config.metrics.listen) return null;
  try {
    // Loaded only when asked for: prom-client costs every other command 50 ms of start-up.
    const { startMetricsServer } = await import('./metrics-server.js');
    servers.metrics = await startMetricsServer({
      host: config.metrics.listen.host,
      port: config.metrics.listen.port,
      status: () => engine.status(),
      meter,
      readiness: () =>
        run.stopping
          ? { ready: false, reason: 'stopping' }
          : run.notReady === null
            ? { ready: true }
            : { ready: false, reason: run.notReady },
    });
  } catch (err) {
    log.fatal({ event: 'fatal', err: describeError(err) }, describeError(err));
    run.code = exitCodeFor(err);
    return run.code;
  }
  log.info(
    { event: 'metrics', url: servers.metrics.url },
    `metrics at ${servers.metrics.url}/metrics, health at /healthz and /readyz`,
  );
  return null;
}

/** Live once the watcher is ready; the start-up reconcile runs behind (readyz waits for it). */
function startEngine(
  config: Config,
  session: Session,
  log: Logger,
  run: DaemonRun,
  servers: DaemonServers,
  options: RunDaemonOptions,
): void {
  const engine = session.engine;
  void engine
    .onLive()
    .then(() => log.info({ event: 'live' }, 'watching: changes sync now; the start-up reconcile runs behind'));
  const started = engine.start().then(
    () => {
      log.info({ event: 'ready', socket: servers.control?.path }, 'initial reconcile done; watching for changes');
      run.engineStarted = true;
      if (run.notReady === 'the start-up reconcile has not finished') run.notReady = null;
      if (run.hupQueued) {
        run.hupQueued = false;
        run.onHup();
      }
    },
    (err: unknown) => {
      if (run.stopping) return;
      run.notReady = isAuthError(err)
        ? 'the API refused the key'
        : `the start-up reconcile failed: ${describeError(err)}`;
      if (isAuthError(err) && options.underServiceManager) {
        // The engine holds its queue and tries again by itself (src/jobs/api-problems.ts).
        log.error(
          { event: 'key-refused', err: describeError(err) },
          `the API refused the key from ${keySource(config)}: ${describeError(err)}; still running: fix the key, then send SIGHUP (systemctl --user reload claude-filesync) or wait for the retry every 5 minutes`,
        );
        run.engineStarted = true;
        return;
      }
      if (isAuthError(err)) {
        log.fatal(
          { event: 'fatal', err: describeError(err) },
          `authentication failed: the API refused the key from ${keySource(config)}: ${describeError(err)}`,
        );
      } else {
        log.fatal({ event: 'fatal', err: describeError(err) }, `the initial reconcile failed: ${describeError(err)}`);
      }
      run.code = EXIT_FAILURE;
      run.requestStop(EXIT_FAILURE, isAuthError(err) ? 'authentication failed' : 'start failed');
    },
  );
  void started;
}

async function shutdown(run: DaemonRun, servers: DaemonServers, graceMs: number, log: Logger): Promise<void> {
  try {
    await servers.metrics?.close();
    await servers.manifest?.flush();
    await servers.manifest?.close();
    await servers.control?.close();
    await run.session?.close(graceMs);
  } catch (err) {
    log.error({ event: 'failure', err: describeError(err) }, 'shutdown was not clean');
    run.code = EXIT_FAILURE;
  }
}

function keySource(config: Config): string {
  return config.api.apiKeySource === 'file' ? `the key file ${config.api.apiKeyFile ?? ''}` : config.api.apiKeyEnv;
}

function logReport(log: Logger, r: ReconcileReport, reason: string): void {
  log.info(
    {
      event: 'reconcile',
      reason,
      durationMs: r.durationMs,
      uploaded: r.uploaded.length,
      deleted: r.deleted.length,
      adopted: r.adopted.length,
      unmanaged: r.unmanaged.length,
      skipped: r.skipped.length,
      failed: r.failed.length,
      heldDeletes: r.heldDeletes?.count ?? 0,
    },
    'reconcile finished',
  );
}
