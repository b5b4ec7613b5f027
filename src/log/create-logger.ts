/**
 * The root logger (pino 10). JSON lines when the output is not a terminal (journald and launchd
 * store them as they are), pino-pretty on a terminal. The API key is redacted twice: pino's
 * compiled path redaction for the fields we know, then a scrub of every written line for the
 * key's value anywhere (messages, nested fields, error messages and stacks).
 */
import { pino, type DestinationStream, type LevelWithSilent, type Logger } from 'pino';
import { createRequire } from 'node:module';
import { createRedactor, REDACTED, type Redactor } from './redactor.js';

export interface LogDestination {
  write(chunk: string): unknown;
}

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Where lines go. @default stdout (fd 1), written synchronously so nothing is lost on exit */
  destination?: LogDestination;
  /** Human-readable lines instead of JSON. @default whether stdout is a terminal (when no destination is given) */
  pretty?: boolean;
  /** Secret values (the API key) to scrub from every line. */
  redact: readonly (string | null | undefined)[];
  /** A redactor to share with other outputs (the CLI's stdout and stderr); `redact` is added to it. */
  redactor?: Redactor;
  /** Bindings on every line. */
  base?: Record<string, unknown>;
}

/** Fields that hold a key wherever they appear (pino's redaction paths). */
const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  'api.apiKey',
  'config.api.apiKey',
  'headers["x-api-key"]',
  'headers.authorization',
  '*.headers["x-api-key"]',
  '*.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.authorization',
];

export function createLogger(options: LoggerOptions): Logger {
  const redactor = options.redactor ?? createRedactor();
  for (const secret of options.redact) redactor.add(secret);
  const sink: LogDestination = options.destination ?? pino.destination({ fd: 1, sync: true });
  const pretty = options.pretty ?? (options.destination === undefined && process.stdout.isTTY === true);
  // prettyFactory formats one line synchronously, so the scrubbed line goes straight to the sink.
  // pino-pretty is loaded only for a terminal: services and scripts never pay for it.
  const prettify = pretty
    ? (createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty')).prettyFactory({
        colorize: options.destination === undefined,
        translateTime: 'SYS:HH:MM:ss',
        ignore: 'pid,hostname',
      })
    : null;
  const scrubbing: DestinationStream = {
    write(chunk: string) {
      const clean = redactor.scrub(chunk);
      sink.write(prettify ? prettify(clean) : clean);
    },
  };
  return pino(
    {
      level: options.level,
      base: options.base ?? { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    scrubbing,
  );
}
