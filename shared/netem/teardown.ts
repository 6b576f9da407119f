/**
 * Last-resort teardown: functions registered here run synchronously when the process exits
 * (also after an uncaught exception) or receives SIGINT, SIGTERM or SIGHUP, until unregistered.
 * A process has one set of signal handlers, hence this one module-level registry.
 */
const pending = new Set<() => void>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function runAll(): void {
  for (const f of [...pending]) {
    pending.delete(f);
    try {
      f();
    } catch {
      /* the others must still run */
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  runAll();
  uninstall();
  // keep the signal's default action (terminate) unless the program handles it itself
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  process.on('exit', runAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  process.off('exit', runAll);
  for (const s of SIGNALS) process.off(s, onSignal);
}

/** Runs `teardown` at exit or on a terminating signal unless the returned function is called first. */
export function trackTeardown(teardown: () => void): () => void {
  pending.add(teardown);
  if (pending.size === 1) install();
  return () => {
    pending.delete(teardown);
    if (pending.size === 0) uninstall();
  };
}
