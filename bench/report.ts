/** The machine's description and the RESULTS.md / results JSON writer. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fmt, type CaseResult } from './common.js';

export interface Machine {
  cpuModel: string;
  cores: number;
  ramBytes: number;
  os: string;
  node: string;
  date: string;
  inotifyMaxUserWatches: number | null;
  disk: string | null;
}

function readNumber(file: string): number | null {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return null;
  }
}

export function describeMachine(): Machine {
  const cpus = os.cpus();
  let disk: string | null = null;
  try {
    disk = execFileSync('df', ['-h', os.tmpdir()], { encoding: 'utf8' }).trim().split('\n').pop() ?? null;
  } catch {
    disk = null;
  }
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    ramBytes: os.totalmem(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    date: new Date().toISOString(),
    inotifyMaxUserWatches: readNumber('/proc/sys/fs/inotify/max_user_watches'),
    disk,
  };
}

function verdictCell(r: CaseResult): string {
  if (r.error) return 'error';
  if (r.met === null) return 'no verdict';
  return r.met ? 'met' : 'NOT met';
}

export function renderMarkdown(results: CaseResult[], machine: Machine, command: string, smoke: boolean): string {
  const lines: string[] = [];
  lines.push('# claude-filesync benchmarks');
  lines.push('');
  if (smoke)
    lines.push('> **Smoke run (tiny sizes): these figures check that the bench runs, they measure nothing.**', '');
  lines.push(`Reproduce: \`${command}\``);
  lines.push('');
  lines.push('| Machine | |');
  lines.push('|---|---|');
  lines.push(`| CPU | ${machine.cpuModel}, ${machine.cores} cores |`);
  lines.push(`| RAM | ${(machine.ramBytes / 1024 ** 3).toFixed(1)} GiB |`);
  lines.push(`| OS | ${machine.os} |`);
  lines.push(`| Node | ${machine.node} |`);
  lines.push(`| Date | ${machine.date} |`);
  lines.push(`| inotify max_user_watches | ${machine.inotifyMaxUserWatches ?? 'unknown'} |`);
  if (machine.disk) lines.push(`| Disk (df -h of tmpdir) | \`${machine.disk.replace(/\s+/g, ' ')}\` |`);
  lines.push('');
  lines.push(
    'Everything runs on 127.0.0.1 against the built-in emulator (`src/emulator`), which runs in its own process;',
  );
  lines.push(
    'each measured program also runs in its own process unless a case says otherwise. Figures are medians over the runs;',
  );
  lines.push('"ratio" is claude-filesync / reference (lower is better for times and memory, higher for throughput).');
  lines.push('');
  lines.push('## Summary');
  lines.push('');
  lines.push('| # | Case | Target | Verdict | Why |');
  lines.push('|---|---|---|---|---|');
  for (const r of results) {
    lines.push(
      `| ${r.id} | ${r.title} | ${r.target} | ${verdictCell(r)} | ${(r.error ? `failed: ${r.error.split('\n')[0]}` : r.verdict).replace(/\|/g, '\\|')} |`,
    );
  }
  for (const r of results) {
    lines.push('');
    lines.push(`## ${r.id}. ${r.title}`);
    lines.push('');
    lines.push(r.setup);
    lines.push('');
    if (r.error) {
      lines.push('**The case failed:**', '', '```', r.error.slice(0, 4000), '```', '');
    }
    if (r.metrics.length > 0) {
      lines.push(
        `Alone: \`npm run bench -- --only ${r.id}${smoke ? ' --smoke' : ''}\`. Runs: ${r.runs}; case took ${(r.durationMs / 1000).toFixed(1)} s; measured ${r.at}${r.commit ? ` on commit ${r.commit}` : ''}.`,
      );
      lines.push('');
      lines.push('| Metric | claude-filesync | Reference | Ratio | Note |');
      lines.push('|---|---:|---:|---:|---|');
      for (const m of r.metrics) {
        const unit = m.unit ? ` ${m.unit}` : '';
        const cell = (v: number | null) => (v === null ? '—' : `${fmt(v)}${unit}`);
        lines.push(
          `| ${m.name} | ${cell(m.ours)} | ${cell(m.reference)} | ${m.ratio === null ? '—' : `${m.ratio.toFixed(2)}x`} | ${m.note ?? ''} |`,
        );
      }
    }
    lines.push('');
    lines.push(`**Target:** ${r.target} — **${verdictCell(r)}**: ${r.verdict}`);
    for (const n of r.notes) lines.push('', `- ${n}`);
  }
  lines.push('');
  return lines.join('\n');
}
