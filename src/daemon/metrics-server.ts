/**
 * The daemon's HTTP endpoint for monitoring (off unless metrics.listen is set): /metrics in the
 * Prometheus text format, /healthz (the process answers) and /readyz (the start-up reconcile has
 * finished and the key was accepted). Gauges are read from the engine's status at scrape time;
 * counters mirror the daemon's SyncMeter, which the client and gate hooks feed. Nothing here
 * names a file: the metrics are counts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { FilesyncError, ErrorCode } from '../errors.js';
import { createMetricsRegistry, type MetricsSources, type Readiness } from './metrics-registry.js';

export interface MetricsServerOptions extends MetricsSources {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
}

export interface MetricsServer {
  /** http://host:port, with the port actually bound. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and ends idle connections. Idempotent. */
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const registry = createMetricsRegistry(options);
  const server = createServer((req, res) => {
    handle(req, res, registry, options.readiness).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    });
  });
  await listen(server, options.host, options.port);
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  registry: Registry,
  readiness: () => Readiness,
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
    return;
  }
  switch (path) {
    case '/metrics': {
      const body = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    case '/healthz':
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok\n');
      return;
    case '/readyz': {
      const r = readiness();
      res
        .writeHead(r.ready ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' })
        .end(r.ready ? 'ready\n' : `not ready: ${r.reason}\n`);
      return;
    }
    default:
      res
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end('not found: try /metrics, /healthz or /readyz\n');
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      reject(
        new FilesyncError(ErrorCode.MetricsListen, `cannot serve metrics on ${where}: ${err.code ?? err.message}`, {
          hint:
            err.code === 'EADDRINUSE'
              ? 'another program uses that port: pick another with metrics.listen or --metrics'
              : 'use an address of this machine, such as 127.0.0.1',
          cause: err,
        }),
      );
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}
