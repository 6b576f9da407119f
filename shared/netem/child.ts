/**
 * Node scripts from dist/scripts run as child processes, optionally inside a namespace, talking
 * JSON lines on stdout; stopped by closing stdin, then SIGKILL after a grace period.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { MpcError } from '../util/errors.js';
import { projectPath } from '../util/paths.js';

export interface ScriptChild {
  readonly child: ChildProcess;
  /** Last lines of stderr, for error messages. */
  stderrTail(): string;
  /** Calls `f` with each stdout line parsed as JSON (undefined if it is not JSON). */
  onLine(f: (value: unknown, line: string) => void): void;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /** Closes stdin, waits for the exit, SIGKILLs after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** Starts `node dist/scripts/<script>.js args` behind `exec` (e.g. `ip netns exec <ns>`). */
export function spawnScript(exec: readonly string[], script: string, args: readonly string[]): ScriptChild {
  const argv = [...exec, process.execPath, projectPath('dist', 'scripts', `${script}.js`), ...args];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  child.stderr.on('data', (d: Buffer) => {
    stderr.push(d.toString());
    if (stderr.length > 50) stderr.shift();
  });
  child.stdin.on('error', () => undefined); // a dead child is reported by 'exit'
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  const lines = createInterface({ input: child.stdout });
  return {
    child,
    stderrTail: () => stderr.join('').slice(-1500),
    onLine: (f) => {
      lines.on('line', (line) => f(parseJson(line), line));
    },
    exited,
    stop: async (graceMs = 2000) => {
      child.stdin.end();
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * The first stdout line of `c`, parsed as JSON.
 * @throws MpcError E_INTERNAL if the process exits first or prints something else.
 */
export function firstJsonLine(c: ScriptChild, what: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    c.onLine((value, line) =>
      value === undefined
        ? reject(new MpcError('E_INTERNAL', `${what} printed '${line.slice(0, 200)}'`))
        : resolve(value),
    );
    void c.exited.then(() =>
      reject(
        new MpcError('E_INTERNAL', `${what} exited (${c.child.signalCode ?? c.child.exitCode}): ${c.stderrTail()}`),
      ),
    );
  });
}
