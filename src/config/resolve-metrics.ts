import { ConfigError } from '../errors.js';
import { CONFIG_DEFAULTS as D } from './defaults.js';
import type { FileConfig } from './schema.js';
import type { Config } from './types.js';

/**
 * The metrics endpoint says how many files are in which state and how the daemon is doing; it is
 * served on loopback only unless the configuration says otherwise in so many words.
 */
export function resolveMetrics(
  m: FileConfig['metrics'],
  sourceOf: (field: string) => string | undefined,
): Config['metrics'] {
  const allowNonLoopback = m?.allowNonLoopback ?? D.metrics.allowNonLoopback;
  const listen = m?.listen ?? D.metrics.listen;
  if (listen === null) return { listen: null, allowNonLoopback };
  const parsed = parseListen(listen);
  const source = sourceOf('metrics.listen') ?? '';
  if (parsed === null) {
    throw new ConfigError(
      `metrics.listen must be host:port with a port from 1 to 65535, got ${JSON.stringify(listen)} (${source})`,
      {
        hint: 'for example "127.0.0.1:9464"',
      },
    );
  }
  if (!allowNonLoopback && !isLoopback(parsed.host)) {
    throw new ConfigError(
      `metrics.listen ${listen} (${source}) is not a loopback address: the metrics would be served to the network`,
      {
        hint: 'use 127.0.0.1:<port> or [::1]:<port>, or set metrics.allowNonLoopback to true in the configuration file',
      },
    );
  }
  return { listen: parsed, allowNonLoopback };
}

export function parseListen(value: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1] ?? m[2]!, port };
}

/** 127.0.0.0/8, ::1 and localhost; a name that resolves elsewhere is not trusted to be local. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
