/**
 * Link probe for the emulated networks (docs/network.md).
 *
 *   netem-probe serve --host <addr>         probe server; prints {"port":…}, runs until stdin closes
 *   netem-probe measure --host <addr> --port <p> [--pings n] [--bulk-bytes n]
 *                                           prints one JSON ProbeResult
 *   netem-probe bench --net <spec> [--pings n] [--bulk-mb n] [--from party0] [--to party1]
 *                                           builds the topology (root), measures one link, prints
 *                                           JSON with the relay's CPU time; e.g. --net wan
 */
import { z } from 'zod';
import { parseFlags, splitArgv } from '../shared/config/argv.js';
import { toMpcError } from '../shared/util/errors.js';
import { HOSTS, createTopology, measureLink, parseNetSpec, probeEndpoint, serveProbe } from '../shared/netem/index.js';

const Serve = z.object({ host: z.string() });
const Measure = z.object({ host: z.string(), port: z.number().int(), pings: z.number().int().positive().default(50), bulkBytes: z.number().int().positive().default(16 << 20) });
const Bench = z.object({
  net: z.string(), pings: z.number().int().positive().default(100), bulkMb: z.number().positive().default(16),
  from: z.enum(HOSTS).default('party0'), to: z.enum(HOSTS).default('party1'),
});

async function main(): Promise<void> {
  const { positional, flags } = splitArgv(process.argv.slice(2));
  if (positional[0] === 'serve') {
    const f = parseFlags(Serve, flags, 'netem-probe serve');
    const server = await serveProbe(f.host);
    process.stdout.write(JSON.stringify({ port: server.port }) + '\n');
    process.stdin.resume();
    process.stdin.once('end', () => { void server.close().then(() => process.exit(0)); });
  } else if (positional[0] === 'measure') {
    const f = parseFlags(Measure, flags, 'netem-probe measure');
    process.stdout.write(JSON.stringify(await probeEndpoint({ host: f.host, port: f.port }, { pings: f.pings, bulkBytes: f.bulkBytes })) + '\n');
    process.exit(0);
  } else if (positional[0] === 'bench') {
    const f = parseFlags(Bench, flags, 'netem-probe bench');
    const topo = await createTopology(parseNetSpec(f.net));
    try {
      const before = await topo.relayStats();
      const r = await measureLink(topo, f.from, f.to, { pings: f.pings, bulkBytes: Math.round(f.bulkMb * 2 ** 20) });
      const after = await topo.relayStats();
      const sorted = [...r.rttMs].sort((a, b) => a - b);
      process.stdout.write(JSON.stringify({
        net: topo.spec, link: `${f.from} → ${f.to}`, medianRttMs: r.medianRttMs,
        p10RttMs: sorted[Math.floor(0.1 * (sorted.length - 1))], p90RttMs: sorted[Math.floor(0.9 * (sorted.length - 1))],
        mbitPerS: r.bitsPerS / 1e6, bulkBytes: r.bulkBytes,
        relayCpuMs: after.cpuUserMs + after.cpuSystemMs - before.cpuUserMs - before.cpuSystemMs,
      }) + '\n');
    } finally {
      await topo.close();
    }
  } else {
    process.stderr.write('usage: netem-probe serve|measure|bench … (see scripts/netem-probe.ts)\n');
    process.exitCode = 2;
  }
}

main().catch((e: unknown) => {
  process.stderr.write(toMpcError(e).message + '\n');
  process.exit(2);
});
