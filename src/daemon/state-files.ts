import { join } from 'node:path';

/** Files inside the state directory (the lock file is src/index/lock.ts's LOCK_FILE). */
export const INDEX_FILE = 'index.sqlite';
/** The built-in emulator's folder store, so its files survive a restart like the index does. */
export const EMULATOR_DIR = 'emulator';
/** The manifest of synced files the daemon keeps current (src/daemon/manifest-writer.ts). */
export const MANIFEST_FILE = 'manifest.json';
/** Index meta key where the last reconcile is kept for `status` without a daemon. */
export const LAST_RECONCILE_META = 'cli.lastReconcile';

export function indexFile(stateDir: string): string {
  return join(stateDir, INDEX_FILE);
}
