#!/usr/bin/env node
/** The `claude-filesync` binary. */
import { describeError } from '../errors.js';
import { processContext } from './context.js';
import { runMain } from './run-main.js';

runMain(process.argv.slice(2), processContext()).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`claude-filesync: unexpected error: ${describeError(err)}\n`);
    process.exitCode = 1;
  },
);
