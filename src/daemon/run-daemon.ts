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

export async function runDaemon(config: Config, logger: Logger, options: RunDaemonOptions = {}): Promise<number> {
  const signals = options.signals ?? process;
  const graceMs = options.graceMs ?? 10_000;
  const log = logger.child({ component: 'daemon' });
  log.info(
    { event: 'start', dir: config.dir, stateDir: config.stateDir, target: config.api.target },
    firstLine(config),
  );
  for (const w of options.warnings ?? []) log.warn({ event: 'config-warning' }, w);

  let stopRequested: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => {
    stopRequested = resolve;
  });
  let stopping = false;
  const requestStop = (code: number, why: string): void => {
    if (stopping) {
      log.warn({ event: 'stop' }, 'already stopping: waiting for uploads in flight (send SIGKILL to force)');
      return;
    }
    stopping = true;
    log.info({ event: 'stop', reason: why }, `stopping (${why})`);
    stopRequested(code);
  };

  const onTerm = (): void => requestStop(EXIT_OK, 'SIGTERM');
  const onInt = (): void => requestStop(EXIT_OK, 'SIGINT');
  let session: Session | null = null;
  // A SIGHUP before the engine has started is not lost: it is queued (one is enough, as one
  // reconcile covers every change before it) and runs once the start reconcile is done.
  let engineStarted = false;
  let hupQueued = false;
  const onHup = (): void => {
    if (stopping) return;
    if (!session || !engineStarted) {
      if (!hupQueued)
        log.info(
          { event: 'reconcile-requested', reason: 'SIGHUP' },
          'SIGHUP during start-up: reconciling once started',
        );
      hupQueued = true;
      return;
    }
    log.info({ event: 'reconcile-requested', reason: 'SIGHUP' }, 'SIGHUP: reconciling now');
    session.engine.reconcile({}).then(
      (r) => logReport(log, r, 'SIGHUP'),
      (err: unknown) => log.error({ event: 'failure', err: describeError(err) }, 'reconcile after SIGHUP failed'),
    );
  };
  signals.on('SIGTERM', onTerm);
  signals.on('SIGINT', onInt);
  signals.on('SIGHUP', onHup);

  let control: ControlServer | null = null;
  let metrics: MetricsServer | null = null;
  const meter = new SyncMeter();
  // What /readyz answers until the start reconcile is done (and after, if the key is refused).
  let notReady: string | null = 'the start-up reconcile has not finished';
  let manifest: ManifestWriter | null = null;
  let code: number = EXIT_OK;
  try {
    try {
      session = await openSession(config, logger, {
        watch: true,
        meter,
        onFatal: (err) => {
          notReady = 'the API refused the key';
          log.fatal({ event: 'fatal', err: err.message }, `authentication failed: ${err.message}`);
          code = EXIT_FAILURE;
          requestStop(EXIT_FAILURE, 'authentication failed');
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
    if (session.createdDir) log.info({ event: 'created-dir', dir: config.dir }, `created the folder ${config.dir}`);
    const engine = session.engine;
    const emulatorNote = config.api.target === 'emulator' ? EMULATOR_NOTE : null;
    control = await startControlServer({
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
    manifest = startManifestWriter({
      stateDir: config.stateDir,
      dir: config.dir,
      index: session.index,
      files: () => engine.files(),
      logger: log,
    });
    if (config.metrics.listen) {
      try {
        // Loaded only when asked for: prom-client costs every other command 50 ms of start-up.
        const { startMetricsServer } = await import('./metrics-server.js');
        metrics = await startMetricsServer({
          host: config.metrics.listen.host,
          port: config.metrics.listen.port,
          status: () => engine.status(),
          meter,
          readiness: () =>
            stopping
              ? { ready: false, reason: 'stopping' }
              : notReady === null
                ? { ready: true }
                : { ready: false, reason: notReady },
        });
      } catch (err) {
        log.fatal({ event: 'fatal', err: describeError(err) }, describeError(err));
        code = exitCodeFor(err);
        return code;
      }
      log.info(
        { event: 'metrics', url: metrics.url },
        `metrics at ${metrics.url}/metrics, health at /healthz and /readyz`,
      );
    }
    options.onReady?.({ session, control, metrics });

    // Live once the watcher is ready; the start-up reconcile runs behind (readyz waits for it).
    void engine
      .onLive()
      .then(() => log.info({ event: 'live' }, 'watching: changes sync now; the start-up reconcile runs behind'));
    const started = engine.start().then(
      () => {
        log.info({ event: 'ready', socket: control?.path }, 'initial reconcile done; watching for changes');
        engineStarted = true;
        if (notReady === 'the start-up reconcile has not finished') notReady = null;
        if (hupQueued) {
          hupQueued = false;
          onHup();
        }
      },
      (err: unknown) => {
        if (stopping) return;
        notReady = isAuthError(err)
          ? 'the API refused the key'
          : `the start-up reconcile failed: ${describeError(err)}`;
        if (isAuthError(err) && options.underServiceManager) {
          // The engine holds its queue and tries again by itself (src/jobs/api-problems.ts).
          log.error(
            { event: 'key-refused', err: describeError(err) },
            `the API refused the key from ${keySource(config)}: ${describeError(err)}; still running: fix the key, then send SIGHUP (systemctl --user reload claude-filesync) or wait for the retry every 5 minutes`,
          );
          engineStarted = true;
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
        code = EXIT_FAILURE;
        requestStop(EXIT_FAILURE, isAuthError(err) ? 'authentication failed' : 'start failed');
      },
    );
    const stopCode = await stopped;
    code = code === EXIT_OK ? stopCode : code;
    void started;
  } finally {
    signals.off('SIGHUP', onHup);
    try {
      await metrics?.close();
      await manifest?.flush();
      await manifest?.close();
      await control?.close();
      await session?.close(graceMs);
    } catch (err) {
      log.error({ event: 'failure', err: describeError(err) }, 'shutdown was not clean');
      code = EXIT_FAILURE;
    }
    signals.off('SIGTERM', onTerm);
    signals.off('SIGINT', onInt);
  }
  log.info({ event: 'stopped', exitCode: code }, 'stopped');
  return code;
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
