#!/usr/bin/env node
/** The `claude-filesync` binary. */
import { holdSignals } from '../daemon/held-signals.js';

// Before any slow import: a SIGHUP while the daemon loads would kill it (exit 129), and its
// reconcile request would be lost. The daemon's handler receives a SIGHUP kept meanwhile.
const signals = process.argv[2] === 'run' ? holdSignals(process, ['SIGHUP']) : process;

const [{ describeError }, { processContext }, { runMain }] = await Promise.all([
  import('../errors.js'),
  import('./context.js'),
  import('./run-main.js'),
]);

// `claude-filesync ls --json | head -1`: a reader that stopped reading ends the output; an
// unhandled EPIPE would print a stack trace and exit 1. Not for `run`, whose stdout is its log.
if (process.argv[2] !== 'run') {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(0);
  });
}

runMain(process.argv.slice(2), { ...processContext(), signals }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`claude-filesync: unexpected error: ${describeError(err)}\n`);
    process.exitCode = 1;
  },
);
