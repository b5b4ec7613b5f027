/**
 * Seeded generator of random operation sequences on a synced folder (Dropbox-style randomized
 * testing). Operations are plain data (JSON-printable), so a failing sequence can be printed,
 * shrunk and replayed; test/random/executor.ts applies them to a real folder.
 *
 * The generator keeps a model of which files and folders exist so that most operations are
 * meaningful; the executor still tolerates operations that no longer apply (after shrinking).
 */
import { DEFAULT_FAULTS, seededRandom } from '../../src/emulator/index.js';
import type { FaultConfig } from '../../src/emulator/index.js';

/** mulberry32: the same sequence for the same seed on every platform (the emulator's own PRNG). */
export const mulberry32: (seed: number) => () => number = seededRandom;

export class Rng {
  readonly #next: () => number;
  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }
  float(): number {
    return this.#next();
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.#next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.#next() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.#next() * items.length)] as T;
  }
  /** Picks a key by weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((s, [, w]) => s + w, 0);
    let r = this.#next() * total;
    for (const [k, w] of entries) {
      r -= w;
      if (r < 0) return k;
    }
    return (entries[entries.length - 1] as [K, number])[0];
  }
}

/** A file's content: `size` bytes derived from `fill` (see contentFor). */
export interface Content {
  size: number;
  fill: number;
}

export type FaultProfile = Partial<Omit<FaultConfig, 'seed' | 'hang' | 'requestsPerMinute'>>;

export type Op =
  | { op: 'write'; path: string; content: Content }
  | { op: 'append'; path: string; content: Content }
  | { op: 'truncate'; path: string }
  | { op: 'delete'; path: string }
  | { op: 'rename'; from: string; to: string }
  | { op: 'copy'; from: string; to: string }
  | { op: 'touch'; path: string }
  /** Rapid repeated writes to one file, `gapMs` apart (below the settle time). */
  | { op: 'burst'; path: string; writes: Content[]; gapMs: number }
  /** A large file written in chunks, as a copy in progress. */
  | { op: 'slowWrite'; path: string; content: Content; chunks: number; gapMs: number }
  /** An editor's save: write an ignored temporary file, then rename it over the target. */
  | { op: 'editorSave'; path: string; temp: string; content: Content }
  | { op: 'mkdirTree'; dir: string; files: { name: string; content: Content }[] }
  | { op: 'rmTree'; dir: string }
  | { op: 'renameDir'; from: string; to: string }
  /** Create a file, then move it about a second later (to a new name or over another file). */
  | { op: 'quickMove'; path: string; to: string; content: Content; delayMs: number }
  /**
   * Rewrite a file in place with as many bytes and put its times back, as `cp -p` does. Its times
   * are first set to a whole second and left to settle, so that putting them back is exact.
   */
  | { op: 'sameStatEdit'; path: string; fill: number }
  | { op: 'wait'; ms: number }
  | { op: 'faults'; set: FaultProfile }
  | { op: 'clearFaults' }
  /** Graceful restart of the daemon (close, then start a fresh engine on the same state). */
  | { op: 'restart' }
  /** SIGKILL of the daemon's process, then a new one (crash mode only). */
  | { op: 'crash'; waitReady: boolean }
  // The moves of issue 14 (only with GenerateOptions.moves; see NEW_MOVES):
  /**
   * The state directory is lost: stop the daemon, delete its state dir, start again; with `adopt`
   * a one-shot `reconcile --adopt` runs first (as a user would run it before starting again). `settled`: wait for idle first, and count the uploads between
   * the stop and the next idle (they must be 0 beyond what faults explain: all is remote already).
   */
  | { op: 'loseState'; adopt: boolean; settled: boolean }
  /** New content of the same size, then the old mtime put back (`cp -p`, `touch -r`): same inode too. */
  | { op: 'sameStat'; path: string; fill: number }
  /** The folder becomes unreadable to the daemon (chmod 000; as root the daemon runs as nobody). */
  | { op: 'lockDir'; dir: string }
  /** Readable again (chmod 755). */
  | { op: 'unlockDir'; dir: string }
  /** The daemon is pointed at a second emulator ('other') and back ('home'), same state dir and key. */
  | { op: 'switchTarget'; to: 'other' | 'home' };

