/**
 * Commands that act on the state directory (reconcile, sync) ask the running daemon through the
 * control socket; with no daemon they open a session themselves, holding the lock meanwhile.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { openSession, type Session, type SessionOptions } from '../daemon/open-session.js';
import type { ReconcileOptions, ReconcileReport } from '../engine/contract.js';
import { askDaemon } from './ask-daemon.js';

/** Reconcile through the daemon if one answers, else null (the caller then works in-process). */
export function reconcileViaDaemon(config: Config, options: ReconcileOptions): Promise<ReconcileReport | null> {
  // A reconcile takes as long as it takes: no answer timeout.
  return askDaemon(config, { type: 'reconcile', options }, { timeoutMs: 0 });
}

export async function withSession<T>(
  config: Config,
  logger: Logger,
  options: SessionOptions,
  fn: (session: Session) => Promise<T>,
): Promise<T> {
  const session = await openSession(config, logger, options);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}
