/**
 * Which paths are not synced, and why. gitignore syntax (the `ignore` package), in one rule list
 * evaluated in order: the built-in defaults, the state directory when it lies inside the folder,
 * then the user's patterns, so that a user's `!pattern` can bring back a default-ignored name.
 * Include patterns, when given, apply to files only: directories are always walked unless ignored.
 */
import ignore, { type Ignore } from 'ignore';

export const DEFAULT_IGNORES: readonly string[] = Object.freeze([
  '.DS_Store',
  'Thumbs.db',
  'desktop.ini',
  '*.swp',
  '*.swo',
  '*~',
  '.#*',
  '*.tmp',
  '*.part',
  '*.crdownload',
  '.git/',
]);

export interface IgnoreMatcherOptions {
  /** gitignore-syntax patterns added after the defaults. */
  readonly ignore: readonly string[];
  /** gitignore-syntax patterns; when non-empty, only files matching one are synced. */
  readonly include: readonly string[];
  /** Directories (relative, '/'-separated) always ignored: the state directory if it is inside the folder. */
  readonly extraIgnoredDirs?: readonly string[];
}

export interface IgnoreMatcher {
  /** Why `relPath` is not synced, or null if it is. `relPath` is relative and '/'-separated. */
  check(relPath: string, isDir: boolean): string | null;
}

const MARK_DEFAULT = 'default';
const MARK_STATE = 'state';
const MARK_USER = 'user';

/** The `ignore` package caches every path it has seen; rebuild it now and then to bound memory. */
const CACHE_LIMIT = 200_000;

/** Escapes a literal path for gitignore syntax. */
function escapeLiteral(path: string): string {
  return path.replace(/[\\*?[\]!#]/g, '\\$&').replace(/ +$/, (spaces) => spaces.replace(/ /g, '\\ '));
}

export function createIgnoreMatcher(options: IgnoreMatcherOptions): IgnoreMatcher {
  const stateDirs = (options.extraIgnoredDirs ?? [])
    .map((d) => d.replace(/^\/+|\/+$/g, ''))
    .filter((d) => d !== '' && d !== '.' && !d.startsWith('../'));
  const build = (): { ig: Ignore; inc: Ignore | null } => ({
    ig: ignore()
      .add(DEFAULT_IGNORES.map((pattern) => ({ pattern, mark: MARK_DEFAULT })))
      .add(stateDirs.map((d) => ({ pattern: `/${escapeLiteral(d)}/`, mark: MARK_STATE })))
      .add(options.ignore.map((pattern) => ({ pattern, mark: MARK_USER }))),
    inc: options.include.length > 0 ? ignore().add([...options.include]) : null,
  });
  let rules = build();
  let checks = 0;

  return {
    check(relPath: string, isDir: boolean): string | null {
      if (relPath === '') return null;
      if (++checks > CACHE_LIMIT) {
        rules = build();
        checks = 0;
      }
      const result = rules.ig.test(isDir ? `${relPath}/` : relPath);
      if (result.ignored) {
        const rule = result.rule;
        if (rule?.mark === MARK_STATE) return 'ignored: it is the state directory of claude-filesync';
        if (rule?.mark === MARK_DEFAULT) return `ignored by default pattern "${rule.pattern}"`;
        return `ignored by pattern "${rule?.pattern ?? '?'}"`;
      }
      if (!isDir && rules.inc !== null && !rules.inc.ignores(relPath)) return 'not matched by any include pattern';
      return null;
    },
  };
}
