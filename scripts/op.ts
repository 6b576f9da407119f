/**
 * `npm run op -- <name> [--param value …] [--seed n] [--timeout-ms ms] [--in-process] [--breakdown]`
 * (`--help` lists the ops; `npm run op -- <name> --help` the op's parameters)
 *
 * Starts the dealer, party 0 and party 1 as separate processes on loopback, feeds seeded random
 * inputs, checks the result against float64 and prints one JSON line:
 * {"op","shape","ok","maxAbsErr","ms","online":{"p0_to_p1","p1_to_p0"},"dealer":{"to_p0","to_p1"},"rounds",…}
 * (bytes are whole-session totals on each link, frame headers and session set-up included).
 * Exit code 0 when ok, 1 when the check failed, 2 on errors.
 */
import { commandFlags } from '../shared/config/index.js';
import { MpcError, toMpcError } from '../shared/util/errors.js';
import { launchCluster } from '../shared/runtime/launch.js';
import { runOpInProcess, runOpOnCluster } from '../shared/runtime/op-runner.js';
import { DEFAULT_LIMITS } from '../shared/net/limits.js';
import { commandOf, splitOpFlags } from './op/command.js';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const { op, spec } = commandOf(argv);
  const { flags, positionals } = commandFlags(spec, argv); // --help: the op's parameters, or the list of ops
  if (!op) throw new MpcError('E_CONFIG', 'name the op first: npm run op -- <name> [flags] (--help lists the ops)');
  // fail fast on bad parameters, before starting processes
  const { params, runner: f } = splitOpFlags(op, flags, positionals);
  const seed = f.seed ?? Math.floor(Math.random() * 1e9);
  let summary;
  if (f.inProcess) {
    summary = await runOpInProcess(op.name, params, seed);
  } else {
    process.stderr.write(`op ${op.name}: starting dealer, party 0 and party 1 …\n`);
    const cluster = await launchCluster({
      timeoutMs: f.timeoutMs,
      logLevel: f.logLevel,
      stderr: f.logLevel ? 'inherit' : 'buffer',
    });
    try {
      summary = await runOpOnCluster(cluster.clientUrls, op.name, params, seed, {
        timeoutMs: f.timeoutMs,
        maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes,
        tls: cluster.clientTls,
      });
    } finally {
      await cluster.stop();
    }
  }
  if (!f.breakdown) delete summary.breakdown;
  process.stdout.write(JSON.stringify(summary) + '\n');
  return summary.ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`op: ${toMpcError(e).message}\n`);
    process.exitCode = 2;
  },
);
