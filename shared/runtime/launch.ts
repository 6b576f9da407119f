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
import { loadTls, type Role, type TlsConfig } from '../net/tls.js';
import { createDeployment, tlsFlags, type Deployment } from './deployment.js';

export const MALLOC_TUNABLES = 'glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184';

export interface Proc {
  name: string;
  /** Script under dist/, flags and role it was started with (restartProc starts it again with them). */
  script: string;
  args: string[];
  role?: Role | undefined;
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
  /** The deployment's certificates (default: a throwaway one for this cluster, valid for `place`'s names). */
  deployment?: Deployment;
  /** Where each process runs and how the others reach it (default: all on 127.0.0.1). */
  place?: Placement;
  /** Called with each child as soon as it is spawned, before it reports its ports. */
  onSpawn?: (name: string, child: ChildProcess) => void;
}

/** Where the processes of a cluster run (e.g. network namespaces: shared/netem/cluster.ts). */
export interface Placement {
  /** The address servers of `role` listen on. */
  listenHost(role: Role): string;
  /** The command line that runs `file args` where `role` lives. */
  command(role: Role, file: string, args: readonly string[]): { file: string; args: string[] };
  /** Where `src` dials to reach port `port` of `dst`. */
  endpoint(src: Role, dst: Role, port: number): Promise<{ host: string; port: number }>;
  /** Names and addresses others dial `role` at (its server certificate's subjectAltName). */
  names(role: Role): readonly string[];
}

/** Everything on this machine's loopback. */
export const LOOPBACK: Placement = {
  listenHost: () => '127.0.0.1',
  command: (_role, file, args) => ({ file, args: [...args] }),
  endpoint: async (_src, _dst, port) => ({ host: '127.0.0.1', port }),
  names: () => ['localhost', '127.0.0.1'],
};

export interface Cluster {
  dealer: Proc;
  party0: Proc;
  party1: Proc;
  /** Party 0's and party 1's client ports as the client role reaches them. */
  clientUrls: [string, string];
  deployment: Deployment;
  /** The client's TLS material (role client) for `clientUrls`. */
  clientTls: TlsConfig;
  stop(): Promise<void>;
}

