/**
 * Link probe for the emulated networks (docs/network.md).
 *
 *   netem-probe serve --host <addr>         probe server; prints {"port":…}, runs until stdin closes
 *   netem-probe measure --host <addr> --port <p> [--pings n] [--bulk-bytes n]
 *                                           prints one JSON ProbeResult
 *   netem-probe bench --net <spec> [--pings n] [--bulk-mb n] [--from party0] [--to party1]
 *                                           builds the topology (root), measures one link and the
 *                                           relay's CPU time (per round trip, per MB, idle), prints
 *                                           one JSON line; e.g. --net wan (docs/network.md)
 *   netem-probe clock [--delay-ms 0.25] [--count 500]
 *                                           lateness of the relay's Clock and its CPU use while
 *                                           waiting, in this process (no root needed)
 */
import { z } from 'zod';
import { commandFlags } from '../shared/config/cli.js';
import { toMpcError } from '../shared/util/errors.js';
import {
  Clock,
  HOSTS,
  createTopology,
  describeNet,
  measureLink,
  parseNetSpec,
  probeEndpoint,
  quantile,
  serveProbe,
  type RelayStats,
  type Topology,
} from '../shared/netem/index.js';

const Serve = z.object({ host: z.string().describe('address to listen on') });
const Measure = z.object({
  host: z.string().describe('probe server address'),
  port: z.number().int().describe('probe server port'),
  pings: z.number().int().positive().default(50).describe('ping-pong round trips'),
  bulkBytes: z
    .number()
    .int()
    .nonnegative()
    .default(16 << 20)
    .describe('bytes of the bulk transfer'),
});
const Bench = z.object({
  net: z.string().describe('loopback, lan, wan or a custom spec (docs/network.md)'),
  pings: z.number().int().positive().default(100).describe('ping-pong round trips'),
  bulkMb: z.number().positive().default(16).describe('MiB of the bulk transfer'),
  from: z.enum(HOSTS).default('party0').describe('source host'),
  to: z.enum(HOSTS).default('party1').describe('destination host'),
});
const USAGE = 'npm run -s build && node dist/scripts/netem-probe.js serve|measure|bench|clock [flags]';
const mode = <S extends Record<string, z.ZodType>>(name: string, flags: z.ZodObject<S>, summary: string) =>
  commandFlags({ usage: USAGE.replace('serve|measure|bench|clock', name), summary, flags }, process.argv.slice(3))
    .flags;

const cpuMs = (s: RelayStats): number => s.cpuUserMs + s.cpuSystemMs;

/** Ping-pong, then bulk, then one idle second, with the relay's CPU time over each. */
async function bench(topo: Topology, f: z.infer<typeof Bench>): Promise<Record<string, unknown>> {
  const s0 = await topo.relayStats();
  const pings = await measureLink(topo, f.from, f.to, { pings: f.pings, bulkBytes: 0 });
  const s1 = await topo.relayStats();
  const bulk = await measureLink(topo, f.from, f.to, { pings: 1, bulkBytes: Math.round(f.bulkMb * 2 ** 20) });
  const s2 = await topo.relayStats();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const s3 = await topo.relayStats();
  const q = (p: number): number => quantile(pings.rttMs, p);
  return {
    net: describeNet(topo.spec),
    link: `${f.from} → ${f.to}`,
    rttMs: { median: pings.medianRttMs, p10: q(0.1), p90: q(0.9), max: q(1) },
    mbitPerS: bulk.bitsPerS / 1e6,
    relayCpu: {
      msPerRoundTrip: (cpuMs(s1) - cpuMs(s0)) / f.pings,
      msPerMb: (cpuMs(s2) - cpuMs(s1)) / f.bulkMb,
      idleMsPerS: cpuMs(s3) - cpuMs(s2),
    },
  };
}

const ClockFlags = z.object({
  delayMs: z.number().nonnegative().default(0.25).describe('delay of each timer'),
  count: z.number().int().positive().default(500).describe('timers in a row'),
});

/** `count` Clock callbacks in a row, each due `delayMs` after the previous one ran: how late they run. */
async function clockLateness(f: z.infer<typeof ClockFlags>): Promise<Record<string, unknown>> {
  const clock = new Clock();
  const late: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const next = (): void => {
      if (late.length === f.count) {
        resolve();
        return;
      }
      const at = performance.now() + f.delayMs;
      clock.at(at, () => {
        late.push(performance.now() - at);
        next();
      });
    };
    next();
  });
  const cpu = process.cpuUsage(cpu0);
  const q = (p: number): number => quantile(late, p);
  return {
    delayMs: f.delayMs,
    lateMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: q(1) },
    cpuPercent: ((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100,
  };
}

async function main(): Promise<void> {
  const which = process.argv[2];
  if (which === 'serve') {
    const f = mode('serve', Serve, 'A probe server: prints {"port":…} and serves until stdin closes.');
    const server = await serveProbe(f.host);
    process.stdout.write(JSON.stringify({ port: server.port }) + '\n');
    process.stdin.resume();
    process.stdin.once('end', () => {
      void server.close().then(() => process.exit(0));
    });
  } else if (which === 'measure') {
    const f = mode('measure', Measure, 'Measures RTT and throughput to a probe server; prints one JSON ProbeResult.');
    process.stdout.write(
      JSON.stringify(await probeEndpoint({ host: f.host, port: f.port }, { pings: f.pings, bulkBytes: f.bulkBytes })) +
        '\n',
    );
    process.exit(0);
  } else if (which === 'bench') {
    const f = mode(
      'bench',
      Bench,
      "Builds the topology (root), measures one link and the relay's CPU time; prints one JSON line.",
    );
    const topo = await createTopology(parseNetSpec(f.net));
    try {
      process.stdout.write(JSON.stringify(await bench(topo, f)) + '\n');
    } finally {
      await topo.close();
    }
  } else if (which === 'clock') {
    process.stdout.write(
      JSON.stringify(
        await clockLateness(
          mode('clock', ClockFlags, "Lateness of the relay's clock and its CPU use (no root needed)."),
        ),
      ) + '\n',
    );
  } else {
    process.stderr.write(`usage: ${USAGE} (--help after a mode lists its flags)\n`);
    process.exitCode = which === '--help' || which === '-h' ? 0 : 2;
  }
}

main().catch((e: unknown) => {
  process.stderr.write(toMpcError(e).message + '\n');
  process.exit(2);
});
