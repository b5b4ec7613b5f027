import { isAbsolute, normalize, relative, sep } from 'node:path';
import { ConfigError } from '../errors.js';

/**
 * A path as the user typed it -> the folder-relative, '/'-separated path the index keys on.
 * Absolute paths must lie inside the folder; relative ones are relative to the folder.
 */
export function toFolderRelative(dir: string, input: string): string {
  const rel = isAbsolute(input) ? relative(normalize(dir), normalize(input)) : normalize(input);
  const clean = rel.split(sep).join('/').replace(/^\.\//, '').replace(/\/+$/, '');
  if (clean === '' || clean === '.' || clean === '..' || clean.startsWith('../') || isAbsolute(clean)) {
    throw new ConfigError(`${input} is not a file inside the watched folder ${dir}`, {
      hint: 'give a path relative to the folder (reports/q3.pdf) or an absolute path inside it',
    });
  }
  return clean;
}
