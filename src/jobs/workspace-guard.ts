/**
 * The workspace the API answers for, from the `anthropic-workspace-id` header of its answers
 * (docs/files-api-facts.md §12). The index's file ids are true of one workspace: recorded at
 * first sight; if the API later names another workspace under the same configuration (the key
 * was swapped for one of another workspace, or the workspace was replaced), every remote delete
 * is held until the user says which is right, so that nothing is deleted on a guess. Uploads go on.
 */
import type { Logger } from 'pino';
/** Index meta: the workspace the index belongs to (first seen, or accepted). */
export const WORKSPACE_META = 'target.workspaceId';
/** Index meta: another workspace the API answered for, while deletes are held ('' when none). */
export const WORKSPACE_SEEN_META = 'target.workspaceSeen';

/** Why deletes are held, for status and the reconcile report; null when they are not. */
export function workspaceHold(
  known: string | undefined,
  seen: string | undefined,
): { count: number; message: string } | null {
  if (!known || !seen || known === seen) return null;
  return {
    count: 0,
    message:
      `the API now answers for workspace ${seen}, but this index belongs to workspace ${known}; every remote delete is held. ` +
      'If the key was changed to another workspace on purpose, run `claude-filesync reconcile --accept-workspace` (the index then follows the new workspace: ' +
      'copies missing there are uploaded again); otherwise restore the right key.',
  };
}

export interface WorkspaceMeta {
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
}

export class WorkspaceGuard {
  readonly #meta: WorkspaceMeta;
  readonly #logger: Logger;
  #known: string | undefined;
  #seen: string | undefined;
  #acceptNext = false;

  constructor(meta: WorkspaceMeta, logger: Logger) {
    this.#meta = meta;
    this.#logger = logger;
    this.#known = meta.getMeta(WORKSPACE_META) || undefined;
    this.#seen = meta.getMeta(WORKSPACE_SEEN_META) || undefined;
  }

  /** Every answer's workspace id (the client's onWorkspaceId hook). */
  observe(id: string): void {
    if (this.#acceptNext || this.#known === undefined) {
      this.#acceptNext = false;
      this.#record(id);
      return;
    }
    if (id === this.#known || id === this.#seen) return;
    this.#seen = id;
    this.#persist(WORKSPACE_SEEN_META, id);
    this.#logger.warn(
      { event: 'workspace-changed', known: this.#known, seen: id },
      workspaceHold(this.#known, id)?.message ?? '',
    );
  }

  /** `reconcile --accept-workspace`: the workspace the API answers for (now or next) becomes the index's. */
  accept(): void {
    if (this.#seen !== undefined) this.#record(this.#seen);
    else this.#acceptNext = true;
  }

  /** Why deletes are held, or null. */
  held(): { count: number; message: string } | null {
    return workspaceHold(this.#known, this.#seen);
  }

  #record(id: string): void {
    if (this.#known !== id && !this.#persist(WORKSPACE_META, id)) return;
    if (this.#seen !== undefined) this.#persist(WORKSPACE_SEEN_META, '');
    this.#known = id;
    this.#seen = undefined;
  }

  /**
   * Called from the client's answer hook: an index write that fails (a full disk) must not
   * turn into a failed request. Not recorded now, it is tried again at the next answer; the
   * index's own writes report the disk.
   */
  #persist(key: string, value: string): boolean {
    try {
      this.#meta.setMeta(key, value);
      return true;
    } catch (err) {
      this.#logger.debug(
        { event: 'workspace-unrecorded', err: err instanceof Error ? err.message : String(err) },
        'could not record the workspace id yet',
      );
      return false;
    }
  }
}