/** A throwaway deployment in a temporary folder (server certificates valid for `place`'s names), and its removal. */
export function tempDeployment(place: Placement = LOOPBACK): { deployment: Deployment; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'mpcache-pki-'));
  const hosts = {
    dealer: place.names('dealer'),
    party0: place.names('party0'),
    party1: place.names('party1'),
    client: place.names('client'),
  };
  return { deployment: createDeployment(dir, { hosts }), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The TLS material of a deployment's client (or of another role: tests that play it). */
export function clientTlsOf(d: Deployment, role: Role = 'client'): TlsConfig {
  return loadTls({ ca: d.ca, cert: d.roles[role].cert, key: d.roles[role].key }, role);
}

/** Starts `dist/<script>` as `name` (placed by `opts.place`, on loopback by default) and waits for its first stdout line. */
export function spawnNode(
  name: string,
  script: string,
  args: string[],
  opts: ClusterOptions & { role?: Role },
): Promise<Proc> {
  // MPC_CPU_PROF=<dir> profiles every process (V8 .cpuprofile files, written at exit)
  const prof = process.env['MPC_CPU_PROF']
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env['MPC_CPU_PROF']}`, `--cpu-prof-name=${name}.cpuprofile`]
    : [];
  const cmd = (opts.place ?? LOOPBACK).command(opts.role ?? 'client', process.execPath, [
    ...prof,
    projectPath('dist', script),
    ...args,
  ]);
  const child = spawn(cmd.file, cmd.args, {
    env: {
      ...process.env,
      GLIBC_TUNABLES: MALLOC_TUNABLES,
      MPC_LOG_LEVEL: opts.logLevel ?? process.env['MPC_LOG_LEVEL'] ?? 'warn',
    },
    // servers take --exit-with-stdin: the pipe closes when this process ends, however it ends
    stdio: ['pipe', 'pipe', opts.stderr === 'inherit' ? 'inherit' : 'pipe'],
  });
  opts.onSpawn?.(name, child);
  const stderr: string[] = [];
  child.stderr?.on('data', (d: Buffer) => {
    stderr.push(d.toString());
    if (stderr.length > 200) stderr.shift();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new MpcError('E_TIMEOUT', `${name} did not start within ${opts.timeoutMs ?? 30000} ms`));
    }, opts.timeoutMs ?? 30000);
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve({
          name,
          script,
          args,
          role: opts.role,
          child,
          ready: JSON.parse(line) as Record<string, unknown>,
          exited,
          stderr,
        });
      } catch {
        reject(new MpcError('E_INTERNAL', `${name} printed '${line.slice(0, 200)}' instead of its ports`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(
        new MpcError('E_INTERNAL', `${name} exited with ${code} during start-up: ${stderr.join('').slice(-2000)}`),
      );
    });
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

/** Starts a stopped or killed process again with the same flags (fixed ports stay the same). */
export function restartProc(p: Proc, opts: ClusterOptions = {}): Promise<Proc> {
  return spawnNode(p.name, p.script, p.args, { ...opts, role: p.role });
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
export function shareFlags(
  sharesDir: string,
  allow: readonly ('test-hooks' | 'revealed-prefill' | 'logits')[] = [],
): { party0: string[]; party1: string[] } {
  const of = (i: 0 | 1) => [
    '--shares',
    join(sharesDir, `party${i}.safetensors`),
    '--share-config',
    join(sharesDir, 'config.json'),
    ...allow.map((a) => `--allow-${a}`),
  ];
  return { party0: of(0), party1: of(1) };
}

/** What every process of a cluster is started with: the options, where it runs, the deployment's certificates. */
interface Launch {
  readonly opts: ClusterOptions;
  readonly place: Placement;
  readonly deployment: Deployment;
}

/** The URL `src` dials to reach port `port` of `dst`. */
async function urlOf(l: Launch, src: Role, dst: Role, port: unknown): Promise<string> {
  const e = await l.place.endpoint(src, dst, Number(port));
  return `wss://${e.host}:${e.port}`;
}

/** Starts the server of `role` with its own flags, then those every server takes, then the caller's extra ones. */
function startServer(l: Launch, role: 'dealer' | 'party0' | 'party1', flags: readonly string[]): Promise<Proc> {
  const common = [
    '--host',
    l.place.listenHost(role),
    '--timeout-ms',
    String(l.opts.timeoutMs ?? 30000),
    '--exit-with-stdin',
    ...tlsFlags(l.deployment, role),
  ];
  return spawnNode(role, `${role}/main.js`, [...flags, ...common, ...(l.opts.extra?.[role] ?? [])], {
    ...l.opts,
    role,
  });
}

/** Starts the dealer, then party 1 (which dials the dealer), then party 0 (which dials both); all on port 0. */
export async function launchCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const place = opts.place ?? LOOPBACK;
  const temp = opts.deployment ? undefined : tempDeployment(place);
  const l: Launch = { opts, place, deployment: opts.deployment ?? temp!.deployment };
  const started: Proc[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(started.map((p) => stopProc(p)));
    temp?.remove();
  };
  const track = (p: Proc): Proc => {
    started.push(p);
    return p;
  };
  try {
    const dealer = track(await startServer(l, 'dealer', ['--port', '0']));
    const party1 = track(
      await startServer(l, 'party1', [
        '--dealer',
        await urlOf(l, 'party1', 'dealer', dealer.ready['port']),
        '--peer-port',
        '0',
        '--client-port',
        '0',
      ]),
    );
    const party0 = track(
      await startServer(l, 'party0', [
        '--dealer',
        await urlOf(l, 'party0', 'dealer', dealer.ready['port']),
        '--peer',
        await urlOf(l, 'party0', 'party1', party1.ready['peerPort']),
        '--client-port',
        '0',
      ]),
    );
    const clientTls = clientTlsOf(l.deployment);
    const clientUrls: [string, string] = [
      await urlOf(l, 'client', 'party0', party0.ready['clientPort']),
      await urlOf(l, 'client', 'party1', party1.ready['clientPort']),
    ];
    return { dealer, party0, party1, deployment: l.deployment, clientTls, clientUrls, stop: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
