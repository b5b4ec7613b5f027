/**
 * The one "ask the daemon, else read the index" step. status, ls and id ask the running daemon
 * through the control socket; with none, they answer from the index opened read-only (WAL lets
 * a reader and a writer coexist, so this is also safe while a one-shot sync holds the lock).
 * reconcile and sync ask the daemon the same way and work in-process when it does not answer.
 */
import type { Config } from '../config/types.js';
import { NotRunningError, requestControl, type RequestControlOptions } from '../control/client.js';
import type { ControlRequestBody, ControlResults } from '../control/protocol.js';
import type { IndexStore } from '../store/store.js';
import { openIndexReadonly } from './offline.js';

/** The daemon's answer, or null when no daemon runs (any other failure is thrown). */
export async function askDaemon<T extends ControlRequestBody>(
  config: Config,
  request: T,
  options: RequestControlOptions = {},
): Promise<ControlResults[T['type']] | null> {
  try {
    return await requestControl(config.stateDir, request, options);
  } catch (err) {
    if (err instanceof NotRunningError) return null;
    throw err;
  }
}

/**
 * The daemon's answer, or with no daemon `offlineAnswer` on the index opened read-only (null when
 * there is no index yet); the index is closed afterwards.
 */
export async function askDaemonOrIndex<T extends ControlRequestBody, R>(
  config: Config,
  request: T,
  offlineAnswer: (index: IndexStore | null) => R,
  options: RequestControlOptions = {},
): Promise<ControlResults[T['type']] | R> {
  const answer = await askDaemon(config, request, options);
  if (answer !== null) return answer;
  const index = openIndexReadonly(config);
  try {
    return offlineAnswer(index);
  } finally {
    index?.close();
  }
}

/**
 * Whether an answer just given came from the built-in emulator's index: the running daemon's
 * target when one runs (the CLI may lack the key a service has), else the configured one.
 */
export async function answeredByEmulator(config: Config): Promise<boolean> {
  const status = await askDaemon(config, { type: 'status' }).catch(() => null);
  return (status?.target.kind ?? config.api.target) === 'emulator';
}

/** The note for stderr, so scripts reading stdout are unaffected. */
export const FROM_EMULATOR_NOTE =
  'claude-filesync: note: this answer comes from the built-in emulator, not the Files API (which answers 404 for its ids); set ANTHROPIC_API_KEY to sync to Claude\n';
