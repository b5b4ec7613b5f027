export { createLogger, REDACT_PATHS } from './create-logger.js';
export type { LoggerOptions, LogDestination } from './create-logger.js';
export { createRedactor, REDACTED } from './redactor.js';
export type { Redactor } from './redactor.js';
