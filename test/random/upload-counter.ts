/**
 * Counts a host's upload attempts where they leave it: a streaming pass-through proxy on
 * 127.0.0.1 in front of an emulator, one per host and target, that counts every POST /v1/files
 * (retries included). It lives in the test process, so a SIGKILLed daemon loses no count, and
 * two daemons on one emulator can each be held to their own upload bound. Everything else
 * (status, headers, resets, lost answers) passes through as the emulator made it.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const UPLOAD = /^\/v1\/files(\?|$)/;

export interface UploadCounter {
  /** The URL the daemon is given as its API base URL. */
  url: string;
  uploads: number;
  close(): Promise<void>;
}

export async function startUploadCounter(target: string): Promise<UploadCounter> {
  const t = new URL(target);
  const counter: UploadCounter = { url: '', uploads: 0, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    if (req.method === 'POST' && UPLOAD.test(req.url ?? '')) counter.uploads += 1;
    const up = httpRequest(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, host: t.host } },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
        r.on('error', () => res.destroy());
      },
    );
    // A reset or a lost answer upstream is a reset here: the client sees what it would have seen.
    up.on('error', () => res.destroy());
    req.on('error', () => up.destroy());
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  counter.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  counter.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return counter;
}
