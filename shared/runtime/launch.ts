/**
 * Starts the dealer and both parties as separate OS processes on loopback (what `npm run op`,
 * `npm start` and the process tests use), each with the malloc setting from DESIGN §9, and
 * stops them: SIGTERM, then SIGKILL after a grace period, so no process is left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { MpcError } from '../util/errors.js';
import { projectPath } from '../util/paths.js';

export const MALLOC_TUNABLES = 'glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184';

export interface Proc {
  name: string;
  child: ChildProcess;
  /** First JSON line the process printed on stdout (its listening ports). */
  ready: Record<string, unknown>;
  exited: Promise<number | null>;
  stderr: string[];
}

export interface ClusterOptions {
  timeoutMs?: number;
  logLevel?: string;
  /** Extra flags per process. */
  extra?: { dealer?: string[]; party0?: string[]; party1?: string[] };
  /** Where the processes' stderr goes: 'inherit' (default 'buffer' keeps the last lines). */
  stderr?: 'inherit' | 'buffer';
  /** PEM files for TLS on every link (the processes then talk wss://). */
  tls?: { ca: string; cert: string; key: string };
}

export interface Cluster {
  dealer: Proc;
  party0: Proc;
  party1: Proc;
  clientUrls: [string, string];
  stop(): Promise<void>;
}

export function spawnNode(name: string, script: string, args: string[], opts: ClusterOptions): Promise<Proc> {
  // MPC_CPU_PROF=<dir> profiles every process (V8 .cpuprofile files, written at exit)
  const prof = process.env['MPC_CPU_PROF'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['MPC_CPU_PROF']}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
  const child = spawn(process.execPath, [...prof, projectPath('dist', script), ...args], {
    env: { ...process.env, GLIBC_TUNABLES: MALLOC_TUNABLES, MPC_LOG_LEVEL: opts.logLevel ?? process.env['MPC_LOG_LEVEL'] ?? 'warn' },
    stdio: ['ignore', 'pipe', opts.stderr === 'inherit' ? 'inherit' : 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr?.on('data', (d: Buffer) => { stderr.push(d.toString()); if (stderr.length > 200) stderr.shift(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new MpcError('E_TIMEOUT', `${name} did not start within ${opts.timeoutMs ?? 30000} ms`)); }, opts.timeoutMs ?? 30000);
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve({ name, child, ready: JSON.parse(line) as Record<string, unknown>, exited, stderr });
      } catch {
        reject(new MpcError('E_INTERNAL', `${name} printed '${line.slice(0, 200)}' instead of its ports`));
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new MpcError('E_INTERNAL', `${name} exited with ${code} during start-up: ${stderr.join('').slice(-2000)}`)); });
  });
}

export async function stopProc(p: Proc, graceMs = 5000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(t);
}

/**
 * `extra` flags for launchCluster that make each party serve its own share file from `sharesDir`
 * (as written by share-model); `allowTestHooks` for tests and bench:decode only.
 */
export function shareFlags(sharesDir: string, allowTestHooks = false): { party0: string[]; party1: string[] } {
  const of = (i: 0 | 1) => ['--shares', join(sharesDir, `party${i}.safetensors`), '--share-config', join(sharesDir, 'config.json'), ...(allowTestHooks ? ['--allow-test-hooks'] : [])];
  return { party0: of(0), party1: of(1) };
}

export async function launchCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const common = ['--timeout-ms', String(opts.timeoutMs ?? 30000),
    ...(opts.tls ? ['--tls-ca', opts.tls.ca, '--tls-cert', opts.tls.cert, '--tls-key', opts.tls.key] : [])];
  const scheme = opts.tls ? 'wss' : 'ws';
  const started: Proc[] = [];
  try {
    const dealer = await spawnNode('dealer', 'dealer/main.js', ['--port', '0', ...common, ...(opts.extra?.dealer ?? [])], opts);
    started.push(dealer);
    const dealerUrl = `${scheme}://127.0.0.1:${dealer.ready['port']}`;
    const party1 = await spawnNode('party1', 'party1/main.js', ['--dealer', dealerUrl, '--peer-port', '0', '--client-port', '0', ...common, ...(opts.extra?.party1 ?? [])], opts);
    started.push(party1);
    const party0 = await spawnNode('party0', 'party0/main.js', ['--dealer', dealerUrl, '--peer', `${scheme}://127.0.0.1:${party1.ready['peerPort']}`, '--client-port', '0', ...common, ...(opts.extra?.party0 ?? [])], opts);
    started.push(party0);
    return {
      dealer, party0, party1,
      clientUrls: [`${scheme}://127.0.0.1:${party0.ready['clientPort']}`, `${scheme}://127.0.0.1:${party1.ready['clientPort']}`],
      stop: async () => { await Promise.all(started.map((p) => stopProc(p))); },
    };
  } catch (e) {
    await Promise.all(started.map((p) => stopProc(p)));
    throw e;
  }
}
