/** `files list|get|rm|download|upload`: the raw Files API, through our client (both shapes). */
import { statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { Command } from 'commander';
import type { FilesApi } from '../../api/types.js';
import type { FileMetadata } from '../../files-api/wire.js';
import { createClientFor } from '../../daemon/create-client.js';
import { EXIT_OK } from '../../daemon/exit-codes.js';
import { ConfigError } from '../../errors.js';
import {
  addCommonOptions,
  loadConfig,
  printJson,
  reportError,
  type CommandEnv,
  type CommonOptions,
} from '../common.js';
import { formatBytes, formatRemote } from '../format.js';

type Flags = CommonOptions & { json?: boolean };

function clientFor(env: CommandEnv, opts: CommonOptions): FilesApi {
  const { config, warnings } = loadConfig(env, opts);
  for (const w of warnings) env.err.write(`warning: ${w}\n`);
  return createClientFor(config);
}

function describeFile(f: FileMetadata): string {
  return `${f.id}\n  filename:   ${f.filename}\n  size:       ${formatBytes(f.size_bytes)} (${f.size_bytes} bytes)\n  mime type:  ${f.mime_type}\n  created:    ${f.created_at}\n${f.expires_at !== undefined ? `  expires:    ${f.expires_at ?? 'never'}\n` : ''}  downloadable: ${f.downloadable ?? false}\n`;
}

export function filesCommand(env: CommandEnv, done: (code: number) => void): Command {
  const withClient = (fn: (client: FilesApi) => Promise<void>) => async (): Promise<void> => {
    let client: FilesApi | null = null;
    try {
      // The last argument commander passes is the Command; its opts() are this subcommand's.
      client = clientFor(env, current);
      await fn(client);
      done(EXIT_OK);
    } catch (err) {
      done(reportError(env, err));
    } finally {
      await client?.close().catch(() => undefined);
    }
  };
  let current: Flags = {};
  const sub = (name: string) =>
    addCommonOptions(new Command(name))
      .option('--json', 'print JSON')
      .hook('preAction', (cmd) => {
        current = cmd.opts<Flags>();
      });

  const files = new Command('files').description(
    'the raw Files API operations (ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL)',
  );
  files.addCommand(
    sub('list')
      .description('every remote file, newest first (pages through the whole listing)')
      .action(
        withClient(async (client) => {
          const all: FileMetadata[] = [];
          for await (const f of client.list()) all.push(f);
          if (current.json) printJson(env, all);
          else env.out.write(formatRemote(all));
        }),
      ),
  );
  files.addCommand(
    sub('get')
      .description("a file's metadata")
      .argument('<file-id>')
      .action((id: string) =>
        withClient(async (client) => {
          const f = await client.retrieve(id);
          if (current.json) printJson(env, f);
          else env.out.write(describeFile(f));
        })(),
      ),
  );
  files.addCommand(
    sub('rm')
      .description(
        'delete a remote file (the index is not told: a managed file is uploaded again at the next reconcile)',
      )
      .argument('<file-id>')
      .action((id: string) =>
        withClient(async (client) => {
          const r = await client.delete(id);
          if (current.json) printJson(env, r);
          else env.out.write(`deleted ${r.id}\n`);
        })(),
      ),
  );
  files.addCommand(
    sub('download')
      .description("download a file's content (only files the API marks downloadable)")
      .argument('<file-id>')
      .option('-o, --output <file>', 'write to this file instead of stdout')
      .action((id: string, o: { output?: string }) =>
        withClient(async (client) => {
          if (o.output) {
            await client.download(id, { toPath: resolve(env.ctx.cwd, o.output) });
            if (current.json) printJson(env, { id, output: o.output });
            else env.err.write(`saved ${id} to ${o.output}\n`);
          } else {
            const bytes = await client.download(id);
            if (bytes) env.ctx.stdout.write(bytes);
          }
        })(),
      ),
  );
  files.addCommand(
    sub('upload')
      .description('upload a local file (not recorded in the index)')
      .argument('<path>')
      .option('--name <filename>', 'the remote filename (default: the base name)')
      .option('--mime-type <type>', 'default: from the extension')
      .action((path: string, o: { name?: string; mimeType?: string }) =>
        withClient(async (client) => {
          const full = resolve(env.ctx.cwd, path);
          // Said before any request: reading a directory would fail mid-upload with a bare EISDIR.
          if (statSync(full, { throwIfNoEntry: false })?.isDirectory()) {
            throw new ConfigError(`${path} is a directory; files upload takes one file`, {
              hint: 'name a file; to sync a whole folder, use claude-filesync sync --dir <folder>',
            });
          }
          const r = await client.upload(
            { path: full },
            { filename: o.name ?? basename(path), ...(o.mimeType ? { mimeType: o.mimeType } : {}) },
          );
          if (current.json) printJson(env, r.file);
          else env.out.write(describeFile(r.file));
        })(),
      ),
  );
  return files;
}
