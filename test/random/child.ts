import pino from 'pino';
import { IndexStore } from '../../src/store/store.js';
import { acquireLock } from '../../src/state-dir/lock.js';
import { composeEngine } from '../../src/daemon/compose-engine.js';
import { testConfig } from '../helpers/engine-harness.js';
import { indexPathFor } from './index-path.js';

export interface ChildArgs {
  url: string;
  dir: string;
  stateDir: string;
  settleMs: number;
  logFile: string;
  /** First a one-shot `reconcile --adopt` (no watcher), as a user runs it after losing the state. */
  adoptFirst?: boolean;
}

export type ChildCommand = { cmd: 'idle' } | { cmd: 'reconcile' } | { cmd: 'close' };
export type ChildEvent =
  | { ev: 'ready' }
  | { ev: 'idle' }
  | { ev: 'reconciled'; summary: { uploaded: number; deleted: number; adopted: number; failed: number; held: number } }
  | { ev: 'closed' }
  | { ev: 'error'; message: string };

function send(e: ChildEvent): void {
  process.send?.(e);
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as ChildArgs;
  const config = testConfig(args.dir, args.stateDir, args.url, { settleMs: args.settleMs });
  // Synchronous writes: a SIGKILL must not lose the lines that explain what happened before it.
  const logger = pino(
    { level: 'debug', base: { pid: process.pid } },
    pino.destination({ dest: args.logFile, sync: true, append: true }),
  );
  const lock = acquireLock(args.stateDir);
  const index = IndexStore.open(indexPathFor(args.stateDir, args.url));
  // testConfig points the client at args.url with TEST_KEY.
  if (args.adoptFirst) {
    const once = composeEngine(config, index, logger, { watch: false });
    try {
      await once.reconcile({ adopt: true });
      await once.onIdle();
    } finally {
      await once.close(2_000);
    }
  }
  const engine = composeEngine(config, index, logger, { watch: true });
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      await engine.close(2_000);
      index.close();
      lock.release();
    })());

  process.on('message', (msg: ChildCommand) => {
    const run = async () => {
      if (msg.cmd === 'idle') {
        await engine.onIdle();
        send({ ev: 'idle' });
      } else if (msg.cmd === 'reconcile') {
        const r = await engine.reconcile({ allowMassDelete: true });
        await engine.onIdle();
        send({
          ev: 'reconciled',
          summary: {
            uploaded: r.uploaded.length,
            deleted: r.deleted.length,
            adopted: r.adopted.length,
            failed: r.failed.length,
            held: r.heldDeletes?.count ?? 0,
          },
        });
      } else if (msg.cmd === 'close') {
        await close();
        send({ ev: 'closed' });
        process.disconnect?.();
        process.exit(0);
      }
    };
    run().catch((err: unknown) =>
      send({ ev: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
  process.on('SIGTERM', () => {
    void close().then(() => process.exit(0));
  });
  process.on('disconnect', () => {
    // The parent is gone (a crashed test run): do not linger.
    void close().then(() => process.exit(0));
  });

  await engine.start();
  send({ ev: 'ready' });
}

main().catch((err: unknown) => {
  send({ ev: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 50);
});
