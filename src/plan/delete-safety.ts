/**
 * Deletion safety (rclone's --max-delete in spirit): a folder that vanished or emptied at once (an
 * unmounted disk, a bad mount, a mistaken `rm -rf`) must not wipe the remote. One pass never
 * deletes more than `maxDeletePercent` of the managed remote files, unless it deletes at most
 * `maxDeleteFloor` files (so removing the only file of a small folder still works), or the user
 * lifts the limit for that pass with `--allow-mass-delete`. Pure.
 */
export interface DeleteSafetyLimits {
  /** @default 50 */
  maxDeletePercent: number;
  /** @default 10 */
  maxDeleteFloor: number;
}

type DeleteSafetyVerdict = { ok: true } | { ok: false; message: string };

export function checkDeleteSafety(input: {
  deleting: number;
  managed: number;
  limits: DeleteSafetyLimits;
  allow: boolean;
}): DeleteSafetyVerdict {
  const { deleting, managed, limits, allow } = input;
  if (allow || deleting <= limits.maxDeleteFloor) return { ok: true };
  const share = managed === 0 ? 100 : (deleting / managed) * 100;
  if (share <= limits.maxDeletePercent) return { ok: true };
  return {
    ok: false,
    message:
      `${deleting} of ${managed} synced files (${Math.round(share)}%) vanished from the folder at once, ` +
      `more than sync.maxDeletePercent (${limits.maxDeletePercent}%); nothing was deleted remotely. ` +
      'If the folder is on a disk that is not mounted, mount it. If you meant to delete them, run ' +
      '`claude-filesync reconcile --allow-mass-delete`.',
  };
}
