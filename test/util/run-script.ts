/**
 * Runs a compiled command (a path under dist/; '-' for node itself, e.g. with `-e`) to its end, for
 * tests of exit codes and messages. The child gets none of this process's MPC_* variables (they are
 * configuration) but `env`; `exec` is a prefix that runs it elsewhere (another network namespace).
 */
import { execFile } from 'node:child_process';
import { projectPath } from '../../shared/util/index.js';

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runScript(
  script: string,
  args: readonly string[],
  o: { env?: Record<string, string>; cwd?: string; timeoutMs?: number; exec?: readonly string[] } = {},
): Promise<Ran> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MPC_')));
  // o.exec runs the command elsewhere, e.g. ['ip', 'netns', 'exec', ns]
  const argv = [...(o.exec ?? []), process.execPath, ...(script === '-' ? [] : [projectPath('dist', script)]), ...args];
  return new Promise((resolve) => {
    execFile(
      argv[0]!,
      argv.slice(1),
      { env: { ...clean, ...o.env }, cwd: o.cwd, timeout: o.timeoutMs ?? 30000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
      },
    );
  });
}
