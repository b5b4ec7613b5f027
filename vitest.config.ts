import { defineConfig } from 'vitest/config';

// The pure and in-memory tests: no built CLI, no real watcher, no daemon. `npm run test:unit` runs these alone.
const unit = ['test/unit/**/*.test.ts', 'test/emulator/**/*.test.ts', 'test/architecture.test.ts'];

// Two forks, not vitest's default of availableParallelism() - 1 (one fork on a 2-core machine). The slow lane
// mostly waits in real time (the whole suite used 1m45s of CPU in 8m43s), so a second fork nearly halves it:
// measured on 8 slow files that are not timing-sensitive (e2e cli and metrics, client-emulator, bad-input-disk,
// scanner, ownership, both SDK conformance suites), 63 s with one fork, 36 s with two, 30 s with three, with no
// file more than ~10 % slower and no failure. A third fork gains little more (the longest file bounds it) and
// puts three busy processes on two cores whenever the CPU-bound files (random, crash) run beside the watcher
// suites, whose debounce windows run on real timers. VITEST_MAX_WORKERS overrides it; with projects in the
// config the --maxWorkers flag does not reach them.
const maxWorkers = Number(process.env.VITEST_MAX_WORKERS ?? 2);

export default defineConfig({
  test: {
    exclude: ['dist/**', 'node_modules/**'],
    // better-sqlite3 is a native addon and several suites spawn the CLI: forks keep them apart.
    pool: 'forks',
    maxWorkers,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: unit } },
      // Everything else: real folders and watchers, the built CLI (`pretest` builds it), crash and random runs.
      {
        extends: true,
        test: { name: 'slow', include: ['test/**/*.test.ts'], exclude: [...unit, 'dist/**', 'node_modules/**'] },
      },
    ],
  },
});
