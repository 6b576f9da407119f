/**
 * `npm run op -- <name> [--param value …] [--seed n] [--timeout-ms ms] [--in-process]`
 *
 * Starts the dealer, party 0 and party 1 as separate processes on loopback, feeds seeded random
 * inputs, checks the result against float64 and prints one JSON line:
 * {"op","shape","ok","maxAbsErr","ms","online":{"p0_to_p1","p1_to_p0"},"dealer":{"to_p0","to_p1"},"rounds",…}
 * (bytes are whole-session totals on each link, frame headers and session set-up included).
 * Exit code 0 when ok, 1 when the check failed, 2 on errors.
 */
import { splitArgv } from '../shared/config/argv.js';
import { toMpcError } from '../shared/util/errors.js';
import { getOp, OPS } from '../shared/runtime/ops/index.js';
import { launchCluster } from '../shared/runtime/launch.js';
import { parseOpParams, runOpInProcess, runOpOnCluster } from '../shared/runtime/op-runner.js';
import { DEFAULT_LIMITS } from '../shared/net/limits.js';

const RUNNER_FLAGS = new Set(['seed', 'timeoutMs', 'inProcess', 'breakdown', 'logLevel']);

async function main(): Promise<number> {
  const { positional, flags } = splitArgv(process.argv.slice(2));
  const name = positional[0];
  if (!name || flags['help']) {
    process.stderr.write(`usage: npm run op -- <name> [--param value …] [--seed n] [--in-process] [--breakdown]\nops:\n${OPS.map((o) => `  ${o.name.padEnd(12)} ${o.summary}`).join('\n')}\n`);
    return name ? 0 : 2;
  }
  const op = getOp(name);
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flags)) {
    if (RUNNER_FLAGS.has(k)) continue;
    raw[k] = v === true ? true : /^-?\d+(\.\d+)?(e-?\d+)?$/i.test(v) ? Number(v) : v;
  }
  parseOpParams(op, raw); // fail fast on bad parameters, before starting processes
  const seed = flags['seed'] !== undefined ? Number(flags['seed']) : Math.floor(Math.random() * 1e9);
  const timeoutMs = flags['timeoutMs'] !== undefined ? Number(flags['timeoutMs']) : DEFAULT_LIMITS.timeoutMs;
  let summary;
  if (flags['inProcess']) {
    summary = await runOpInProcess(name, raw, seed);
  } else {
    process.stderr.write(`op ${name}: starting dealer, party 0 and party 1 …\n`);
    const logLevel = typeof flags['logLevel'] === 'string' ? flags['logLevel'] : undefined;
    const cluster = await launchCluster({ timeoutMs, logLevel, stderr: logLevel ? 'inherit' : 'buffer' });
    try {
      summary = await runOpOnCluster(cluster.clientUrls, name, raw, seed, { timeoutMs, maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes, tls: cluster.clientTls });
    } finally {
      await cluster.stop();
    }
  }
  if (!flags['breakdown']) delete summary.breakdown;
  process.stdout.write(JSON.stringify(summary) + '\n');
  return summary.ok ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (e: unknown) => {
  process.stderr.write(`op: ${toMpcError(e).message}\n`);
  process.exitCode = 2;
});
