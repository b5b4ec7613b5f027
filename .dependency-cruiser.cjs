/**
 * The architecture, checked: `npx depcruise src --config .dependency-cruiser.cjs` (run by
 * test/architecture.test.ts, so `npm test` fails on a violation). Each rule says why it exists;
 * README's "How it works" draws the layers these rules keep apart.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycle',
      comment:
        'Folders in src/ form layers: a folder that imports another must not be imported back by it ' +
        '(sync<->daemon, control<->daemon and sync<->reconcile were such cycles). Put the shared ' +
        'contract in the lower folder instead.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-module-cycle',
      comment: 'A module cycle makes load order matter and the pieces impossible to test alone.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'sqlite-only-in-index',
      comment: 'The index owns the database: everything else asks src/index/ (src/index/store.ts and its parts).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/index/' },
      to: { path: '^better-sqlite3$|node_modules/better-sqlite3/' },
    },
    {
      name: 'http-only-in-api-and-emulator',
      comment: 'Every request to the Files API goes through src/api/ (one retry loop, one 429 answer); the emulator serves HTTP itself.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(api|emulator)/' },
      to: { path: '^undici$|node_modules/undici/' },
    },
    {
      name: 'cli-not-engine-internals',
      comment:
        'CLI commands talk to the engine through its contract (src/sync/types.ts, the report builders in ' +
        'src/sync/report.ts), the daemon (the composition root: src/daemon/) and the control socket. ' +
        'Planning, the queue, the executor, reconcile, the scanner and the watcher are internals.',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/(reconcile|scan|watch)/|^src/sync/(?!(types|report)\\.ts$)' },
    },
    {
      name: 'cli-reads-index-only-through-offline',
      comment:
        'Without a daemon, status/ls/id read the index read-only through one facade: src/cli/ask-daemon.ts ' +
        '(ask the daemon, else the index) and src/cli/offline.ts (the read-only answers). No other CLI ' +
        'module touches the index; only the daemon writes it.',
      severity: 'error',
      from: { path: '^src/cli/', pathNot: '^src/cli/(offline|ask-daemon)\\.ts$' },
      to: { path: '^src/index/' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // NodeNext: the sources import './x.js', which is ./x.ts on disk.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
