/**
 * Readers of our remote names that only the tests need: an oracle for what remoteNameFor
 * (src/plan/naming.ts) must give, kept apart from it so that it does not agree with its bugs.
 */
import { filenameProblem } from '../../src/files-api/filename-rules.js';
import { MAX_REMOTE_NAME_BYTES } from '../../src/plan/naming.js';

/** DEL and lone surrogates: never sent (a surrogate has no UTF-8 form). */
const NEVER_SENT = /[\u007f\ud800-\udfff]/u;
/** The shape remoteNameFor produces: `…~{10 hex}{.ext}`. */
const MANAGED = /^(.*)~([0-9a-f]{10})(\.[A-Za-z0-9]{1,10})?$/su;

/** The 10-hex content tag carried by a managed name, or null if the name is not ours. */
export function contentTagOf(name: string): string | null {
  const m = MANAGED.exec(name);
  return m ? (m[2] ?? null) : null;
}

/** True when the name has the shape remoteNameFor produces (`…~{10 hex}{.ext}`). */
export function isManagedName(name: string): boolean {
  return MANAGED.test(name);
}

/** Why the API would refuse this filename, or why we would never send it; null if it is acceptable. */
export function validateRemoteName(name: string): string | null {
  if (name.length === 0) return 'the name is empty';
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_REMOTE_NAME_BYTES) return `the name is ${bytes} bytes long, more than ${MAX_REMOTE_NAME_BYTES}`;
  const problem = filenameProblem(name);
  if (problem) return `the name ${problem}`;
  const bad = NEVER_SENT.exec(name);
  if (bad)
    return `the name contains the character U+${(bad[0].codePointAt(0) ?? 0).toString(16).padStart(4, '0')}, which is never sent`;
  return null;
}
