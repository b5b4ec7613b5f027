/**
 * Signals that must not be lost while the program loads. Node's default action for SIGHUP is to
 * die (exit 129), and loading the daemon's modules takes a few hundred milliseconds: a SIGHUP
 * sent by a service manager or a script right after the start would kill the daemon. main.ts
 * takes these over first, before any slow import; a signal that arrives before anyone listens
 * is kept and delivered once to the first listener (runDaemon's, which queues the reconcile).
 *
 * Deliberately free of imports, so that it loads in no time.
 */

/** The part of `process` this needs; the same shape as run-daemon's SignalSource. */
export interface SignalTarget {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

export function holdSignals(target: SignalTarget, held: readonly NodeJS.Signals[]): SignalTarget {
  const listeners = new Map<NodeJS.Signals, Set<() => void>>();
  const pending = new Set<NodeJS.Signals>();
  for (const signal of held) {
    listeners.set(signal, new Set());
    target.on(signal, () => {
      const set = listeners.get(signal)!;
      if (set.size === 0) pending.add(signal);
      for (const l of [...set]) l();
    });
  }
  return {
    on(signal, listener) {
      const set = listeners.get(signal);
      if (!set) return target.on(signal, listener);
      set.add(listener);
      if (pending.delete(signal)) listener();
      return undefined;
    },
    off(signal, listener) {
      const set = listeners.get(signal);
      if (!set) return target.off(signal, listener);
      // The signal stays taken over: once the daemon stops listening (it is shutting down),
      // a late SIGHUP must not kill it mid-shutdown either.
      set.delete(listener);
      return undefined;
    },
  };
}
