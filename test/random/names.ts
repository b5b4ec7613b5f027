/**
 * Reading our remote filenames in the randomized checks: the content tag, the path tag and the
 * owner tag (issue 14). The decided format is `{stem}~o{owner8}~{content10}{ext}`, and with a
 * path tag `{stem}~p{path8}~o{owner8}~{content10}{ext}`; names without `~o…~` are the format
 * before owner tags. The checks attribute remote copies to hosts by this tag when the daemon
 * writes it, and by the hosts' indexes when it does not.
 */
import * as naming from '../../src/plan/naming.js';

const NAME = /^(.*?)(?:~p([0-9a-f]{8}))?(?:~o([0-9a-f]{8}))?~([0-9a-f]{10})(\.[A-Za-z0-9]{1,10})?$/su;

export interface ParsedName {
  stem: string;
  pathTag: string | null;
  owner: string | null;
  content: string;
  ext: string;
}

/** The parts of a name of ours (with or without an owner tag), or null for another tool's name. */
export function parseRemoteName(name: string): ParsedName | null {
  const m = NAME.exec(name);
  if (!m) return null;
  return { stem: m[1] ?? '', pathTag: m[2] ?? null, owner: m[3] ?? null, content: m[4] ?? '', ext: m[5] ?? '' };
}

/** The owner tag a name carries, or null. src/plan/naming.ts's own export when it has one. */
export function ownerTagOf(name: string): string | null {
  const own = (naming as Record<string, unknown>).ownerTagOf;
  if (typeof own === 'function') return (own as (n: string) => string | null)(name);
  return parseRemoteName(name)?.owner ?? null;
}

/** True once the daemon's naming writes owner tags (src/plan/naming.ts exports ownerTagOf). */
export function namingHasOwnerTags(): boolean {
  return typeof (naming as Record<string, unknown>).ownerTagOf === 'function';
}

/**
 * The name a host whose owner tag is `owner` gives `path` with content `sha256`. With no owner
 * (the format before owner tags) the two-argument rule.
 */
export function expectedName(path: string, sha256: string, owner: string | null): string {
  const fn = naming.remoteNameFor as (p: string, s: string, o?: string) => string;
  if (owner === null) return fn(path, sha256, null as unknown as string);
  if (namingHasOwnerTags()) return fn(path, sha256, owner);
  // Before the daemon writes owner tags (used by the checks' own tests): the tag put in place.
  const p = parseRemoteName(fn(path, sha256, null as unknown as string)) as ParsedName;
  return `${p.stem}${p.pathTag ? `~p${p.pathTag}` : ''}~o${owner}~${p.content}${p.ext}`;
}
