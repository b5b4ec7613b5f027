import { createHash } from 'node:crypto';
import { existsSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/types.js';
import type { OwnFile } from '../scan/own-files.js';

/**
 * Files inside the state directory (the lock file is src/state-dir/lock.ts's LOCK_FILE).
 *
 * The index is per target: what it says (which remote copy holds which path, which ids are ours)
 * is true of one API only. Each target gets its own file, `index-{8 hex of its key}.sqlite`, so
 * switching between the built-in emulator and the real API (and back) resumes each one's index
 * instead of handing out the other's ids or leaving a full set of orphans at each switch.
 */
/** The index file of versions before per-target indexes; the first target that opens it takes it over. */
export const LEGACY_INDEX_FILE = 'index.sqlite';
/** The built-in emulator's folder store, so its files survive a restart like the index does. */
export const EMULATOR_DIR = 'emulator';
/** The manifest of synced files the daemon keeps current (src/daemon/manifest-writer.ts). */
export const MANIFEST_FILE = 'manifest.json';
/** Index meta key where the last reconcile is kept for `status` without a daemon. */
export const LAST_RECONCILE_META = 'cli.lastReconcile';
/** Index meta key naming the target (its key) the index belongs to. */
export const INDEX_TARGET_META = 'index.target';
/** The target key of the built-in emulator (its URL changes at every start). */
export const BUILTIN_EMULATOR_TARGET = 'emulator:builtin';

const INDEX_FILE_PATTERN = /^index-[0-9a-f]{8}\.sqlite$/;

/** What the index belongs to: `emulator:builtin`, or the API's base URL, normalized. */
export function targetKey(api: Pick<Config['api'], 'target' | 'baseURL'>): string {
  if (api.target === 'emulator') return BUILTIN_EMULATOR_TARGET;
  try {
    // Lowercases scheme and host, drops a default port; a trailing slash means nothing here.
    return new URL(api.baseURL).href.replace(/\/+$/, '');
  } catch {
    return api.baseURL.replace(/\/+$/, '');
  }
}

/**
 * What the daemon reads and writes, never synced (src/scan/own-files.ts): the configuration's list,
 * and always the state directory in use (a hand-built Config in tests, a dry run's scratch one).
 */
export function ownFilesOf(config: Pick<Config, 'stateDir' | 'ownFiles'>): readonly OwnFile[] {
  const listed = config.ownFiles ?? [];
  if (listed.some((f) => f.dir && f.path === config.stateDir)) return listed;
  return [{ path: config.stateDir, what: 'the state directory', dir: true }, ...listed];
}

/** How a target is named in messages. */
export function describeTarget(key: string): string {
  return key === BUILTIN_EMULATOR_TARGET ? 'the built-in emulator' : key;
}

export function indexFile(stateDir: string, key: string): string {
  return join(stateDir, `index-${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 8)}.sqlite`);
}

/**
 * The native watcher's snapshot of the folder's tree, written when the daemon stops and read when
 * it starts to report what changed meanwhile (src/watch/parcel-backend.ts). Per target and folder,
 * like the index it helps: a snapshot says what changed since that index last watched that folder.
 */
export function watchSnapshotFile(stateDir: string, key: string, dir: string): string {
  return join(
    stateDir,
    `watch-${createHash('sha256').update(`${key}\n${dir}`, 'utf8').digest('hex').slice(0, 8)}.snapshot`,
  );
}

export function legacyIndexFile(stateDir: string): string {
  return join(stateDir, LEGACY_INDEX_FILE);
}

/** Every per-target index file in the state directory (full paths). */
export function targetIndexes(stateDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(stateDir);
  } catch {
    return [];
  }
  return names.filter((n) => INDEX_FILE_PATTERN.test(n)).map((n) => join(stateDir, n));
}

/**
 * Renames a legacy `index.sqlite` (with its WAL and shared-memory files) to `key`'s index file,
 * when that one does not exist yet. Call only while holding the state directory's lock. True when
 * it took one over.
 */
export function takeOverLegacyIndex(stateDir: string, key: string): boolean {
  const legacy = legacyIndexFile(stateDir);
  const target = indexFile(stateDir, key);
  if (!existsSync(legacy) || existsSync(target)) return false;
  // The side files first: an index renamed without its WAL would lose its last transactions.
  for (const suffix of ['-wal', '-shm']) if (existsSync(legacy + suffix)) renameSync(legacy + suffix, target + suffix);
  renameSync(legacy, target);
  return true;
}

/** Any index at all in the state directory (a per-target one or a legacy one). */
export function anyIndexExists(stateDir: string): boolean {
  return existsSync(legacyIndexFile(stateDir)) || targetIndexes(stateDir).length > 0;
}
