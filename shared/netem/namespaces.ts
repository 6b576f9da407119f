/**
 * Network namespaces, veth links and tbf qdiscs through iproute2 (`ip`, `tc`), and their
 * teardown. Everything a run creates is named `mpcn-<pid>-<random>-<role>`, so parallel runs
 * never collide and a later run can remove what a killed one left behind.
 *
 * Teardown is synchronous on purpose: it must also run from 'exit' and signal handlers, where
 * no more event-loop turns happen. It kills every process still inside a namespace first, since
 * a namespace with a live process survives `ip netns del` (unnamed, with its links).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { MpcError } from '../util/errors.js';

const PREFIX = 'mpcn-';

/** Runs a command and returns its stdout. @throws MpcError `code` with the command's stderr. */
export function run(file: string, args: readonly string[], code: 'E_CONFIG' | 'E_INTERNAL' = 'E_INTERNAL'): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new MpcError(code, `${file} ${args.join(' ')}: ${(err.stderr ?? '').trim() || err.message}`);
  }
}

/**
 * Checks that this process may create namespaces and that iproute2 is installed.
 * @throws MpcError E_CONFIG naming what is missing.
 */
export function checkPrivileges(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new MpcError(
      'E_CONFIG',
      `${what} needs root: it creates network namespaces, veth links and tc qdiscs (run as root, or use --net loopback)`,
    );
  }
  for (const tool of ['ip', 'tc']) {
    try {
      execFileSync(tool, ['-V'], { stdio: 'ignore' });
    } catch {
      throw new MpcError('E_CONFIG', `${what} needs iproute2's '${tool}' on PATH`);
    }
  }
}

/** A fresh name stem for one run: `mpcn-<pid>-<6 hex>`. */
export function newRunId(): string {
  return `${PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`;
}

export function listNamespaces(): string[] {
  return run('ip', ['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.length > 0);
}

/** Kills every process inside each namespace, then deletes the namespaces; never throws. */
export function destroyNamespaces(names: readonly string[]): void {
  for (const ns of names) {
    try {
      for (const pid of run('ip', ['netns', 'pids', ns])
        .split('\n')
        .filter((p) => /^\d+$/.test(p))) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      run('ip', ['netns', 'del', ns]);
    } catch {
      /* already deleted: teardown must go on for the others */
    }
  }
}

/** Removes namespaces of earlier runs whose creating process no longer exists. */
export function removeStale(): void {
  const stale = listNamespaces().filter((ns) => {
    const pid = /^mpcn-(\d+)-/.exec(ns)?.[1];
    if (pid === undefined || Number(pid) === process.pid) return false;
    try {
      process.kill(Number(pid), 0);
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ESRCH';
    }
  });
  destroyNamespaces(stale);
}

export interface LinkShape {
  readonly rateBitsPerS: number;
}

/**
 * tbf on an interface's egress. The bucket holds TBF_BURST_MS at the rate (at least 16 KiB):
 * smaller buckets cost throughput on this machine (1 Gbit/s: 940–965 Mbit/s with 1 ms, 450–700
 * with 0.25 ms, through the relay), at the price that the first TBF_BURST_MS of data after an idle
 * spell passes at veth speed. The queue holds 50 ms (at least 64 KiB): with 10 ms, TCP (BBR here)
 * overflowed it at 100 Mbit/s, dropping 10 % of packets and 6 % of the throughput.
 */
export const TBF_BURST_MS = 1;
export const TBF_QUEUE_MS = 50;

export function tbfArgs(dev: string, shape: LinkShape): string[] {
  const bytesPerMs = shape.rateBitsPerS / 8 / 1000;
  const burst = Math.max(16384, Math.round(TBF_BURST_MS * bytesPerMs));
  const limit = Math.max(65536, Math.round(TBF_QUEUE_MS * bytesPerMs)) + burst;
  return [
    'qdisc',
    'add',
    'dev',
    dev,
    'root',
    'tbf',
    'rate',
    `${Math.round(shape.rateBitsPerS)}bit`,
    'burst',
    String(burst),
    'limit',
    String(limit),
  ];
}

/**
 * Adds namespace `host` joined to `hub` by a veth pair: `eth0` (address `hostIp`) in the host,
 * `hubDev` (address `hubIp`) in the hub, one /24 between them, both ends shaped by tbf.
 */
export function addHostLink(
  hub: string,
  hubDev: string,
  hubIp: string,
  host: string,
  hostIp: string,
  shape: LinkShape,
): void {
  run('ip', ['netns', 'add', host]);
  run('ip', ['-n', hub, 'link', 'add', hubDev, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host]);
  run('ip', ['-n', hub, 'addr', 'add', `${hubIp}/24`, 'dev', hubDev]);
  run('ip', ['-n', host, 'addr', 'add', `${hostIp}/24`, 'dev', 'eth0']);
  for (const [ns, dev] of [
    [hub, hubDev],
    [host, 'eth0'],
    [host, 'lo'],
  ] as const)
    run('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  for (const [ns, dev] of [
    [hub, hubDev],
    [host, 'eth0'],
  ] as const)
    run('tc', ['-n', ns, ...tbfArgs(dev, shape)], 'E_CONFIG');
}
