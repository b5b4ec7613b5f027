import { resolve } from 'node:path';
import { Command } from 'commander';
import { runEmulatorCommand } from '../../emulator/index.js';
import { EXIT_OK } from '../../daemon/exit-codes.js';
import { reportError, type CommandEnv } from '../common.js';
import { parsePort } from '../parse.js';

export function emulatorCommand(env: CommandEnv, done: (code: number) => void): Command {
  return new Command('emulator')
    .description('run the Files API emulator on 127.0.0.1, to try everything offline and test your own scripts')
    .requiredOption('--port <n>', 'port to listen on (0 picks a free one)', parsePort)
    .option('--data <dir>', 'keep files in this folder across restarts (default: in memory)')
    .option('--key <key>', 'accept only this key (default: any non-empty key)')
    .action(async (opts: { port: number; data?: string; key?: string }) => {
      try {
        env.redactor.add(opts.key);
        const emulator = await runEmulatorCommand(
          {
            port: opts.port,
            ...(opts.data ? { dataDir: resolve(env.ctx.cwd, opts.data) } : {}),
            ...(opts.key ? { key: opts.key } : {}),
          },
          (line) => env.out.write(`${line}\n`),
        );
        await new Promise<void>((res) => {
          const stop = (): void => {
            env.ctx.signals.off('SIGINT', stop);
            env.ctx.signals.off('SIGTERM', stop);
            res();
          };
          env.ctx.signals.on('SIGINT', stop);
          env.ctx.signals.on('SIGTERM', stop);
        });
        await emulator.close();
        done(EXIT_OK);
      } catch (err) {
        done(reportError(env, err));
      }
    });
}
