/**
 * A forwarding node:http proxy on 127.0.0.1 that stands between a client and the emulator: it
 * records every request (with its body) and lets a test answer in the emulator's place where the
 * emulator itself cannot misbehave in the needed way. Used by the bad-input and security tests.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import type { Emulator } from '../../src/emulator/index.js';

export interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface Upstream {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * Answers one request in place of the target; `forward()` asks the target. Returning false lets
 * the request through unchanged (as if there were no handler).
 */
export type ProxyHandler = (
  req: Seen,
  res: ServerResponse,
  forward: () => Promise<Upstream>,
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler that answers by itself returns nothing.
) => Promise<boolean | void> | boolean | void;

export interface RecordingProxy {
  url: string;
  /** Every request, in order of arrival. */
  seen: Seen[];
  handler: ProxyHandler | null;
  close(): Promise<void>;
}

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Writes an upstream answer as it came (with a content-length, since the body is whole). */
export function sendUpstream(res: ServerResponse, up: Upstream): void {
  const headers = { ...up.headers };
  delete headers['transfer-encoding'];
  headers['content-length'] = String(up.body.length);
  res.writeHead(up.status, headers);
  res.end(up.body);
}

export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const t = new URL(target);
  const proxy: RecordingProxy = { url: '', seen: [], handler: null, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const seen: Seen = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body: await readAll(req),
      };
      proxy.seen.push(seen);
      const forward = () =>
        new Promise<Upstream>((resolve, reject) => {
          const headers = { ...req.headers, host: t.host };
          const up = httpRequest(
            { host: t.hostname, port: t.port, method: seen.method, path: seen.url, headers },
            (r) => {
              readAll(r).then((body) => resolve({ status: r.statusCode ?? 502, headers: r.headers, body }), reject);
            },
          );
          up.on('error', reject);
          up.end(seen.body);
        });
      if (proxy.handler && (await proxy.handler(seen, res, forward)) !== false) return;
      sendUpstream(res, await forward());
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}

/** The emulator as a harness sees it, but reached through `url` (the proxy). */
export function behind(emulator: Emulator, url: string): Emulator {
  return new Proxy(emulator, {
    get(target, prop) {
      if (prop === 'url') return url;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
