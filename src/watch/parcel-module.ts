/** The part of @parcel/watcher the parcel backend uses, how it is loaded, and its errors made usable. */
export type ParcelEvent = { path: string; type: 'create' | 'update' | 'delete' };
export type ParcelBackendName = 'inotify' | 'fs-events' | 'windows' | 'watchman' | 'kqueue' | 'brute-force';
export type ParcelOptions = { ignore?: string[]; backend?: ParcelBackendName };
export interface ParcelSubscription {
  unsubscribe(): Promise<void>;
}
/** The part of @parcel/watcher used here (injectable for tests). */
export interface ParcelModule {
  subscribe(
    dir: string,
    fn: (err: Error | null, events: ParcelEvent[]) => unknown,
    opts?: ParcelOptions,
  ): Promise<ParcelSubscription>;
  writeSnapshot(dir: string, snapshot: string, opts?: ParcelOptions): Promise<string>;
  getEventsSince(dir: string, snapshot: string, opts?: ParcelOptions): Promise<ParcelEvent[]>;
}
/**
 * The backend named for each platform. Left unnamed, parcel probes for watchman with popen() and
 * never reaps that child: one zombie `sh` per subscription, for the daemon's whole life.
 */
export function parcelBackendFor(platform: NodeJS.Platform): ParcelBackendName | undefined {
  if (platform === 'linux') return 'inotify';
  if (platform === 'darwin') return 'fs-events';
  if (platform === 'win32') return 'windows';
  return undefined;
}

export type ParcelLoader = () => Promise<ParcelModule>;

export const loadParcel: ParcelLoader = async () => {
  const m = (await import('@parcel/watcher')) as unknown as ParcelModule & { default?: ParcelModule };
  return m.default ?? m;
};

/** The native module's errors carry strerror text only: give the watch limits their codes back. */
export function parcelError(err: Error): Error {
  const code = /No space left on device/i.test(err.message)
    ? 'ENOSPC'
    : /Too many open files/i.test(err.message)
      ? 'EMFILE'
      : /Permission denied/i.test(err.message)
        ? 'EACCES'
        : /No such file or directory/i.test(err.message)
          ? 'ENOENT'
          : undefined;
  return Object.assign(new Error(err.message, { cause: err }), code ? { code } : {});
}
