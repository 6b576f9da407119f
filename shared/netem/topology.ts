/**
 * The emulated network of one run (docs/network.md): dealer, party 0, party 1 and the client,
 * each in its own network namespace, each joined to a hub namespace by a veth pair shaped with
 * tbf at the spec's rate in both directions. Hosts have no route to each other: every connection
 * goes through a delay-line relay in the hub that adds rtt/2 each way. For `loopback` the same
 * API hands out plain 127.0.0.1 addresses and shapes nothing, so callers treat all networks alike.
 *
 * Teardown happens on close(), on any error during set-up, and from process 'exit', SIGINT,
 * SIGTERM and SIGHUP handlers held while a topology is open.
 */
import { MpcError } from '../util/errors.js';
import { addHostLink, checkPrivileges, destroyNamespaces, newRunId, removeStale, run } from './namespaces.js';
import { startRelayProcess, type RelayProcess, type RelayStats } from './relay-process.js';
import { describeNet, type NetSpec, type ShapedNet } from './spec.js';
import type { Endpoint } from './probe.js';
import { trackTeardown } from './teardown.js';

export const HOSTS = ['dealer', 'party0', 'party1', 'client'] as const;
export type HostName = (typeof HOSTS)[number];

export interface NetHost {
  readonly name: HostName;
  /** Prepend to a command line to run it in this host: `['ip', 'netns', 'exec', ns]`, or `[]` on loopback. */
  readonly exec: readonly string[];
  /** The address servers in this host listen on (the runtime's `--host`). */
  readonly listenHost: string;
  /**
   * Every address another host dials to reach this one (`connect(…).host`): what this host's TLS
   * server certificate must name (subjectAltName). The hub's end of each other host's link, or 127.0.0.1.
   */
  readonly dialedAt: readonly string[];
  /** The host's network namespace; undefined on loopback. */
  readonly netns?: string;
}

export interface Topology {
  readonly spec: NetSpec;
  readonly hosts: Readonly<Record<HostName, NetHost>>;
  /**
   * Where `src` dials to reach port `dstPort` that a server in `dst` listens on, through the
   * shaped link. The relay is made on the first call for a (src, dst, dstPort) and reused after.
   * @throws MpcError E_CONFIG for src = dst or an unknown host or port.
   */
  connect(src: HostName, dst: HostName, dstPort: number): Promise<Endpoint>;
  /** CPU time and counts of the relay process (zeros on loopback). */
  relayStats(): Promise<RelayStats>;
  /** Stops the relay, kills anything left in the namespaces and deletes them. Idempotent. */
  close(): Promise<void>;
}

/** Runs `file args` in `host`: spawn(r.file, r.args). */
export function commandIn(host: NetHost, file: string, args: readonly string[]): { file: string; args: string[] } {
  const argv = [...host.exec, file, ...args];
  return { file: argv[0]!, args: argv.slice(1) };
}

function checkPair(src: HostName, dst: HostName, dstPort: number): void {
  if (!HOSTS.includes(src) || !HOSTS.includes(dst) || src === dst)
    throw new MpcError('E_CONFIG', `netem: no link from '${src}' to '${dst}'`);
  if (!Number.isInteger(dstPort) || dstPort < 1 || dstPort > 65535)
    throw new MpcError('E_CONFIG', `netem: port ${dstPort} of ${dst} is not a TCP port`);
}

function hostsOf(make: (name: HostName, index: number) => NetHost): Record<HostName, NetHost> {
  return { dealer: make('dealer', 0), party0: make('party0', 1), party1: make('party1', 2), client: make('client', 3) };
}

function loopbackTopology(spec: NetSpec): Topology {
  return {
    spec,
    hosts: hostsOf((name) => ({ name, exec: [], listenHost: '127.0.0.1', dialedAt: ['127.0.0.1'] })),
    connect: async (src, dst, dstPort) => {
      checkPair(src, dst, dstPort);
      return { host: '127.0.0.1', port: dstPort };
    },
    relayStats: async () => ({ cpuUserMs: 0, cpuSystemMs: 0, relays: 0, connections: 0 }),
    close: async () => undefined,
  };
}

