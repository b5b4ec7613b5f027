/**
 * The bench is a program, not a timed test; this runs it at tiny sizes (`--smoke`) so that it
 * cannot rot: every case must complete and the results must be written, well formed, to a
 * temporary path (never over bench/RESULTS.md). It runs the built dist/bench/run.js, which
 * `npm test` builds first (pretest); when it is missing, the test builds it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUN = path.join(ROOT, 'dist', 'bench', 'run.js');

interface Json {
  machine: { cpuModel: string; cores: number; ramBytes: number; node: string; date: string };
  smoke: boolean;
  results: {
    id: number;
    title: string;
    metrics: { name: string; ours: number | null }[];
    met: boolean | null;
    verdict: string;
    error?: string;
  }[];
}

describe('bench --smoke', () => {
  let tmp = '';
  let run: { code: number | null; stderr: string } = { code: null, stderr: '' };

  beforeAll(async () => {
    if (!existsSync(RUN))
      spawnSync(
        process.execPath,
        [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.json')],
        { stdio: 'ignore' },
      );
    tmp = await mkdtemp(path.join(os.tmpdir(), 'cfs-bench-smoke-'));
    run = await new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [RUN, '--smoke', '--out', path.join(tmp, 'RESULTS.md'), '--cache', path.join(tmp, 'cache')],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stderr }));
    });
  }, 240_000);

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('completes every case and exits 0', () => {
    expect(run.stderr).not.toMatch(/case \d+ failed/);
    expect(run.code).toBe(0);
  });

  it('writes well-formed JSON with the machine and a measured result for each case', async () => {
    const json = JSON.parse(await readFile(path.join(tmp, 'RESULTS.json'), 'utf8')) as Json;
    expect(json.smoke).toBe(true);
    expect(json.machine.cores).toBeGreaterThan(0);
    expect(json.machine.ramBytes).toBeGreaterThan(0);
    expect(json.machine.node).toBe(process.version);
    expect(Number.isNaN(Date.parse(json.machine.date))).toBe(false);
    expect(json.results.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    for (const r of json.results) {
      expect(r.error, `case ${r.id}`).toBeUndefined();
      expect(r.metrics.length, `case ${r.id} metrics`).toBeGreaterThan(0);
      for (const m of r.metrics) expect(Number.isFinite(m.ours), `case ${r.id}: ${m.name}`).toBe(true);
    }
    // The counts that do not depend on the machine's speed hold even at tiny sizes.
    const case3 = json.results.find((r) => r.id === 3);
    const opens = case3?.metrics.filter((m) => m.name.startsWith('files under the tree opened')) ?? [];
    expect(opens.length).toBe(2);
    for (const m of opens) expect(m.ours).toBe(0);
  });

  it('writes the Markdown with the machine, the command and a section per case', async () => {
    const md = await readFile(path.join(tmp, 'RESULTS.md'), 'utf8');
    expect(md).toMatch(/^# claude-filesync benchmarks/);
    expect(md).toContain('Smoke run');
    expect(md).toContain('npm run bench -- --smoke');
    expect(md).toMatch(/\| CPU \| .+, \d+ cores \|/);
    expect(md).toContain(`| Node | ${process.version} |`);
    for (let id = 1; id <= 8; id++) expect(md).toMatch(new RegExp(`^## ${id}\\. `, 'm'));
    expect(md).not.toContain('The case failed');
  });
});
