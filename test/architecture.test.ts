/**
 * The dependency rules in .dependency-cruiser.cjs, checked on every `npm test`: no folder or
 * module cycle in src/, better-sqlite3 only in src/index/, undici only in src/api/ and
 * src/emulator/, CLI commands only through the engine's contract.
 */
import { spawnSync } from 'node:child_process';
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
  const cycle = v.cycle && v.cycle.length > 0 ? ` (cycle: ${[v.from, ...v.cycle.map((c) => c.name)].join(' -> ')})` : '';
  return `${v.rule.name}: ${v.from} -> ${v.to}${cycle}`;
}

describe('architecture', () => {
  it('src/ keeps the dependency rules: no cycles, sqlite only in index/, undici only in api/ and emulator/, the CLI only through the contract', () => {
    const { violations, modules } = cruise();
    expect(modules).toBeGreaterThan(50); // the checker really read the sources
    expect(violations.map(describeViolation)).toEqual([]);
  });
});
