/**
 * Counts a host's upload attempts where they leave it: an undici dispatcher that sees every
 * request its Files client sends, retries included. Per host, so that two daemons on one
 * emulator can each be held to their own upload bound.
 */
import { Agent, type Dispatcher } from 'undici';

const UPLOAD = /^\/v1\/files(\?|$)/;

export function countingDispatcher(onUpload: () => void): Dispatcher {
  return new Agent({ keepAliveTimeout: 30_000 }).compose((dispatch) => (opts, handler) => {
    if (opts.method === 'POST' && UPLOAD.test(opts.path)) onUpload();
    return dispatch(opts, handler);
  });
}