/** The moves added for issue 14, off unless asked for (so that the classic seeds stay the same). */
export const NEW_MOVES = ['loseState', 'sameStat', 'bigRenameDir', 'unreadableDir', 'switchTarget'] as const;
export type NewMove = (typeof NEW_MOVES)[number];

/** An op for the second host carries `host: 2`; without it an op is the first host's. */
export type HostOp = Op & { host?: 2 };

export interface Sequence {
  seed: number;
  /** Crash mode: the daemon runs in a child process that `crash` ops SIGKILL. */
  crashes: boolean;
  /** Remote files that no index owns, put in the emulator before the daemon starts. */
  foreign: { filename: string; content: Content }[];
  ops: HostOp[];
  /**
   * A second host (its own folder, state dir and daemon, the same emulator and key): the files in
   * its folder before it starts, some of them the same path and bytes as the first host's.
   */
  second?: { files: { path: string; content: Content }[] };
}

export interface GenerateOptions {
  ops?: number;
  crashes?: boolean;
  /** 2: a second host syncing another folder with overlapping content. @default 1 */
  hosts?: 1 | 2;
  /** Which of NEW_MOVES may appear. @default none */
  moves?: readonly NewMove[];
}

/**
 * Seeds from here on also draw the ops added for issue 14 (quickMove, sameStatEdit). Seeds below
 * keep the sequences they always had, so a seed reported before still replays the same.
 */
export const ISSUE14_SEEDS_FROM = 1_000;

/** Every fault a profile can set, off (the emulator's defaults). */
const { seed: _seed, hang: _hang, requestsPerMinute: _rpm, ...noFaults } = DEFAULT_FAULTS;
export const CLEAR_FAULTS: Required<FaultProfile> = Object.freeze(noFaults);

// Folder and file names: plain, spaces, unicode (composed, CJK, emoji), characters the API forbids
// in filenames, a name with `__` (lossy flattening), and a long name.
const DIR_NAMES = ['docs', 'photos 2026', 'ünïcödé', '日本語', 'a__b', 'notes', 'q3', 'x y z', 'Ω'];
const FILE_NAMES = [
  'notes.txt',
  'report final.pdf',
  'résumé.md',
  '数据.csv',
  'party 🎉.json',
  'data.bin',
  'README',
  '.hidden.txt',
  'what?.txt',
  'a:b.md',
  'tab\tname.txt',
  'x__y.txt',
  'UPPER.TXT',
  'archive.tar.gz',
  `${'long-name-'.repeat(12)}end.txt`,
];
// Segments of the deep folder: six of them flatten to more than 255 bytes, so the remote name
// needs the path tag.
const DEEP = [
  'deep',
  'level-one-with-a-rather-long-folder-name-xx',
  'level-two-with-a-rather-long-folder-name-yy',
  'niveau trois avec des accents éàü',
  'レベル四の長いフォルダ名です',
  'level-five-with-a-rather-long-folder-name-zz',
];

class Model {
  readonly files = new Set<string>();
  readonly dirs = new Set<string>();

  addFile(p: string): void {
    this.files.add(p);
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i += 1) this.dirs.add(parts.slice(0, i).join('/'));
  }
  /** True if p can be created as a file: not a folder, no file on its way. */
  freeForFile(p: string): boolean {
    if (this.dirs.has(p) || this.files.has(p)) return false;
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i += 1) if (this.files.has(parts.slice(0, i).join('/'))) return false;
    return true;
  }
  freeForDir(d: string): boolean {
    return this.freeForFile(d) && ![...this.files].some((f) => f.startsWith(`${d}/`));
  }
  removeTree(d: string): void {
    for (const f of [...this.files]) if (f.startsWith(`${d}/`)) this.files.delete(f);
    for (const x of [...this.dirs]) if (x === d || x.startsWith(`${d}/`)) this.dirs.delete(x);
  }
  renameTree(from: string, to: string): void {
    const move = (p: string) => `${to}${p.slice(from.length)}`;
    for (const f of [...this.files]) {
      if (f.startsWith(`${from}/`)) {
        this.files.delete(f);
        this.files.add(move(f));
      }
    }
    for (const x of [...this.dirs]) {
      if (x === from || x.startsWith(`${from}/`)) {
        this.dirs.delete(x);
        this.dirs.add(move(x));
      }
    }
    const parts = to.split('/');
    for (let i = 1; i < parts.length; i += 1) this.dirs.add(parts.slice(0, i).join('/'));
  }
}

