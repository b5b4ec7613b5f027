/**
 * The owner tag every uploaded name carries (src/plan/naming.ts rule 3). It lives here, next to
 * the configuration, because resolveConfig computes it once (`sync.ownerTag`) and every part of
 * the program reads that one value.
 */
import { createHash } from 'node:crypto';

export const OWNER_TAG_HEX = 8;

export interface OwnerIdentity {
  /** `sync.instanceName`, when configured: the tag then follows the name, not the host or folder. */
  instanceName: string | null;
  hostname: string;
  /** The watched folder's absolute path. */
  dir: string;
}

/**
 * The first 8 hex of sha256 of `instance:{name}` when an instance name is set, else of
 * `host:{hostname}\0{absolute folder path}`. Pure and stable: the same host and folder get the same
 * tag after the state directory is lost; two folders or two hosts differ.
 */
export function ownerTagFor(id: OwnerIdentity): string {
  const source = id.instanceName !== null ? `instance:${id.instanceName}` : `host:${id.hostname}\0${id.dir}`;
  return createHash('sha256').update(source, 'utf8').digest('hex').slice(0, OWNER_TAG_HEX);
}
