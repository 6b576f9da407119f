/**
 * Measures a link of a topology for real: a probe server (scripts/netem-probe.ts serve) in the
 * destination host and a probe client (… measure) in the source host, dialling through the
 * topology, so the figures include the namespaces, tbf and the relay exactly as the runtime sees them.
 */
import { z } from 'zod';
import { withTimeout } from '../util/time.js';
import { firstJsonLine, spawnScript } from './child.js';
import type { ProbeResult } from './probe.js';
import type { HostName, Topology } from './topology.js';

export interface MeasureOptions {
  /** Ping-pong round trips (their median is the RTT). */
  readonly pings: number;
  /** Bytes of the bulk transfer. */
  readonly bulkBytes: number;
  readonly timeoutMs?: number;
}

const Listening = z.object({ port: z.number().int() });
const Result = z.object({
  rttMs: z.array(z.number()),
  medianRttMs: z.number(),
  bitsPerS: z.number(),
  bulkBytes: z.number(),
});

/**
 * RTT and throughput from `src` to `dst` through `topo`.
 * @throws MpcError E_TIMEOUT after `timeoutMs` (default 60 s), E_INTERNAL if a probe fails.
 */
export async function measureLink(
  topo: Topology,
  src: HostName,
  dst: HostName,
  opts: MeasureOptions,
): Promise<ProbeResult> {
  const server = spawnScript(topo.hosts[dst].exec, 'netem-probe', ['serve', '--host', topo.hosts[dst].listenHost]);
  try {
    const { port } = Listening.parse(
      await withTimeout(firstJsonLine(server, `probe server in ${dst}`), 10_000, `probe server in ${dst}`),
    );
    const ep = await topo.connect(src, dst, port);
    const client = spawnScript(topo.hosts[src].exec, 'netem-probe', [
      'measure',
      '--host',
      ep.host,
      '--port',
      String(ep.port),
      '--pings',
      String(opts.pings),
      '--bulk-bytes',
      String(opts.bulkBytes),
    ]);
    try {
      return Result.parse(
        await withTimeout(
          firstJsonLine(client, `probe client in ${src}`),
          opts.timeoutMs ?? 60_000,
          `probe ${src} → ${dst}`,
        ),
      );
    } finally {
      await client.stop();
    }
  } finally {
    await server.stop();
  }
}
