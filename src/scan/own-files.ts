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
import { readdirSync, realpathSync, statSync } from 'node:fs';
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

export interface OwnIdentity {
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
  /**
   * Why the file or folder with this device and inode is one of the daemon's own, or null. With
   * its ctime, an inode changed since the own files were last read makes them be read again.
   */
  identityReason(st: { readonly dev: number; readonly ino: number; readonly ctimeMs?: number }): string | null;
}

/** A lookup by inode, then device, over a fixed list of identities. Pure. */
export function identityLookup(
  identities: readonly OwnIdentity[],
): (st: { readonly dev: number; readonly ino: number }) => string | null {
  const byIno = new Map<number, OwnIdentity[]>();
  for (const i of identities) byIno.set(i.ino, [...(byIno.get(i.ino) ?? []), i]);
  // The inode first: one map lookup per file, no string built.
  return (st) => byIno.get(st.ino)?.find((i) => i.dev === st.dev)?.reason ?? null;
}

/**
 * An own file's inode changes when it is replaced (a key rotated by an editor's rename), and an
 * own folder gains files (the index, its -wal and -shm, a new env file). A file not found among
 * the identities is looked up again against a fresh reading when its inode changed after the
 * last one (its ctime: becoming an own file, by a link or a rename, moves it) or, without a
 * ctime, when the reading is this old. Only a file with more than one link (or behind a followed
 * symlink) is ever looked up, and an old hard link reads nothing again.
 */
export const OWN_IDENTITY_REFRESH_MS = 1_000;
/** ctime and the clock may disagree by a filesystem's timestamp granularity. */
const CTIME_MARGIN_MS = 1_000;

/**
 * Reads where the own files are now (the IO half): their resolved paths, and the inodes of the
 * own files, of the own folders and of the files directly in them (the index, the manifest, the
 * service's env file). A file that does not exist yet is still guarded by its path.
 */
export function locateOwnFiles(dir: string, own: readonly OwnFile[], now: () => number = Date.now): OwnFilesLayout {
  const real = (p: string): string | null => {
    try {
      return realpathSync(p);
    } catch {
      return null;
    }
  };
  const roots = [path.resolve(dir), real(dir)].filter((r): r is string => r !== null);
  const located = own.map((f) => ({ ...f, path: path.resolve(f.path), real: real(f.path) }));
  let lookup = identityLookup(readIdentities(located));
  let readAt = now();
  return {
    relPaths: ownRelPaths([...new Set(roots)], located),
    identityReason(st) {
      const known = lookup(st);
      if (known !== null) return known;
      const changedSince =
        st.ctimeMs !== undefined ? st.ctimeMs >= readAt - CTIME_MARGIN_MS : now() - readAt >= OWN_IDENTITY_REFRESH_MS;
      if (!changedSince) return null;
      lookup = identityLookup(readIdentities(located));
      readAt = now();
      return lookup(st);
    },
  };
}

function readIdentities(own: readonly OwnFile[]): OwnIdentity[] {
  const out: OwnIdentity[] = [];
  const add = (p: string, reason: string): void => {
    try {
      const st = statSync(p);
      out.push({ dev: st.dev, ino: st.ino, reason });
    } catch {
      // Not there (yet), or gone meanwhile: its path still guards it.
    }
  };
  for (const f of own) {
    const reason = ownReason(f.what);
    add(f.path, reason);
    if (!f.dir) continue;
    let names: string[] = [];
    try {
      names = readdirSync(f.path);
    } catch {
      continue;
    }
    for (const name of names) add(path.join(f.path, name), reason);
  }
  return out;
}
