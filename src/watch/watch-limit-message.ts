/**
 * What the user reads when the OS refuses more watches: which limit, and how to raise it on the
 * platform the daemon runs on (the watcher falls back to polling meanwhile).
 */

/** Says which limit the OS hit and how to raise it, for the platform the daemon runs on. */
export function watchLimitMessage(
  code: string,
  root: string,
  pollIntervalMs: number,
  platform: NodeJS.Platform = process.platform,
): string {
  const fellBack = `fell back to polling every ${pollIntervalMs} ms, which uses more CPU and notices changes later`;
  const restart = 'then restart claude-filesync.';
  if (platform === 'darwin') {
    return (
      `Watching ${root}: the system refused more open files (${code}: the per-process limit, launchd's NumberOfFiles); ${fellBack}. ` +
      `To raise it: reinstall the agent with \`claude-filesync service install\` (its plist sets NumberOfFiles to 65536), ` +
      `or for a daemon started by hand run \`ulimit -n 65536\` in its shell first (and \`sudo launchctl limit maxfiles 65536 200000\` ` +
      `if the system-wide limit is lower); ${restart}`
    );
  }
  if (code === 'ENOSPC') {
    return (
      `Watching ${root}: the system limit on inotify watches was reached (ENOSPC: fs.inotify.max_user_watches, one watch per folder); ` +
      `${fellBack}. To raise the limit: sudo sysctl fs.inotify.max_user_watches=524288, and to keep it after a reboot put ` +
      `fs.inotify.max_user_watches=524288 in /etc/sysctl.d/60-claude-filesync.conf; ${restart}`
    );
  }
  return (
    `Watching ${root}: the system refused another watcher (EMFILE: fs.inotify.max_user_instances, inotify instances per user, ` +
    `or the open files limit, ulimit -n); ${fellBack}. To raise them: sudo sysctl fs.inotify.max_user_instances=512, and to keep it ` +
    `after a reboot put fs.inotify.max_user_instances=512 in /etc/sysctl.d/60-claude-filesync.conf; for open files set ` +
    `LimitNOFILE=65536 in the service unit (\`claude-filesync service install\` does) or run \`ulimit -n 65536\` first; ${restart}`
  );
}
