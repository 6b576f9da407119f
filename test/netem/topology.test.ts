/**
 * Socket suite (slow, needs root): real namespaces, veth links, tbf and the relay process.
 * Measures RTT (median of a TCP ping-pong) and throughput (bulk transfer, timed by the receiver)
 * from party 0 to party 1 and checks them against the configured values (±20 %) for the WAN
 * preset and one custom setting; reports the LAN preset's figures. Then checks that nothing is
 * left behind after close(), after SIGINT, and that a missing root fails with E_CONFIG.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { commandIn, createTopology, type Topology } from '../../shared/netem/topology.js';
import { measureLink } from '../../shared/netem/measure.js';
import { parseNetSpec } from '../../shared/netem/spec.js';
import { listNamespaces, run } from '../../shared/netem/namespaces.js';
import { firstJsonLine, spawnScript } from '../../shared/netem/child.js';
import { projectPath } from '../../shared/util/paths.js';

const asRoot = process.getuid?.() === 0 ? describe : describe.skip;

/** A process that opens a WAN topology, prints its namespaces, and waits to be signalled. */
const HOLDER = `
import { createTopology, parseNetSpec } from ${JSON.stringify(projectPath('dist', 'shared', 'netem', 'index.js'))};
const t = await createTopology(parseNetSpec('wan'));
console.log(JSON.stringify(Object.values(t.hosts).map((h) => h.netns)));
setInterval(() => undefined, 60_000);
`;

function within(measured: number, configured: number): boolean {
  return Math.abs(measured - configured) <= 0.2 * configured;
}

/** Gone or a zombie: /proc/<pid>/stat's state field. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((resolve) => setImmediate(resolve));
}

asRoot('netem topology over namespaces (socket suite, slow, root)', () => {
  test.each([
    ['wan', 12 << 20],
    ['rate=50mbit,rtt=10ms,jitter=1ms', 8 << 20],
  ])('%s: median RTT and throughput party0 → party1 within ±20 %% of the configured values', async (net, bulkBytes) => {
    const spec = parseNetSpec(net);
    if (spec.name === 'loopback') throw new Error('shaped spec expected');
    const topo = await createTopology(spec);
    try {
      const r = await measureLink(topo, 'party0', 'party1', { pings: 30, bulkBytes });
      console.log(
        `${net}: median RTT ${r.medianRttMs.toFixed(3)} ms (configured ${spec.rttMs}), throughput ${(r.bitsPerS / 1e6).toFixed(1)} Mbit/s (configured ${spec.rateBitsPerS / 1e6})`,
      );
      expect({ rttMs: r.medianRttMs, ok: within(r.medianRttMs, spec.rttMs) }).toEqual({
        rttMs: r.medianRttMs,
        ok: true,
      });
      expect({ bitsPerS: r.bitsPerS, ok: within(r.bitsPerS, spec.rateBitsPerS) }).toEqual({
        bitsPerS: r.bitsPerS,
        ok: true,
      });
    } finally {
      await topo.close();
    }
  });

  test('lan: figures reported; never faster than configured', async () => {
    const topo = await createTopology(parseNetSpec('lan'));
    try {
      const r = await measureLink(topo, 'client', 'party0', { pings: 200, bulkBytes: 16 << 20 });
      console.log(
        `lan: median RTT ${r.medianRttMs.toFixed(3)} ms (configured 0.5), throughput ${(r.bitsPerS / 1e6).toFixed(1)} Mbit/s (configured 1000)`,
      );
      expect(r.medianRttMs).toBeGreaterThanOrEqual(0.5);
      expect(r.bitsPerS).toBeLessThanOrEqual(1.05e9);
    } finally {
      await topo.close();
    }
  });

  let topo: Topology | undefined;
  afterEach(async () => {
    await topo?.close();
    topo = undefined;
  });

  test('hosts reach each other only through the relay; close() leaves no namespace or process', async () => {
    topo = await createTopology(parseNetSpec('rate=10mbit,rtt=2ms'));
    const server = spawnScript(topo.hosts.dealer.exec, 'netem-probe', [
      'serve',
      '--host',
      topo.hosts.dealer.listenHost,
    ]);
    const { port } = (await firstJsonLine(server, 'probe server')) as { port: number };
    const direct = spawnScript(topo.hosts.party1.exec, 'netem-probe', [
      'measure',
      '--host',
      topo.hosts.dealer.listenHost,
      '--port',
      String(port),
      '--pings',
      '1',
      '--bulk-bytes',
      '1',
    ]);
    await direct.exited;
    expect(direct.stderrTail()).toMatch(/E_PEER_CLOSED: probe cannot reach .*(ENETUNREACH|EHOSTUNREACH)/);
    const ep = await topo.connect('party1', 'dealer', port);
    expect(await topo.connect('party1', 'dealer', port)).toEqual(ep);
    expect(topo.hosts.dealer.dialedAt).toContain(ep.host);
    expect(topo.hosts.dealer.dialedAt).toHaveLength(3);
    await expect(topo.connect('party1', 'party1', port)).rejects.toThrow(/E_CONFIG/);
    const names = Object.values(topo.hosts).map((h) => h.netns!);
    const hub = names[0]!.replace(/-dealer$/, '-hub');
    const pids = run('ip', ['netns', 'pids', hub]).trim().split('\n').map(Number);
    expect(pids.length).toBeGreaterThan(0); // the relay
    await topo.close();
    topo = undefined;
    await server.exited;
    expect(listNamespaces().filter((n) => [hub, ...names].includes(n))).toEqual([]);
    await until(() => !pids.some(alive));
  });

  test('SIGINT tears the namespaces down and still ends the process', async () => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', HOLDER], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_, signal) => resolve(signal)));
    const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
    const names = JSON.parse(line) as string[];
    const hub = names[0]!.replace(/-dealer$/, '-hub');
    expect(listNamespaces()).toEqual(expect.arrayContaining([hub, ...names]));
    const pids = run('ip', ['netns', 'pids', hub]).trim().split('\n').map(Number);
    child.kill('SIGINT');
    expect(await exited).toBe('SIGINT');
    expect(listNamespaces().filter((n) => [hub, ...names].includes(n))).toEqual([]);
    await until(() => !pids.some(alive));
  });

  test('without root: E_CONFIG saying so, nothing created', async () => {
    const before = listNamespaces();
    const child = spawn(process.execPath, ['--input-type=module', '-e', HOLDER], {
      stdio: ['ignore', 'pipe', 'pipe'],
      uid: 65534,
      gid: 65534,
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/E_CONFIG: --net wan needs root/);
    expect(listNamespaces()).toEqual(before);
  });

  test('loopback: same API, plain 127.0.0.1, no shaping', async () => {
    topo = await createTopology(parseNetSpec('loopback'));
    expect(topo.hosts.party0).toEqual({ name: 'party0', exec: [], listenHost: '127.0.0.1', dialedAt: ['127.0.0.1'] });
    expect(commandIn(topo.hosts.party0, 'node', ['x.js'])).toEqual({ file: 'node', args: ['x.js'] });
    expect(await topo.connect('party0', 'party1', 4242)).toEqual({ host: '127.0.0.1', port: 4242 });
    const r = await measureLink(topo, 'party0', 'party1', { pings: 20, bulkBytes: 4 << 20 });
    console.log(
      `loopback: median RTT ${r.medianRttMs.toFixed(3)} ms, throughput ${(r.bitsPerS / 1e6).toFixed(0)} Mbit/s`,
    );
    expect(r.medianRttMs).toBeLessThan(5);
  });
});