function content(rng: Rng): Content {
  const kind = rng.weighted({ empty: 6, tiny: 30, small: 40, medium: 16, large: 4 });
  const size =
    kind === 'empty'
      ? 0
      : kind === 'tiny'
        ? rng.int(1, 100)
        : kind === 'small'
          ? rng.int(100, 8192)
          : kind === 'medium'
            ? rng.int(8192, 200_000)
            : rng.int(1_000_000, 3_000_000);
  return { size, fill: rng.int(1, 1_000_000) };
}

function faultProfile(rng: Rng): FaultProfile {
  const kind = rng.weighted({ e500: 2, e529: 2, e429: 2, reset: 2, lost: 3, latency: 2, mixed: 3 });
  const rate = () => Math.round(rng.int(5, 25)) / 100;
  switch (kind) {
    case 'e500':
      return { error500Rate: rate() };
    case 'e529':
      return { error529Rate: rate(), retryAfterMs: rng.int(10, 150) };
    case 'e429':
      return rng.chance(0.8)
        ? { error429Rate: rate(), retryAfterMs: rng.int(10, 200) }
        : { error429Rate: rate(), retryAfterSeconds: 1 };
    case 'reset':
      return { resetRate: rate() };
    case 'lost':
      return { lostResponseRate: Math.round(rng.int(10, 50)) / 100 };
    case 'latency':
      return { latencyMs: rng.int(10, 200) };
    case 'mixed':
      return {
        error500Rate: 0.05,
        error529Rate: 0.05,
        error429Rate: 0.05,
        retryAfterMs: rng.int(10, 100),
        resetRate: 0.05,
        lostResponseRate: 0.1,
        latencyMs: rng.int(0, 50),
      };
  }
}

