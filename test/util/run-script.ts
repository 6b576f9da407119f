/**
 * Runs a compiled command (a path under dist/) to its end, for tests of exit codes and messages.
 * The child gets none of this process's MPC_* variables (they are configuration) but `env`.
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
  o: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<Ran> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MPC_')));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [projectPath('dist', script), ...args],
      { env: { ...clean, ...o.env }, cwd: o.cwd, timeout: o.timeoutMs ?? 30000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
      },
    );
  });
}
