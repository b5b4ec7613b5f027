/**
 * The watched folder's real path, resolved once and kept: every upload checks that its file
 * resolves inside it (src/jobs/executor.ts), and resolving the root again for each of them was a
 * tenth of the CPU of an initial sync of small files. A check that fails asks for it afresh.
 */
import { realpath } from 'node:fs/promises';

export class RealRoot {
  readonly root: string;
  #real: Promise<string> | null = null;

  constructor(root: string) {
    this.root = root;
  }

  get(): Promise<string> {
    return (this.#real ??= this.refresh());
  }

  /** Resolves the root again (it may have moved); a failed resolution is not kept. */
  refresh(): Promise<string> {
    const real = realpath(this.root);
    this.#real = real;
    real.catch(() => {
      if (this.#real === real) this.#real = null;
    });
    return real;
  }
}
