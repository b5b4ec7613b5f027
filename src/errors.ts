/**
 * Errors shared across claude-filesync. Every error carries a stable `code` that callers match
 * on (never the message), an optional `hint` that tells the user what to do, and a `cause`.
 * API errors live in src/api/errors.ts and extend FilesyncError too.
 */
export interface FilesyncErrorOptions {
  hint?: string;
  cause?: unknown;
}

export class FilesyncError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: FilesyncErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
}

/** Bad configuration or usage: the CLI exits 2 with the message. */
export class ConfigError extends FilesyncError {
  constructor(message: string, options: FilesyncErrorOptions = {}) {
    super('E_CONFIG', message, options);
  }
}

/** Another daemon holds the state directory. */
export class LockedError extends FilesyncError {
  constructor(message: string, options: FilesyncErrorOptions = {}) {
    super('E_LOCKED', message, options);
  }
}

/** The index file is corrupt, foreign or of a newer schema. */
export class IndexError extends FilesyncError {
  constructor(message: string, options: FilesyncErrorOptions = {}) {
    super('E_INDEX', message, options);
  }
}

/** A deletion pass was refused by the deletion-safety rules. */
export class DeleteSafetyError extends FilesyncError {
  constructor(message: string, options: FilesyncErrorOptions = {}) {
    super('E_DELETE_SAFETY', message, options);
  }
}

/** Formats an error for a person: message, then the hint on its own line. */
export function describeError(err: unknown): string {
  if (err instanceof FilesyncError) {
    return err.hint ? `${err.message}\n  ${err.hint}` : err.message;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
