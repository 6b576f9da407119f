/**
 * Starts the dealer and both parties as separate OS processes on loopback (what `npm run op`,
 * `npm start` and the process tests use), each with the malloc setting from DESIGN §9, and
 * stops them: SIGTERM, then SIGKILL after a grace period, so no process is left behind. Every link
 * is TLS with role certificates: unless given a deployment, the launcher makes a throwaway one
 * (runtime/deployment.ts) in a temporary folder that `stop()` removes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { MpcError } from '../util/errors.js';
import { projectPath } from '../util/paths.js';
import { loadTls, type TlsConfig } from '../net/tls.js';
import { createDeployment, tlsFlags, type Deployment } from './deployment.js';

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
  /** The deployment's certificates (default: a throwaway one for this cluster). */
  deployment?: Deployment;
}

export interface Cluster {
  dealer: Proc;
  party0: Proc;
  party1: Proc;
  clientUrls: [string, string];
  deployment: Deployment;
  /** The client's TLS material (role client) for `clientUrls`. */
  clientTls: TlsConfig;
  stop(): Promise<void>;
}

/** A throwaway deployment in a temporary folder, and its removal. */
export function tempDeployment(): { deployment: Deployment; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'mpcache-pki-'));
  return { deployment: createDeployment(dir), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The client's TLS material of a deployment. */
export function clientTlsOf(d: Deployment): TlsConfig {
  return loadTls({ ca: d.ca, cert: d.roles.client.cert, key: d.roles.client.key }, 'client');
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

/** Peak resident memory of a running process in MiB (Linux: VmHWM), or undefined when unknown. */
export function peakRssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
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
 * (as written by share-model), with the client powers in `allow` (tests and benchmarks only).
 */
export function shareFlags(sharesDir: string, allow: readonly ('test-hooks' | 'revealed-prefill' | 'logits')[] = []): { party0: string[]; party1: string[] } {
  const of = (i: 0 | 1) => ['--shares', join(sharesDir, `party${i}.safetensors`), '--share-config', join(sharesDir, 'config.json'), ...allow.map((a) => `--allow-${a}`)];
  return { party0: of(0), party1: of(1) };
}

export async function launchCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const temp = opts.deployment ? undefined : tempDeployment();
  const d = opts.deployment ?? temp!.deployment;
  const common = ['--timeout-ms', String(opts.timeoutMs ?? 30000)];
  const started: Proc[] = [];
  const stopAll = async (): Promise<void> => { await Promise.all(started.map((p) => stopProc(p))); temp?.remove(); };
  try {
    const dealer = await spawnNode('dealer', 'dealer/main.js', ['--port', '0', ...common, ...tlsFlags(d, 'dealer'), ...(opts.extra?.dealer ?? [])], opts);
    started.push(dealer);
    const dealerUrl = `wss://127.0.0.1:${dealer.ready['port']}`;
    const party1 = await spawnNode('party1', 'party1/main.js', ['--dealer', dealerUrl, '--peer-port', '0', '--client-port', '0', ...common, ...tlsFlags(d, 'party1'), ...(opts.extra?.party1 ?? [])], opts);
    started.push(party1);
    const party0 = await spawnNode('party0', 'party0/main.js', ['--dealer', dealerUrl, '--peer', `wss://127.0.0.1:${party1.ready['peerPort']}`, '--client-port', '0', ...common, ...tlsFlags(d, 'party0'), ...(opts.extra?.party0 ?? [])], opts);
    started.push(party0);
    return {
      dealer, party0, party1, deployment: d, clientTls: clientTlsOf(d),
      clientUrls: [`wss://127.0.0.1:${party0.ready['clientPort']}`, `wss://127.0.0.1:${party1.ready['clientPort']}`],
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
