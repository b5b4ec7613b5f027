/** ExecutorDeps for tests that drive the executor alone: an in-memory index and a silent logger. */
import pino from 'pino';
import type { FilesApi } from '../../src/api/index.js';
import { IndexStore } from '../../src/store/store.js';
import type { ExecutorDeps } from '../../src/jobs/executor.js';

export function executorDeps(client: FilesApi, over: Partial<ExecutorDeps> = {}): ExecutorDeps {
  return {
    root: '/nonexistent-root',
    index: IndexStore.open(':memory:'),
    client,
    logger: pino({ level: 'silent' }),
    now: Date.now,
    expiresInSeconds: null,
    maxFileBytes: 500 * 1024 * 1024,
    ownerTag: '0badc0de',
    liveIntents: new Set(),
    ...over,
  };
}
