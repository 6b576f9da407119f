/**
 * `npm start`: the main job. Until private generation lands (issue 5) it runs a secure
 * fixed-mask matrix-vector product (768×3072, 4 fresh inputs) across the dealer and both parties
 * as separate processes on loopback, prints the result check and costs, and shuts everything down.
 */
import { launchCluster } from '../shared/runtime/launch.js';
import { runOpOnCluster } from '../shared/runtime/op-runner.js';
import { DEFAULT_LIMITS } from '../shared/net/limits.js';
import { toMpcError } from '../shared/util/errors.js';

async function main(): Promise<number> {
  process.stdout.write('starting dealer, party 0 and party 1 on loopback …\n');
  const cluster = await launchCluster({ timeoutMs: DEFAULT_LIMITS.timeoutMs });
  try {
    const r = await runOpOnCluster(cluster.clientUrls, 'matvec', { rows: 768, cols: 3072, repeat: 4 }, 1, { timeoutMs: DEFAULT_LIMITS.timeoutMs, maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes });
    process.stdout.write(`secure W·x (${r.shape}): ${r.ok ? 'matches float64' : 'MISMATCH'} (max abs error ${r.maxAbsErr.toExponential(2)})\n`);
    process.stdout.write(`online bytes p0→p1 ${r.online.p0_to_p1}, p1→p0 ${r.online.p1_to_p0} in ${r.rounds} rounds; weight mask opened once: ${r.setup?.p0_to_p1 ?? 0} bytes\n`);
    process.stdout.write(`dealer bytes → p0 ${r.dealer.to_p0} (seed), → p1 ${r.dealer.to_p1}; ${r.ms} ms\n`);
    return r.ok ? 0 : 1;
  } finally {
    await cluster.stop();
  }
}

main().then((c) => { process.exitCode = c; }, (e: unknown) => { process.stderr.write(`start: ${toMpcError(e).message}\n`); process.exitCode = 2; });
