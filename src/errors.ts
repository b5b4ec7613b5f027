/**
 * Errors shared across claude-filesync. Every error carries a stable `code` that callers match
 * on (never the message), an optional `hint` that tells the user what to do, and a `cause`.
 * API errors live in src/api/errors.ts and extend FilesyncError too.
 */

/**
 * Every code the program throws or reports, in one place. The values are part of the control
 * protocol and the logs: never rename one, add a new one.
 */
export const ErrorCode = {
  /** Bad configuration or usage (exit 2). */
  Config: 'E_CONFIG',
  /** Another daemon holds the state directory. */
  Locked: 'E_LOCKED',
  /** The state directory cannot be created, is not a directory, or is unsafe (exit 2). */
  StateDir: 'E_STATE_DIR',

  /** There is no index yet (not created, or created and never filled). */
  IndexMissing: 'E_INDEX_MISSING',
  /** The index is damaged: not a database, a malformed page, an unreadable schema version. */
  IndexCorrupt: 'E_INDEX_CORRUPT',
  /** The file is a sqlite database, but not a claude-filesync index. */
  IndexForeign: 'E_INDEX_FOREIGN',
  /** The index has a schema newer than this version knows. */
  IndexNewer: 'E_INDEX_NEWER',
  /** The index has an older schema and was opened read-only, so it cannot be upgraded. */
  IndexOlder: 'E_INDEX_OLDER',
  /** The disk holding the index is full. */
  IndexDiskFull: 'E_INDEX_DISK_FULL',
  /** The state directory (or its file system) is read-only. */
  IndexReadOnly: 'E_INDEX_READ_ONLY',
  /** This user may not write the state directory. */
  IndexNoAccess: 'E_INDEX_NO_ACCESS',
  /** The disk failed to read or write. */
  IndexIo: 'E_INDEX_IO',

  /** A deletion pass was refused by the deletion-safety rules. */
  DeleteSafety: 'E_DELETE_SAFETY',
  /** An operation was aborted (shutdown, a closed queue). */
  Aborted: 'E_ABORTED',
  /** A job was refused because the queue is closed. */
  QueueClosed: 'E_QUEUE_CLOSED',
  /** A broken invariant: a bug, never the user's doing. */
  Internal: 'E_INTERNAL',
  /** The installation lacks a file it ships with (a service unit template). */
  Install: 'E_INSTALL',

  /** Watcher warnings. */
  WatchLimit: 'E_WATCH_LIMIT',
  /** The native directory watcher is unavailable; chokidar watches instead. */
  WatchFallback: 'E_WATCH_FALLBACK',
  /** The native watcher failed to start or stopped working (src/watch/parcel-backend.ts): chokidar takes over. */
  WatchUnavailable: 'E_WATCH_UNAVAILABLE',
  RootMissing: 'E_ROOT_MISSING',
  RootReplaced: 'E_ROOT_REPLACED',

  /** The metrics address could not be listened on (in use, not an address of this machine). */
  MetricsListen: 'E_METRICS_LISTEN',

  /** The control socket and its protocol. */
  SocketPath: 'E_SOCKET_PATH',
  Control: 'E_CONTROL',
  ControlProtocol: 'E_CONTROL_PROTOCOL',
  ControlSocket: 'E_CONTROL_SOCKET',
  ControlTimeout: 'E_CONTROL_TIMEOUT',
  NotRunning: 'E_NOT_RUNNING',

  /** The Files API client (src/api/errors.ts). */
  Api: 'E_API',
  ApiAborted: 'E_API_ABORTED',
  ApiAuth: 'E_API_AUTH',
  ApiBadFilename: 'E_API_BAD_FILENAME',
  ApiBadOption: 'E_API_BAD_OPTION',
  ApiBadRequest: 'E_API_BAD_REQUEST',
  ApiBadResponse: 'E_API_BAD_RESPONSE',
  ApiConflict: 'E_API_CONFLICT',
  ApiConnection: 'E_API_CONNECTION',
  ApiNotFound: 'E_API_NOT_FOUND',
  ApiOverloaded: 'E_API_OVERLOADED',
  ApiPermission: 'E_API_PERMISSION',
  ApiRateLimit: 'E_API_RATE_LIMIT',
  ApiServer: 'E_API_SERVER',
  ApiTimeout: 'E_API_TIMEOUT',
  ApiTooLarge: 'E_API_TOO_LARGE',
  /** An upload source delivered other bytes than it promised. */
  UploadSource: 'E_UPLOAD_SOURCE',
  /** An upload's answer was lost and the listing that would find it failed: it may have been stored. */
  UploadUnconfirmed: 'E_UPLOAD_UNCONFIRMED',

  /** The emulator's own store (not its HTTP answers, which carry HTTP statuses). */
  EmulatorStore: 'E_EMULATOR_STORE',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * An errno name Node gives a system error (ENOENT, EACCES, ECONNRESET): reported beside our codes
 * for a local file problem, never registered here.
 */
type SystemErrorCode = `E${string}`;

/** The code a failure reports (job outcomes, failure facts, status.lastErrors): ours, or the system's. */
export type FailureCode = ErrorCode | SystemErrorCode;

/** The causes an index can fail to open or be written for. */
export type IndexErrorCode = Extract<ErrorCode, `E_INDEX_${string}`>;

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** Whether `code` is one of ours (a code read from the control socket may come from another version). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && KNOWN_CODES.has(code);
}

/** Errno names: E and capitals (ours all have an underscore after the E). */
const SYSTEM_CODE = /^E[A-Z0-9]+$/;

/** The failure code `err` carries (one of ours, or an errno name), or null. */
export function failureCodeOf(err: unknown): FailureCode | null {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  if (isErrorCode(code)) return code;
  return typeof code === 'string' && SYSTEM_CODE.test(code) ? (code as SystemErrorCode) : null;
}

interface FilesyncErrorOptions {
  hint?: string;
  cause?: unknown;
}

export class FilesyncError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: FilesyncErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
}

/** Bad configuration or usage: the CLI exits 2 with the message. */
export class ConfigError extends FilesyncError {
  constructor(message: string, options: FilesyncErrorOptions = {}) {
    super(ErrorCode.Config, message, options);
  }
}

/** Another daemon holds the state directory. */
export class LockedError extends FilesyncError {
  constructor(message: string, options: FilesyncErrorOptions = {}) {
    super(ErrorCode.Locked, message, options);
  }
}

/** The index cannot be opened or written; `code` says why (missing, corrupt, foreign, disk full…). */
export class IndexError extends FilesyncError {
  declare readonly code: IndexErrorCode;

  constructor(code: IndexErrorCode, message: string, options: FilesyncErrorOptions = {}) {
    super(code, message, options);
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
