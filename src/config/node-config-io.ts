import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { ConfigIO } from './config-input.js';

export const nodeConfigIO: Required<ConfigIO> = {
  readText(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
  },
  mode(path) {
    try {
      return statSync(path).mode & 0o777;
    } catch {
      return null;
    }
  },
  kind(path) {
    try {
      const st = statSync(path);
      return st.isDirectory() ? 'directory' : st.isFile() ? 'file' : 'other';
    } catch (err) {
      // A parent that is a file (ENOTDIR) makes the path as impossible as a file in its place.
      return (err as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'other' : null;
    }
  },
};
