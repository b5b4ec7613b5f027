/**
 * The workspace the API answers for, from the `anthropic-workspace-id` header of its answers
 * (docs/files-api-facts.md §12). The index's file ids are true of one workspace: recorded at
 * first sight; if the API later names another workspace under the same configuration (the key
 * was swapped for one of another workspace, or the workspace was replaced), every remote delete
 * is held until the user says which is right, so that nothing is deleted on a guess. Uploads go on.
 */
import type { Logger } from 'pino';
import { WORKSPACE_META, WORKSPACE_SEEN_META, workspaceHold } from './report.js';

export { WORKSPACE_META, WORKSPACE_SEEN_META } from './report.js';

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
    this.#logger.warn({ event: 'workspace-changed', known: this.#known, seen: id }, workspaceHold(this.#known, id)?.message ?? '');
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
      this.#logger.debug({ event: 'workspace-unrecorded', err: err instanceof Error ? err.message : String(err) }, 'could not record the workspace id yet');
      return false;
    }
  }
}
