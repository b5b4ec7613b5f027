/**
 * What the engine does with each watcher event (src/watch/watcher.ts): settled paths and removed
 * folders are looked at again, new folders watched again and walked, warnings recorded (and the
 * ones that may have lost events answered by a reconcile), coalesced batches rescanned.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { RetryTimers } from '../jobs/retry-timers.js';
import type { IndexStore } from '../store/store.js';
import type { EngineCallbacks } from './engine-link.js';
import type { LocalRescan } from './local-rescan.js';
import type { UnreadableDirWatch } from './unreadable-dir-watch.js';
import type { WatcherPath } from './watcher-path.js';
import type { WatchEvents } from './wiring.js';
import { ErrorCode } from '../errors.js';

export interface WatchEventsDeps {
  config: Config;
  index: IndexStore;
  logger: Logger;
  timers: RetryTimers;
  watcherPath: WatcherPath;
  unreadable: UnreadableDirWatch;
  rescan: LocalRescan;
  engine: EngineCallbacks;
}

export function engineWatchEvents(deps: WatchEventsDeps): WatchEvents {
  const { config, index, logger, timers, watcherPath, unreadable, rescan, engine } = deps;
  return {
    onSettled: (paths, rehash) => engine.recheck(paths, { rehash }),
    onWarning: (message, code) => {
      logger.warn({ event: 'watcher-warning', code }, message);
      engine.recordError(null, message, code);
      // Events between the native watcher's end and polling's start may be lost.
      if (code === ErrorCode.WatchLimit) engine.reconcileInBackground('watch limit reached');
      if (code === ErrorCode.WatchFallback) engine.reconcileInBackground('native watcher unavailable');
    },
    // Files changed while the folder was gone were not seen: look at everything again.
    onRootRestored: () => engine.reconcileInBackground('the watched folder is back'),
    // Once settled, a new folder is watched again and then walked: chokidar lists a new folder
    // before it watches it, so a folder made inside it in between is never watched (a file
    // moved out of it later would never be reported gone). Watched again, it is listed anew;
    // the walk, a moment later, checks what neither listing reported.
    onDirAdded: (relDir) =>
      timers.later(`dir:${relDir}`, config.watch.settleMs * 2, () => {
        engine.rewatch(relDir);
        timers.later(`dir:${relDir}`, config.watch.settleMs, () =>
          engine.track(watcherPath.walkNewDir(relDir), 'walking a new folder failed; the next reconcile repairs it'),
        );
      }),
    // An event on a known unreadable folder (its mode changed): looked at now, not on the backoff.
    onDirEntryEvent: (relPath) => {
      const recheck = unreadable.touched(relPath);
      if (recheck) engine.track(recheck, 'rechecking an unreadable folder failed; the next reconcile repairs it');
    },
    onDirRemoved: (relDir) => engine.recheck(index.pathsUnder(relDir)),
    // Changes the native watcher coalesced away unnamed: the folder is looked at again.
    onCoalesced: () => rescan.request(),
    onError: (err) =>
      logger.error(
        { event: 'watcher-error', err: err.message },
        'watcher error; the next reconcile repairs anything missed',
      ),
  };
}
