/** `claude-filesync emulator`: starts the emulator and says where it is (the CLI wires the flags). */
import { Emulator } from './emulator.js';
import type { FaultConfig } from '../emulator-types.js';

export interface EmulatorCommandOptions {
  port: number;
  dataDir?: string;
  key?: string;
  maxFileBytes?: number;
  storageLimitBytes?: number;
  workspaceId?: string;
  faults?: Partial<FaultConfig>;
}

export async function runEmulatorCommand(opts: EmulatorCommandOptions, log: (line: string) => void): Promise<Emulator> {
  const emulator = await Emulator.start({
    port: opts.port,
    dataDir: opts.dataDir ?? null,
    apiKey: opts.key ?? null,
    ...(opts.maxFileBytes !== undefined ? { maxFileBytes: opts.maxFileBytes } : {}),
    ...(opts.storageLimitBytes !== undefined ? { storageLimitBytes: opts.storageLimitBytes } : {}),
    ...(opts.workspaceId !== undefined ? { workspaceId: opts.workspaceId } : {}),
    ...(opts.faults ? { faults: opts.faults } : {}),
  });
  const storage = opts.dataDir ? `folder ${opts.dataDir}` : 'memory (lost on exit)';
  const keyMode = opts.key ? 'only the given key' : 'any non-empty key';
  log(
    `Files API emulator listening on ${emulator.url} (storage: ${storage}; accepts ${keyMode}; workspace ${emulator.workspaceId}; faults: PUT ${emulator.url}/_emulator/faults)`,
  );
  return emulator;
}
