/**
 * Which paths are not synced, and why. First the daemon's own files (./own-files.ts), which no
 * pattern can bring back; then gitignore syntax (the `ignore` package), in one rule list
 * evaluated in order: the built-in defaults, then the user's patterns, so that a user's
 * `!pattern` can bring back a default-ignored name.
 * Include patterns, when given, apply to files only: directories are always walked unless ignored.
 */
import ignore, { type Ignore } from 'ignore';
import { ownPathReason, type OwnFilesLayout } from './own-files.js';

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
  // Lock and temporary files that office suites and editors keep next to an open document:
  // synced, each would be uploaded when the document opens and deleted when it closes.
  '~$*',
  '.~lock.*#',
  '*.kate-swp',
  '.goutputstream-*',
  // A .git file (a worktree or submodule pointer) names a repository elsewhere; the directory
  // rule below keeps its own name in the reason for everything inside a repository.
  '.git',
  '.git/',
]);

interface IgnoreMatcherOptions {
  /** gitignore-syntax patterns added after the defaults. */
  readonly ignore: readonly string[];
  /** gitignore-syntax patterns; when non-empty, only files matching one are synced. */
  readonly include: readonly string[];
  /** The daemon's own files and folders (key file, configuration, state directory) inside the folder. */
  readonly own?: OwnFilesLayout;
}

export interface IgnoreMatcher {
  /** Why `relPath` is not synced, or null if it is. `relPath` is relative and '/'-separated. */
  check(relPath: string, isDir: boolean): string | null;
  /**
   * Why the file or folder with this identity is one of the daemon's own (a hard link to the key
   * file, a followed symbolic link to the state directory), or null. Asked of what `check` let through.
   */
  ownIdentity(st: { readonly dev: number; readonly ino: number; readonly ctimeMs?: number }): string | null;
}

const MARK_DEFAULT = 'default';
const MARK_USER = 'user';

/**
 * The `ignore` package caches every path it has seen (an object and the path string each); rebuild
 * it now and then to bound memory. The cache pays off for the parent folders it checks before each
 * path, which a rebuild checks once again: cheap. At 200,000 a reconcile of 100,000 files held
 * them all for the daemon's life (measured: about 14 MB of its peak).
 */
export const IGNORE_CACHE_LIMIT = 10_000;

export function createIgnoreMatcher(options: IgnoreMatcherOptions): IgnoreMatcher {
  const ownPaths = options.own?.relPaths ?? [];
  const identityReason = options.own?.identityReason ?? (() => null);
  const build = (): { ig: Ignore; inc: Ignore | null } => ({
    ig: ignore()
      .add(DEFAULT_IGNORES.map((pattern) => ({ pattern, mark: MARK_DEFAULT })))
      .add(options.ignore.map((pattern) => ({ pattern, mark: MARK_USER }))),
    inc: options.include.length > 0 ? ignore().add([...options.include]) : null,
  });
  let rules = build();
  let checks = 0;

  return {
    check(relPath: string, isDir: boolean): string | null {
      if (relPath === '') return null;
      const own = ownPaths.length > 0 ? ownPathReason(ownPaths, relPath) : null;
      if (own !== null) return own;
      if (++checks > IGNORE_CACHE_LIMIT) {
        rules = build();
        checks = 0;
      }
      const result = rules.ig.test(isDir ? `${relPath}/` : relPath);
      if (result.ignored) {
        const rule = result.rule;
        if (rule?.mark === MARK_DEFAULT) return `ignored by default pattern "${rule.pattern}"`;
        return `ignored by pattern "${rule?.pattern ?? '?'}"`;
      }
      if (!isDir && rules.inc !== null && !rules.inc.ignores(relPath)) return 'not matched by any include pattern';
      return null;
    },
    ownIdentity(st) {
      return identityReason(st);
    },
  };
}

/**
 * Why a gitignore pattern can never do what its author meant, or null when it is valid. The
 * `ignore` package accepts anything and silently drops or never matches what git would not
 * match either (an unclosed `[`, a range like `[z-a]`, a trailing lone backslash, a blank or
 * comment line), so the configuration checks patterns here and refuses them by name.
 */
export function invalidPatternReason(pattern: string): string | null {
  if (/[\r\n]/.test(pattern)) return 'it holds a line break (give one pattern per array entry)';
  if (pattern.trim() === '') return 'it is blank';
  if (pattern.startsWith('#'))
    return 'it starts with "#", which gitignore reads as a comment (write "\\#" for a name that starts with #)';
  const trailing = /\\+$/.exec(pattern)?.[0].length ?? 0;
  if (trailing % 2 === 1) return 'it ends with a lone backslash (write "\\\\" for a backslash)';
  if (pattern.replace(/^!/, '').replace(/^\/+|\/+$/g, '') === '') return 'it names no path';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c !== '[') continue;
    const problem = bracketProblem(pattern, i);
    if (typeof problem === 'string') return problem;
    i = problem;
  }
  return null;
}

/** Checks the bracket expression opening at `open`: its closing index, or what is wrong with it. */
function bracketProblem(pattern: string, open: number): number | string {
  let i = open + 1;
  if (pattern[i] === '!' || pattern[i] === '^') i++;
  // A `]` first in the set is a member, not the end.
  const members: string[] = [];
  if (pattern[i] === ']') {
    members.push(']');
    i++;
  }
  for (; i < pattern.length; i++) {
    let c = pattern[i]!;
    if (c === ']') break;
    if (c === '[' && pattern[i + 1] === ':') {
      const end = pattern.indexOf(':]', i + 2);
      if (end < 0) return `it has an unclosed "[:" class at position ${i + 1}`;
      i = end + 1;
      members.push('');
      continue;
    }
    if (c === '\\' && i + 1 < pattern.length) c = pattern[++i]!;
    if (c === '-' && members.length > 0 && members.at(-1) !== '' && pattern[i + 1] !== ']' && i + 1 < pattern.length) {
      let to = pattern[++i]!;
      if (to === '\\' && i + 1 < pattern.length) to = pattern[++i]!;
      const from = members.at(-1)!;
      if (from.codePointAt(0)! > to.codePointAt(0)!)
        return `its range "${from}-${to}" is out of order and matches nothing`;
      members.push('');
      continue;
    }
    members.push(c);
  }
  if (i >= pattern.length) return `it has an unclosed "[" at position ${open + 1} (write "\\[" for a literal bracket)`;
  return i;
}
