/**
 * The daemon's own files are never synced, wherever they live: the API key file and the
 * configuration file it reads, the folder they are kept in, and the state directory it writes
 * (the index, the manifest, the socket, the emulator's store). A configuration kept inside the
 * watched folder would otherwise upload the key in clear, for anyone with a key of the workspace
 * to read back through the model.
 *
 * Two checks, because a path alone is not enough:
 * - by path: each own path relative to the folder, both as written and as resolved, since the
 *   folder or the own path may be reached through a symbolic link;
 * - by identity (device and inode): a hard link to the key file, or a followed symbolic link to
 *   it, has another name but the same inode.
 * Neither can be undone by a user's `!pattern`: the matcher asks these first.
 */
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { relativeInside } from './inside.js';

export interface OwnFile {
  /** Absolute path. */
  readonly path: string;
  /** What it is, as a reason names it: 'the API key file'. */
  readonly what: string;
  /** A folder: everything under it is the daemon's too. */
  readonly dir: boolean;
}

/** One own path, relative to the watched folder ('/'-separated, never '' or '..'). */
interface OwnRelPath {
  readonly rel: string;
  readonly dir: boolean;
  readonly reason: string;
}

interface OwnIdentity {
  readonly dev: number;
  readonly ino: number;
  readonly reason: string;
}

export function ownReason(what: string): string {
  return `ignored: it is ${what} of claude-filesync`;
}

/** Every way the own paths are named inside the folder: as written and as resolved, deduplicated. Pure. */
export function ownRelPaths(
  roots: readonly string[],
  own: readonly (OwnFile & { real?: string | null })[],
): OwnRelPath[] {
  const out = new Map<string, OwnRelPath>();
  for (const f of own) {
    for (const root of roots) {
      for (const p of [f.path, f.real ?? null]) {
        if (p === null) continue;
        const rel = relativeInside(root, p);
        if (rel !== null && !out.has(rel)) out.set(rel, { rel, dir: f.dir, reason: ownReason(f.what) });
      }
    }
  }
  return [...out.values()];
}

/** Why `relPath` is one of the own paths or lies under an own folder, or null. Pure. */
export function ownPathReason(own: readonly OwnRelPath[], relPath: string): string | null {
  for (const o of own) {
    if (relPath === o.rel) return o.reason;
    if (o.dir && relPath.length > o.rel.length && relPath.startsWith(o.rel) && relPath[o.rel.length] === '/')
      return o.reason;
  }
  return null;
}

export interface OwnFilesLayout {
  readonly relPaths: readonly OwnRelPath[];
  readonly identities: readonly OwnIdentity[];
}

/**
 * Reads where the own files are now (the IO half): their resolved paths and their inodes. A file
 * that does not exist yet is still guarded by its path.
 */
export function locateOwnFiles(dir: string, own: readonly OwnFile[]): OwnFilesLayout {
  const real = (p: string): string | null => {
    try {
      return realpathSync(p);
    } catch {
      return null;
    }
  };
  const roots = [path.resolve(dir), real(dir)].filter((r): r is string => r !== null);
  const located = own.map((f) => ({ ...f, path: path.resolve(f.path), real: real(f.path) }));
  const identities: OwnIdentity[] = [];
  for (const f of located) {
    try {
      const st = statSync(f.path);
      identities.push({ dev: st.dev, ino: st.ino, reason: ownReason(f.what) });
    } catch {
      // Not there (yet): its path still guards it.
    }
  }
  return { relPaths: ownRelPaths([...new Set(roots)], located), identities };
}
