/**
 * What an upload sends: the file's real path, refused outside the real root; a small file's bytes
 * read at once on a fast filesystem; and the type to send it with.
 */
import { constants as fsConstants, fstatSync, realpathSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { UploadSourceError } from '../api/errors.js';
import { chooseMimeType, isTextLike, type MimeChoice } from '../plan/mime-policy.js';
import { SMALL_READ_BYTES, type FsSpeed } from '../scan/fs-speed.js';
import { readUpTo } from '../scan/hash.js';
import { relativeInside } from '../scan/inside.js';
import type { FileRow } from '../store/types.js';
import type { ExecutorDeps } from './executor-deps.js';
import { isUtf8, isUtf8File } from './is-utf8-file.js';
import type { RealRoot } from './real-root.js';

/**
 * The type to upload `relPath` with (src/plan/mime-policy.ts). A text-like file is read once to
 * check it is UTF-8; a read error here leaves the check to the upload, which reads it again.
 */
export async function mimeFor(
  deps: ExecutorDeps,
  relPath: string,
  source: string,
  bytes: Buffer | null,
): Promise<MimeChoice> {
  const overrides = deps.mimeTypes ?? {};
  if (!isTextLike(relPath, overrides)) return chooseMimeType(relPath, { overrides });
  const utf8 = bytes ? isUtf8(bytes) : await isUtf8File(source).catch(() => true);
  return chooseMimeType(relPath, { overrides, isUtf8: utf8 });
}

/**
 * A small file's bytes, read in one synchronous call where the filesystem is fast: they are what
 * every attempt sends, and the type check reads them instead of the file. Opened as the client
 * opens a path (never through a final symlink) and refused, as the client refuses it, when it is
 * no longer the inode that was scanned. Null: the file is streamed by the client as usual (a slow
 * filesystem, a larger file, or one that grew since its scan).
 */
export function readSmall(speed: FsSpeed | undefined, source: string, row: FileRow): Buffer | null {
  if (!speed?.fast || row.size > SMALL_READ_BYTES) return null;
  return speed.time(() =>
    readUpTo(source, SMALL_READ_BYTES, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW, (fd) => {
      const st = fstatSync(fd);
      if (st.ino !== row.ino)
        throw new UploadSourceError(
          `${source} is no longer the file that was scanned (it was replaced); not uploaded.`,
          st.size,
          st.size,
        );
    }),
  );
}

/**
 * The real path of `relPath`, refused when it resolves outside the real root. A file that seems
 * outside is judged again against the root resolved afresh: the folder may have been moved or
 * its link pointed elsewhere since the root was resolved.
 */
export async function realPathInside(realRoot: RealRoot, relPath: string, speed?: FsSpeed): Promise<string> {
  const abs = path.join(realRoot.root, ...relPath.split('/'));
  // On a fast filesystem the few lstat/readlink calls are cheaper than a trip through the pool.
  const real = speed?.fast ? speed.time(() => realpathSync.native(abs)) : realpath(abs);
  const [rootNow, resolved] = await Promise.all([realRoot.get(), real]);
  return checkInside(realRoot, relPath, rootNow, resolved);
}

async function checkInside(realRoot: RealRoot, relPath: string, rootNow: string, real: string): Promise<string> {
  if (relativeInside(rootNow, real) !== null) return real;
  if (relativeInside(await realRoot.refresh(), real) !== null) return real;
  throw Object.assign(new Error(`${relPath} resolves outside the watched folder (${real}); it is never read`), {
    code: 'EPERM',
  });
}
