/**
 * The architecture, checked: `npx depcruise src --config .dependency-cruiser.cjs` (run by
 * test/architecture.test.ts, so `npm test` fails on a violation). Each rule says why it exists;
 * ARCHITECTURE.md's module table says what each folder owns and may import.
 */
const IO_MODULES =
  '^(node:)?(fs|fs/promises|net|http|https|http2|dgram|dns|child_process|worker_threads|cluster|tls)$|' +
  '^(undici|better-sqlite3|chokidar|@parcel/watcher|p-queue|pino)$|node_modules/(undici|better-sqlite3|chokidar|@parcel/watcher|p-queue|pino)/';

module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycle',
      comment:
        'Folders in src/ form layers: a folder that imports another must not be imported back by it. ' +
        'Put the shared contract in the lower folder instead.',
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
      name: 'planner-is-pure',
      comment:
        'src/plan/ decides; it does no IO: no filesystem, network, child process, database, watcher, ' +
        'queue or logger (the clock and timers are checked by test/architecture.test.ts). It reads facts ' +
        'handed to it and returns decisions, so its tests need no folder, no server and no waiting.',
      severity: 'error',
      from: { path: '^src/plan/' },
      to: { path: IO_MODULES, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'planner-imports-only-pure-parts',
      comment:
        'What the planner may use at run time: itself, the Files API rules (src/files-api/), the error ' +
        'registry, the retry policy (data) and the API error classes (to classify errors), the owner tag and the path rules (src/scan/inside.ts) and the row rule remoteHolds (src/store/types.ts). Types from anywhere are fine.',
      severity: 'error',
      from: { path: '^src/plan/' },
      to: {
        path: '^src/',
        pathNot: '^src/(plan/|files-api/|errors\\.ts$|api/(retry|errors)\\.ts$|config/owner-tag\\.ts$|scan/inside\\.ts$|store/types\\.ts$)',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'rate-control-knows-no-files',
      comment:
        'src/rate/ paces requests: it knows answers and clocks, never files, the index, the planner or jobs ' +
        '(so one gate can serve every folder on a key).',
      severity: 'error',
      from: { path: '^src/rate/' },
      to: { path: `^src/(store|state-dir|scan|watch|plan|jobs|engine|reconcile|daemon|cli|control)/|${IO_MODULES}` },
    },
    {
      name: 'files-api-is-a-leaf',
      comment:
        'src/files-api/ holds the API\'s wire types, limits and filename rules, shared by the client, the ' +
        'emulator and the configuration: it imports nothing of ours.',
      severity: 'error',
      from: { path: '^src/files-api/' },
      to: { path: '^src/(?!files-api/)' },
    },
    {
      name: 'clock-is-a-leaf',
      comment:
        'src/clock/ is the one Scheduler every timer goes through (virtual in tests): it imports nothing of ' +
        'ours, so any layer may take one.',
      severity: 'error',
      from: { path: '^src/clock/' },
      to: { path: '^src/(?!clock/)' },
    },
    {
      name: 'emulator-not-the-client',
      comment:
        'The emulator is an independent fake of the API: sharing the client\'s code would make it agree with ' +
        'the client\'s bugs. It shares only src/files-api/ (the API\'s own rules) and the error registry.',
      severity: 'error',
      from: { path: '^src/emulator/' },
      to: { path: '^src/', pathNot: '^src/(emulator/|files-api/|errors\\.ts$)' },
    },
    {
      name: 'store-knows-no-engine',
      comment: 'The sqlite store keeps facts; it must not import what decides or acts on them.',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/(plan|rate|jobs|engine|reconcile|scan|watch|daemon|cli|control)/' },
    },
    {
      name: 'sqlite-only-in-store',
      comment: 'The store owns the database: everything else asks src/store/ (store.ts and its parts).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/store/' },
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
      name: 'cli-and-control-see-only-the-engine-face',
      comment:
        'The CLI and the control socket talk to the engine through its public face (src/engine/contract.ts, ' +
        'the report and manifest builders), the daemon (the composition root) and the control socket. The ' +
        'planner, rate control, jobs, reconcile, the scanner, the watcher and the engine\'s insides are internals.',
      severity: 'error',
      from: { path: '^src/(cli|control)/' },
      to: {
        path: '^src/(plan|rate|jobs|reconcile|scan|watch)/|^src/engine/(?!(contract|report|manifest)\\.ts$)',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'cli-reads-store-only-through-offline',
      comment:
        'Without a daemon, status/ls/id read the index read-only through one facade: src/cli/ask-daemon.ts ' +
        '(ask the daemon, else the index) and src/cli/offline.ts (the read-only answers). No other CLI ' +
        'module touches the store; only the daemon writes it.',
      severity: 'error',
      from: { path: '^src/cli/', pathNot: '^src/cli/(offline|ask-daemon)\\.ts$' },
      to: { path: '^src/store/' },
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
