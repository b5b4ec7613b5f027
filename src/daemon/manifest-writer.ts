/**
 * The daemon keeps `manifest.json` in the state directory current, for programs that would rather
 * read a file than run `claude-filesync export` (the same JSON). It is replaced atomically (a temp
 * file in the same folder, fsync, rename), so a reader sees the old or the new manifest, never
 * half of one. Debounced: the index's change count is looked at every `tickMs`; the file is
 * written once changes have stopped for a tick, or every `maxDelayMs` during a long burst (an
 * initial sync), and only when its content changed.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { IndexStore } from '../store/store.js';
import { manifestOf } from '../engine/report.js';
import type { FileEntry } from '../engine/contract.js';
import { MANIFEST_FILE } from '../state-dir/state-files.js';

export interface ManifestWriterOptions {
  stateDir: string;
  dir: string;
  index: IndexStore;
  files: () => FileEntry[];
  logger: Logger;
  now?: () => number;
  /** @default 1000 */
  tickMs?: number;
  /** @default 10000 */
  maxDelayMs?: number;
}

export interface ManifestWriter {
  /** Writes now if anything changed since the last write. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function startManifestWriter(o: ManifestWriterOptions): ManifestWriter {
  const now = o.now ?? Date.now;
  const file = join(o.stateDir, MANIFEST_FILE);
  let seen = -1;
  let dirtySince: number | null = now();
  let lastBody: string | null = null;
  let writing: Promise<void> = Promise.resolve();
  let closed: Promise<void> | null = null;

  const write = (): Promise<void> => {
    writing = writing.then(async () => {
      dirtySince = null;
      const manifest = manifestOf(o.files(), o.dir, now());
      // generatedAt alone changing is no change.
      const body = JSON.stringify(manifest.files);
      if (body === lastBody) return;
      try {
        await writeAtomically(file, `${JSON.stringify(manifest, null, 2)}\n`);
        lastBody = body;
      } catch (err) {
        o.logger.warn(
          { event: 'manifest-failed', err: err instanceof Error ? err.message : String(err) },
          `could not write ${file}`,
        );
      }
    });
    return writing;
  };

  const tick = (): void => {
    if (closed !== null || o.index.closed) return;
    const changes = o.index.changeCount();
    const changedNow = changes !== seen;
    seen = changes;
    if (changedNow && dirtySince === null) dirtySince = now();
    if (dirtySince !== null && (!changedNow || now() - dirtySince >= (o.maxDelayMs ?? 10_000))) void write();
  };
  const timer = setInterval(tick, o.tickMs ?? 1000);
  timer.unref();

  return {
    flush: () => (o.index.closed ? writing : write()),
    close() {
      clearInterval(timer);
      closed ??= writing;
      return closed;
    },
  };
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
