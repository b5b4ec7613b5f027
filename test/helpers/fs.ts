/** Writing files into a test's folder. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Writes `content` at `rel` under the folder, making the parent folders it needs. */
export async function put(x: { dir: string }, rel: string, content: string | Buffer): Promise<void> {
  const file = path.join(x.dir, rel);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
}