/** Host i (from 1) owns 10.200.i.0/24: the host is .1, the hub's end .254. */
const hostIp = (i: number): string => `10.200.${i + 1}.1`;
const hubIp = (i: number): string => `10.200.${i + 1}.254`;

/**
 * Namespaces, links and the relay process for run `id`; on any failure removes what it made.
 * @throws MpcError E_CONFIG without root, iproute2 or tbf.
 */
async function buildNetwork(
  id: string,
  spec: ShapedNet,
): Promise<{ relay: RelayProcess; teardown: () => Promise<void> }> {
  const hub = `${id}-hub`;
  const names = [hub, ...HOSTS.map((h) => `${id}-${h}`)];
  const untrack = trackTeardown(() => destroyNamespaces(names));
  let relay: RelayProcess | undefined;
  const teardown = async (): Promise<void> => {
    await relay?.stop();
    destroyNamespaces(names);
    untrack();
  };
  try {
    run('ip', ['netns', 'add', hub]);
    run('ip', ['-n', hub, 'link', 'set', 'lo', 'up']);
    HOSTS.forEach((h, i) => addHostLink(hub, `v-${h}`, hubIp(i), `${id}-${h}`, hostIp(i), spec));
    relay = await startRelayProcess(['ip', 'netns', 'exec', hub]);
    return { relay, teardown };
  } catch (e) {
    await teardown();
    throw e;
  }
}

async function shapedTopology(spec: ShapedNet): Promise<Topology> {
  checkPrivileges(`--net ${spec.name}`);
  removeStale();
  const id = newRunId();
  const { relay, teardown } = await buildNetwork(id, spec);
  const hosts = hostsOf((name, i) => ({
    name,
    exec: ['ip', 'netns', 'exec', `${id}-${name}`],
    listenHost: hostIp(i),
    dialedAt: HOSTS.flatMap((_, j) => (j === i ? [] : [hubIp(j)])),
    netns: `${id}-${name}`,
  }));
  const endpoints = new Map<string, Promise<Endpoint>>();
  const open = async (src: HostName, dst: HostName, dstPort: number): Promise<Endpoint> => {
    const r = await relay.request({
      op: 'open',
      listenHost: hubIp(HOSTS.indexOf(src)),
      targetHost: hostIp(HOSTS.indexOf(dst)),
      targetPort: dstPort,
      delayMs: spec.rttMs / 2,
      jitterMs: spec.jitterMs,
    });
    if (r.port === undefined)
      throw new MpcError('E_INTERNAL', `netem relay ${src} → ${dst}:${dstPort}: ${r.error ?? 'no port'}`);
    return { host: hubIp(HOSTS.indexOf(src)), port: r.port };
  };
  let closed = false;
  return {
    spec,
    hosts,
    connect: async (src, dst, dstPort) => {
      checkPair(src, dst, dstPort);
      if (closed) throw new MpcError('E_INTERNAL', `netem: ${describeNet(spec)} is already closed`);
      const key = `${src}>${dst}:${dstPort}`;
      if (!endpoints.has(key)) {
        const opened = open(src, dst, dstPort);
        opened.catch(() => endpoints.delete(key)); // a later call may retry
        endpoints.set(key, opened);
      }
      return endpoints.get(key)!;
    },
    relayStats: async () => {
      const r = await relay.request({ op: 'stats' });
      if (!r.stats) throw new MpcError('E_INTERNAL', `netem relay stats: ${r.error ?? 'none'}`);
      return r.stats;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await teardown();
    },
  };
}

/**
 * Builds the network for `spec`: namespaces, links, tbf and the relay process, or nothing for
 * loopback. Needs dist/ built (the relay runs dist/scripts/netem-relay.js).
 * @throws MpcError E_CONFIG without root or iproute2, or if the kernel lacks tbf.
 */
export async function createTopology(spec: NetSpec): Promise<Topology> {
  return spec.name === 'loopback' ? loopbackTopology(spec) : shapedTopology(spec);
}
