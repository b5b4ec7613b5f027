import { defineConfig } from 'vitest/config';

const exclude = ['dist/**', 'node_modules/**'];

// The pure and in-memory tests: no built CLI, no real watcher, no daemon. `npm run test:unit` runs these alone.
const unit = ['test/unit/**/*.test.ts', 'test/emulator/**/*.test.ts', 'test/architecture.test.ts'];

// The files whose assertions ride on the engine's real debounce windows and retry timers (a watcher
// event settling within settleMs, "at most N requests before the 401 stopped them"). They run in a
// group of their own, after the others, so that no CPU-bound file (the randomized and crash runs,
// the CLI spawns) shares the two cores with them: beside random.test.ts, messages-ready's "at most
// 4 refused uploads" saw 5. Once the watcher path runs on an injected scheduler, most can leave.
const timed = [
  'test/integration/bad-input-api.test.ts',
  'test/integration/bad-input-local.test.ts',
  'test/integration/daemon-messages.test.ts',
  'test/integration/engine.test.ts',
  'test/integration/faults.test.ts',
  'test/integration/live-reconcile.test.ts',
  'test/integration/messages-ready.test.ts',
  'test/integration/moves.test.ts',
  'test/integration/new-folder-watch.test.ts',
  'test/integration/ownership.test.ts',
  'test/integration/quick-move.test.ts',
  'test/integration/rate-limit-waiting.test.ts',
  'test/integration/same-stat-edit.test.ts',
  'test/integration/security.test.ts',
  'test/integration/status-activity.test.ts',
  'test/integration/upload-while-scanning.test.ts',
  'test/integration/watcher-fallback.test.ts',
  'test/integration/watcher.test.ts',
];

// Two forks, not vitest's default of availableParallelism() - 1 (one fork on a 2-core machine). The slow
// files mostly wait in real time (the whole suite used 1m45s of CPU in 8m43s), so a second fork nearly
// halves them: measured on 8 slow files that are not timing-sensitive (e2e cli and metrics,
// client-emulator, bad-input-disk, scanner, ownership, both SDK conformance suites), 63 s with one fork,
// 36 s with two, 30 s with three, no file more than ~10 % slower, no failure. A third fork gains little
// more (the longest file bounds it) and puts three busy processes on two cores. VITEST_MAX_WORKERS
// overrides it (with projects in the config the --maxWorkers flag does not reach them).
const maxWorkers = Number(process.env.VITEST_MAX_WORKERS ?? 2);

export default defineConfig({
  test: {
    exclude,
    // better-sqlite3 is a native addon and several suites spawn the CLI: forks keep them apart.
    pool: 'forks',
    maxWorkers,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: unit } },
      // Real folders, the built CLI (`pretest` builds it), crash and randomized runs: beside the unit tests.
      {
        extends: true,
        test: { name: 'slow', include: ['test/**/*.test.ts'], exclude: [...unit, ...timed, ...exclude] },
      },
      // One file at a time: two of these side by side flaked in 2 of 3 full runs (a chokidar create
      // seen as a change, a live-reconcile change not synced within 20 s), though each passes alone.
      { extends: true, test: { name: 'timed', include: timed, maxWorkers: 1, sequence: { groupOrder: 1 } } },
    ],
  },
});
