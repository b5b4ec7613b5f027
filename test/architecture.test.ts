/**
 * The dependency rules in .dependency-cruiser.cjs, checked on every `npm test` (no folder or
 * module cycle in src/, a planner without IO, rate control without files, the emulator without
 * the client, better-sqlite3 only in src/store/, undici only in src/api/ and src/emulator/, the
 * CLI only through the engine's face), and what a dependency rule cannot see: no clock or timer
 * in the planner or the rate controllers.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

interface Violation {
  from: string;
  to: string;
  rule: { name: string; severity: string };
  cycle?: { name: string }[];
}

function cruise(): { violations: Violation[]; modules: number } {
  // As an npm script would: the project's own node_modules/.bin first on the PATH.
  const PATH = [join(ROOT, 'node_modules', '.bin'), process.env.PATH ?? ''].join(delimiter);
  const r = spawnSync('depcruise', ['src', '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], {
    cwd: ROOT,
    env: { ...process.env, PATH },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw new Error(`depcruise did not start (is dependency-cruiser installed? npm ci): ${r.error.message}`);
  // depcruise exits non-zero when it finds violations; the JSON on stdout says which.
  if (!r.stdout) throw new Error(`depcruise printed nothing (exit ${r.status}):\n${r.stderr}`);
  const out = JSON.parse(r.stdout) as { summary: { violations: Violation[]; totalCruised: number } };
  return { violations: out.summary.violations, modules: out.summary.totalCruised };
}

function describeViolation(v: Violation): string {
  const cycle =
    v.cycle && v.cycle.length > 0 ? ` (cycle: ${[v.from, ...v.cycle.map((c) => c.name)].join(' -> ')})` : '';
  return `${v.rule.name}: ${v.from} -> ${v.to}${cycle}`;
}

describe('architecture', () => {
  it('src/ keeps the dependency rules of .dependency-cruiser.cjs', () => {
    const { violations, modules } = cruise();
    expect(modules).toBeGreaterThan(50); // the checker really read the sources
    expect(violations.map(describeViolation)).toEqual([]);
  });
});

/** Source lines without comments (block and line), so that a comment may name what code must not use. */
function codeOf(file: string): string {
  return readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

const CLOCK_OR_TIMER =
  /\b(Date\.now|performance\.now|setTimeout|setInterval|setImmediate|queueMicrotask)\b|new Date\(\s*\)/;

describe('the pure parts take time as an argument', () => {
  it.each([
    ['src/plan', []],
    // The gate is the one part of rate control that waits.
    ['src/rate', ['request-gate.ts']],
  ] as const)('%s reads no clock and sets no timer', (folder, allowed) => {
    const offenders = readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !(allowed as readonly string[]).includes(f))
      .filter((f) => CLOCK_OR_TIMER.test(codeOf(join(ROOT, folder, f))))
      .map((f) => `${folder}/${f}: ${CLOCK_OR_TIMER.exec(codeOf(join(ROOT, folder, f)))?.[0]}`);
    expect(offenders).toEqual([]);
  });
});

/** Every .ts file under `dir`, relative to ROOT. */
function sourcesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f).split('\\').join('/'));
}

const ERROR_CODE_LITERAL = /'E_[A-Z_]+'/g;

describe('error codes keep their type', () => {
  it("no 'E_...' string literal in src/ outside the registry (src/errors.ts): code names ErrorCode.X", () => {
    const offenders = sourcesUnder('src')
      .filter((f) => f !== 'src/errors.ts')
      .flatMap((f) => (codeOf(join(ROOT, f)).match(ERROR_CODE_LITERAL) ?? []).map((lit) => `${f}: ${lit}`));
    expect(offenders).toEqual([]);
  });
});

describe('files a reader can hold in view', () => {
  // Functions: biome.jsonc's noExcessiveLinesPerFunction (100 lines in src/), run by npm test.
  it('no file in src/ is over 400 lines', () => {
    const long = sourcesUnder('src')
      .map((f) => [f, readFileSync(join(ROOT, f), 'utf8').split('\n').length - 1] as const)
      .filter(([, lines]) => lines > 400)
      .map(([f, lines]) => `${f}: ${lines} lines`);
    expect(long).toEqual([]);
  });
});