/** Generates the sequence for `seed`: the same seed and options give the same sequence. */
export function generateSequence(seed: number, options: GenerateOptions = {}): Sequence {
  const rng = new Rng(seed);
  const count = options.ops ?? 30;
  const crashes = options.crashes ?? false;
  const hosts = options.hosts ?? 1;
  const moves = new Set<NewMove>(options.moves ?? []);
  const models = [new Model(), new Model()] as const;
  // The model of the host the current op is for (the helpers below read this binding).
  let model: Model = models[0];
  const ops: HostOp[] = [];
  let counter = 0;

  const pickDir = (): string => {
    const r = rng.float();
    if (r < 0.3 || model.dirs.size === 0) return '';
    if (r < 0.85) return rng.pick([...model.dirs]);
    if (r < 0.93) return rng.pick(DIR_NAMES);
    return DEEP.slice(0, rng.int(2, DEEP.length)).join('/');
  };
  const join = (dir: string, name: string) => (dir ? `${dir}/${name}` : name);
  const newFilePath = (): string | null => {
    for (let tries = 0; tries < 20; tries += 1) {
      const base = rng.pick(FILE_NAMES);
      const name = rng.chance(0.5) ? base : `${counter++}-${base}`;
      const p = join(pickDir(), name);
      if (model.freeForFile(p)) return p;
    }
    return null;
  };
  const newDirPath = (): string | null => {
    for (let tries = 0; tries < 20; tries += 1) {
      const d = join(
        rng.chance(0.6) ? '' : pickDir(),
        rng.chance(0.5) ? rng.pick(DIR_NAMES) : `${rng.pick(DIR_NAMES)} ${counter++}`,
      );
      if (model.freeForDir(d)) return d;
    }
    return null;
  };
  const existing = (): string | null => (model.files.size ? rng.pick([...model.files]) : null);

  // The foreign files: a plain name, a name shaped like ours, and a name a local path could take.
  const foreign = [
    { filename: 'someone-elses-file.pdf', content: { size: rng.int(0, 3000), fill: rng.int(1, 1e6) } },
    { filename: 'shared__report~0123456789.txt', content: { size: rng.int(1, 3000), fill: rng.int(1, 1e6) } },
    { filename: 'notes.txt', content: { size: rng.int(1, 300), fill: rng.int(1, 1e6) } },
  ];

  // A starting tree, so that the first ops have something to edit.
  for (let i = 0, n = rng.int(3, 10); i < n; i += 1) {
    const p = newFilePath();
    if (p) {
      ops.push({ op: 'write', path: p, content: content(rng) });
      model.addFile(p);
    }
  }
  let second: Sequence['second'];
  if (hosts === 2) {
    // The second host's folder: some of the first host's files at the same path with the same
    // bytes, some of its bytes at another path, and files of its own.
    model = models[1];
    const files: { path: string; content: Content }[] = [];
    for (const o of ops) {
      if (o.op !== 'write') continue;
      if (rng.chance(0.6) && model.freeForFile(o.path)) files.push({ path: o.path, content: o.content });
      else if (rng.chance(0.3)) {
        const p = newFilePath();
        if (p) files.push({ path: p, content: o.content });
      }
      const last = files[files.length - 1];
      if (last) model.addFile(last.path);
    }
    for (let i = 0, n = rng.int(1, 4); i < n; i += 1) {
      const p = newFilePath();
      if (p) {
        files.push({ path: p, content: content(rng) });
        model.addFile(p);
      }
    }
    second = { files };
    model = models[0];
  }

  let faultsOn = false;
  // Ops that undo an earlier one a few ops later (unlock a folder, switch the target back).
  const later: { at: number; op: HostOp }[] = [];
  let away = false;
  const extra: Partial<Record<NewMove, number>> = {};
  if (moves.has('loseState')) extra.loseState = 1.5;
  if (moves.has('sameStat')) extra.sameStat = 3;
  if (moves.has('bigRenameDir')) extra.bigRenameDir = 2;
  if (moves.has('unreadableDir')) extra.unreadableDir = 1.5;
  if (moves.has('switchTarget')) extra.switchTarget = 1;

  while (ops.length < count) {
    for (const l of later.filter((x) => x.at <= ops.length)) {
      later.splice(later.indexOf(l), 1);
      ops.push(l.op);
      if (l.op.op === 'switchTarget') away = false;
    }
    const onSecond = hosts === 2 && rng.chance(0.3);
    model = models[onSecond ? 1 : 0];
    const firstOfThisStep = ops.length;
    const kind = rng.weighted<string>({
      // First, so that with weight 0 they leave the older seeds' draws exactly as they were.
      quickMove: seed >= ISSUE14_SEEDS_FROM ? 6 : 0,
      sameStatEdit: seed >= ISSUE14_SEEDS_FROM ? 4 : 0,
      ...(extra as Record<string, number>),
      create: 14,
      overwrite: 10,
      append: 5,
      truncate: 3,
      delete: 7,
      renameWithin: 5,
      renameAcross: 5,
      copy: 2,
      touch: 4,
      burst: 4,
      slowWrite: 1,
      editorSave: 4,
      mkdirTree: 4,
      rmTree: 3,
      renameDir: 2,
      wait: 12,
      faults: 6,
      restart: 2,
      crash: crashes ? 6 : 0,
    });
    switch (kind) {
      case 'create': {
        const p = newFilePath();
        if (!p) break;
        ops.push({ op: 'write', path: p, content: content(rng) });
        model.addFile(p);
        break;
      }
      case 'overwrite':
      case 'append':
      case 'touch':
      case 'truncate': {
        const p = existing();
        if (!p) break;
        if (kind === 'overwrite') ops.push({ op: 'write', path: p, content: content(rng) });
        else if (kind === 'append')
          ops.push({ op: 'append', path: p, content: { size: rng.int(1, 5000), fill: rng.int(1, 1e6) } });
        else if (kind === 'touch') ops.push({ op: 'touch', path: p });
        else ops.push({ op: 'truncate', path: p });
        break;
      }
      case 'delete': {
        const p = existing();
        if (!p) break;
        ops.push({ op: 'delete', path: p });
        model.files.delete(p);
        break;
      }
      case 'renameWithin':
      case 'renameAcross':
      case 'copy': {
        const from = existing();
        if (!from) break;
        const dir = from.includes('/') ? from.slice(0, from.lastIndexOf('/')) : '';
        let to: string | null;
        if (kind !== 'copy' && rng.chance(0.2) && model.files.size > 1) {
          // Rename over another existing file (the file at `to` is replaced).
          to = existing();
          if (to === from) to = null;
        } else if (kind === 'renameWithin') {
          to = join(dir, `${counter++}-${rng.pick(FILE_NAMES)}`);
          if (!model.freeForFile(to)) to = null;
        } else to = newFilePath();
        if (!to) break;
        if (kind === 'copy') ops.push({ op: 'copy', from, to });
        else {
          ops.push({ op: 'rename', from, to });
          model.files.delete(from);
        }
        model.addFile(to);
        break;
      }
      case 'burst': {
        const p = rng.chance(0.7) ? existing() : newFilePath();
        if (!p) break;
        const writes = Array.from({ length: rng.int(3, 12) }, () => ({
          size: rng.int(0, 20_000),
          fill: rng.int(1, 1e6),
        }));
        ops.push({ op: 'burst', path: p, writes, gapMs: rng.int(0, 40) });
        model.addFile(p);
        break;
      }
      case 'slowWrite': {
        const p = newFilePath();
        if (!p) break;
        ops.push({
          op: 'slowWrite',
          path: p,
          content: { size: rng.int(500_000, 3_000_000), fill: rng.int(1, 1e6) },
          chunks: rng.int(3, 8),
          gapMs: rng.int(10, 60),
        });
        model.addFile(p);
        break;
      }
      case 'editorSave': {
        const p = rng.chance(0.8) ? existing() : newFilePath();
        if (!p) break;
        const slash = p.lastIndexOf('/');
        const temp = rng.chance(0.5) ? `${p}.tmp` : `${p.slice(0, slash + 1)}.${p.slice(slash + 1)}.swp`;
        ops.push({ op: 'editorSave', path: p, temp, content: content(rng) });
        model.addFile(p);
        break;
      }
      case 'mkdirTree': {
        const d = newDirPath();
        if (!d) break;
        const names = new Set<string>();
        for (let i = 0, n = rng.int(1, 6); i < n; i += 1)
          names.add(rng.chance(0.3) ? `sub/${rng.pick(FILE_NAMES)}` : rng.pick(FILE_NAMES));
        // A name may not be both a file and a folder (README vs sub/...) - FILE_NAMES has no "sub".
        const files = [...names].map((name) => ({ name, content: content(rng) }));
        ops.push({ op: 'mkdirTree', dir: d, files });
        model.dirs.add(d);
        for (const f of files) model.addFile(`${d}/${f.name}`);
        break;
      }
      case 'rmTree': {
        if (model.dirs.size === 0) break;
        const d = rng.pick([...model.dirs]);
        ops.push({ op: 'rmTree', dir: d });
        model.removeTree(d);
        break;
      }
      case 'renameDir': {
        if (model.dirs.size === 0) break;
        const from = rng.pick([...model.dirs]);
        const to = newDirPath();
        if (!to || to.startsWith(`${from}/`)) break;
        ops.push({ op: 'renameDir', from, to });
        model.renameTree(from, to);
        break;
      }
      case 'quickMove': {
        const p = newFilePath();
        if (!p) break;
        model.addFile(p);
        let to = rng.chance(0.4) ? existing() : newFilePath();
        if (to === p) to = null;
        if (!to) {
          model.files.delete(p);
          break;
        }
        ops.push({ op: 'quickMove', path: p, to, content: content(rng), delayMs: rng.int(700, 1300) });
        model.files.delete(p);
        model.addFile(to);
        break;
      }
      case 'sameStatEdit': {
        const p = existing();
        if (!p) break;
        ops.push({ op: 'sameStatEdit', path: p, fill: rng.int(1, 1_000_000) });
        break;
      }
      case 'wait':
        ops.push({ op: 'wait', ms: rng.chance(0.2) ? rng.int(600, 1500) : rng.int(0, 300) });
        break;
      case 'faults':
        if (faultsOn && rng.chance(0.5)) {
          ops.push({ op: 'clearFaults' });
          faultsOn = false;
        } else {
          ops.push({ op: 'faults', set: faultProfile(rng) });
          faultsOn = true;
        }
        break;
      case 'restart':
        ops.push({ op: 'restart' });
        break;
      case 'crash':
        // A crash right after edits (uploads in flight) or after a short wait (mid-upload).
        if (rng.chance(0.5)) ops.push({ op: 'wait', ms: rng.int(0, 250) });
        ops.push({ op: 'crash', waitReady: rng.chance(0.3) });
        break;
      case 'loseState':
        ops.push({ op: 'loseState', adopt: rng.chance(0.5), settled: rng.chance(0.5) });
        break;
      case 'sameStat': {
        const p = existing();
        if (!p) break;
        ops.push({ op: 'sameStat', path: p, fill: rng.int(1, 1e6) });
        break;
      }
      case 'bigRenameDir': {
        // A folder of several files, given time to sync, then renamed (a move, not a loss).
        const d = newDirPath();
        const to = newDirPath();
        if (!d || !to || to === d || to.startsWith(`${d}/`) || d.startsWith(`${to}/`)) break;
        const files = Array.from({ length: rng.int(4, 12) }, (_, i) => ({
          name: `${i}-${rng.pick(FILE_NAMES)}`,
          content: { size: rng.int(0, 20_000), fill: rng.int(1, 1e6) },
        }));
        ops.push({ op: 'mkdirTree', dir: d, files });
        model.dirs.add(d);
        for (const f of files) model.addFile(`${d}/${f.name}`);
        ops.push({ op: 'wait', ms: rng.int(800, 1600) });
        ops.push({ op: 'renameDir', from: d, to });
        model.renameTree(d, to);
        break;
      }
      case 'unreadableDir': {
        if (model.dirs.size === 0) break;
        const d = rng.pick([...model.dirs]);
        ops.push({ op: 'lockDir', dir: d });
        later.push({
          at: ops.length + rng.int(2, 8),
          op: { op: 'unlockDir', dir: d, ...(onSecond ? { host: 2 as const } : {}) },
        });
        break;
      }
      case 'switchTarget':
        if (onSecond || away) break;
        ops.push({ op: 'switchTarget', to: 'other' });
        later.push({ at: ops.length + rng.int(2, 8), op: { op: 'switchTarget', to: 'home' } });
        away = true;
        break;
    }
    if (onSecond) {
      for (let i = firstOfThisStep; i < ops.length; i += 1) {
        const o = ops[i] as HostOp;
        if (!['wait', 'faults', 'clearFaults'].includes(o.op)) o.host = 2;
      }
    }
  }
  // Whatever is still to be undone, undone at the end (a folder left unreadable, the other target).
  for (const l of later) ops.push(l.op);
  return { seed, crashes, foreign, ops, ...(second ? { second } : {}) };
}

