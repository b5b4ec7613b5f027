/**
 * Shared types and helpers of the benchmarks: the shape of a case's result, medians and
 * percentiles, and the paths of the compiled bench entry points (children run from dist/bench/).
 */
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** One measured quantity, ours beside its reference (the lower bound or the SDK script). */
export interface Metric {
  readonly name: string;
  readonly unit: string;
  /** Median over the runs (null when not measured). */
  readonly ours: number | null;
  readonly reference: number | null;
  /** ours / reference, when both exist and the ratio means something. */
  readonly ratio: number | null;
  readonly samples?: { ours: number[]; reference: number[] };
  readonly note?: string;
}

export interface CaseResult {
  readonly id: number;
  readonly title: string;
  /** What ours is and what the reference is, in one or two sentences. */
  readonly setup: string;
  readonly runs: number;
  readonly metrics: Metric[];
  readonly target: string;
  /** null: no verdict (failed, or not applicable in this mode). */
  readonly met: boolean | null;
  /** Why the target is met or not, in figures. */
  readonly verdict: string;
  readonly notes: string[];
  readonly durationMs: number;
  /** When this case was measured (ISO), and on which commit of the code. */
  readonly at: string;
  readonly commit: string | null;
  readonly error?: string;
}

export interface BenchContext {
  readonly smoke: boolean;
  readonly runs: number;
  /** Cache for generated trees and big files, under os.tmpdir(). */
  readonly cacheDir: string;
  /** Scratch space for this bench run, removed at the end. */
  readonly workDir: string;
  readonly log: (message: string) => void;
}

export type BenchCase = (ctx: BenchContext) => Promise<Omit<CaseResult, 'durationMs' | 'id' | 'at' | 'commit'>>;

export const BENCH_KEY = 'sk-ant-bench-key-0123456789';

/** dist/bench/ (this file's folder once compiled). Children are started from here. */
export const BENCH_DIST_DIR = path.dirname(fileURLToPath(import.meta.url));
/** The repository root, two levels above dist/bench/. */
export const REPO_ROOT = path.resolve(BENCH_DIST_DIR, '..', '..');

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1] as number;
}

export function ratio(ours: number | null, reference: number | null): number | null {
  if (ours === null || reference === null || reference === 0) return null;
  return ours / reference;
}

/** A metric from samples of both sides: medians and their ratio. */
export function metric(name: string, unit: string, ours: number[], reference: number[], note?: string): Metric {
  const o = median(ours);
  const r = median(reference);
  return {
    name,
    unit,
    ours: o,
    reference: r,
    ratio: ratio(o, r),
    samples: { ours, reference },
    ...(note ? { note } : {}),
  };
}

/** A metric with only our side (no reference exists). */
export function single(name: string, unit: string, ours: number[], note?: string): Metric {
  return {
    name,
    unit,
    ours: median(ours),
    reference: null,
    ratio: null,
    samples: { ours, reference: [] },
    ...(note ? { note } : {}),
  };
}

export const MB = 1024 * 1024;

export function fmt(n: number | null, digits = 1): string {
  if (n === null || !Number.isFinite(n)) return '—';
  if (Number.isInteger(n) && Math.abs(n) < 1e15) return n.toLocaleString('en-US');
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function defaultCacheDir(): string {
  return path.join(os.tmpdir(), 'claude-filesync-bench-cache');
}

export async function ensureDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  return dir;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `fn` every `everyMs` until it returns true, or throws after `timeoutMs`. */
export async function waitFor(
  fn: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  everyMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
