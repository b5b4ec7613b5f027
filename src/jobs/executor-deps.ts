/** What the executor (./executor.ts, ./delete-remote.ts) is given, and what its jobs return. */
import type { Logger } from 'pino';
import type { FilesApi } from '../api/types.js';
import type { FailureFacts } from '../plan/error-class.js';
import type { FsSpeed } from '../scan/fs-speed.js';
import type { IndexStore } from '../store/store.js';
import type { RemoteDelete } from '../store/types.js';
import type { RealRoot } from './real-root.js';

export interface ExecutorDeps {
  root: string;
  /** The root's real path, resolved once (./real-root.ts). Absent: resolved for every upload. */
  realRoot?: RealRoot;
  /**
   * Whether the folder's filesystem is fast (src/scan/fs-speed.ts): a small file is then read
   * whole in one synchronous call and uploaded from memory. Absent: every file goes through the
   * client's own reads.
   */
  fsSpeed?: FsSpeed;
  index: IndexStore;
  client: FilesApi;
  logger: Logger;
  now: () => number;
  /** GA only; null = never expire. */
  expiresInSeconds: number | null;
  maxFileBytes: number;
  /** The owner tag our names carry (config.sync.ownerTag). */
  ownerTag: string;
  /** `sync.mimeTypes`: upload type per extension, over the MIME policy. */
  mimeTypes?: Readonly<Record<string, string>>;
  /** Intents of uploads running now, so a concurrent reconcile leaves them alone. */
  liveIntents: Set<number>;
  /** A remote delete was queued outside an upload's own outcome (an orphan found): run it. */
  onDeleteQueued?: (d: RemoteDelete) => void;
}

export type UploadOutcome =
  | { kind: 'nothing' }
  | { kind: 'uploaded'; fileId: string; bytes: number; superseded: RemoteDelete | null; recovered: boolean }
  | { kind: 'changed'; discarded: RemoteDelete }
  /**
   * A retryable failure leaves the row pending (waiting is not failing): the engine requeues it,
   * or marks it failed once the server has stopped answering anything (src/plan/backoff.ts).
   */
  | ({ kind: 'failed'; error: string; intentKept: boolean } & FailureFacts)
  | { kind: 'skipped'; reason: string };

export type DeleteOutcome =
  | { kind: 'deleted' | 'gone' | 'nothing' }
  | ({ kind: 'failed'; error: string } & FailureFacts);