/** The bytes of a Content: a 4 KiB seeded block repeated, so large files cost little to make. */
export function contentFor(c: Content): Buffer {
  if (c.size === 0) return Buffer.alloc(0);
  const next = mulberry32(c.fill ^ 0x9e3779b9);
  const block = Buffer.alloc(Math.min(4096, c.size));
  for (let i = 0; i < block.length; i += 1) block[i] = Math.floor(next() * 256);
  const out = Buffer.alloc(c.size);
  for (let off = 0; off < c.size; off += block.length) block.copy(out, off, 0, Math.min(block.length, c.size - off));
  // The size in the first bytes keeps equal fills of different sizes apart.
  out.write(`${c.size}:`, 0, 'latin1');
  return out;
}

/** One op per line, for printing a sequence (JSON, so it can be pasted into --replay). */
export function formatSequence(seq: Sequence): string {
  const second = seq.second ? `"second":${JSON.stringify(seq.second)},` : '';
  return [
    `{"seed":${seq.seed},"crashes":${seq.crashes},"foreign":${JSON.stringify(seq.foreign)},${second}"ops":[`,
    ...seq.ops.map((o, i) => `  ${JSON.stringify(o)}${i < seq.ops.length - 1 ? ',' : ''}`),
    ']}',
  ].join('\n');
}
