/**
 * `npm run eval -- --task <name> --ctx <tokens> [--samples n] [--policy name] [policy options] [--json]
 *   [--fixed] [--model dir] [--placement prompt|decode] [--depth f|spread|random] [--seed s]`
 *
 * Quality of the plaintext reference (float64, or the fixed-point emulation with --fixed) on a
 * synthetic long-context task under a KV-cache policy (`--policy full` by default; `--policy list`
 * names them): accuracy over --samples fresh samples with a Wilson 95 % interval (trials =
 * queries). Policy options (budget, ratios, clusters, layers, ablation switches) are listed in
 * scripts/eval/policy-flags.ts. Needle depths are spread evenly over the context unless --depth
 * says otherwise. Progress goes to stderr; the result to stdout (one JSON object with --json).
 * Exit codes: 0 done, 2 bad flags (E_CONFIG), 1 any other error.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { PolicyAttention, describePolicies, getPolicy, type KvPolicy } from '../shared/kvcache/index.js';
import { loadGpt2, plainBackend, type PlainTypes } from '../shared/model/index.js';
import { tokenizerFor } from '../shared/model/tokenizer/index.js';
import { getTask, type TaskGenerator } from '../shared/tasks/index.js';
import { MpcError, projectPath, toMpcError } from '../shared/util/index.js';
import { humanReport, progressLine, wilson, type EvalReport } from './eval/report.js';
import { POLICY_FLAGS, policyOptionsFromFlags } from './eval/policy-flags.js';
import { evalState, runSample, type DepthRule, type EvalSetup } from './eval/runner.js';

/** A flag holding an integer ≥ min, given as a string by parseArgs. */
const intFlag = (min: number) => z.string({ error: 'is required' }).transform((v, ctx) => {
  const x = Number(v);
  if (v.trim() !== '' && Number.isSafeInteger(x) && x >= min) return x;
  ctx.addIssue({ code: 'custom', message: `must be an integer ≥ ${min}` });
  return z.NEVER;
});

const depthFlag = z.string().transform((v, ctx): DepthRule => {
  if (v === 'spread' || v === 'random') return v;
  const x = Number(v);
  if (v.trim() !== '' && x >= 0 && x <= 1) return x;
  ctx.addIssue({ code: 'custom', message: 'must be a number in [0, 1], spread or random' });
  return z.NEVER;
});

const Flags = z.object({
  task: z.string({ error: 'is required' }),
  ctx: intFlag(1),
  samples: intFlag(1).default(100),
  policy: z.string().default('full'),
  json: z.boolean().default(false),
  fixed: z.boolean().default(false),
  /** Relative to the working directory; the default is the embedded model of this checkout. */
  model: z.string().optional(),
  placement: z.enum(['prompt', 'decode'], { error: 'must be prompt or decode' }).default('prompt'),
  depth: depthFlag.default('spread'),
  seed: intFlag(0).default(0),
});
type Flags = z.infer<typeof Flags> & { readonly kv: KvPolicy };

/** The flags, or 'list' for `--policy list`. */
function parseFlags(argv: string[]): Flags | 'list' {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        task: { type: 'string' }, ctx: { type: 'string' }, samples: { type: 'string' }, policy: { type: 'string' },
        json: { type: 'boolean' }, fixed: { type: 'boolean' }, model: { type: 'string' }, placement: { type: 'string' },
        depth: { type: 'string' }, seed: { type: 'string' }, ...POLICY_FLAGS,
      },
    }));
  } catch (err) {
    throw new MpcError('E_CONFIG', (err as Error).message);
  }
  if (values['policy'] === 'list') return 'list';
  const own = Object.fromEntries(Object.entries(values).filter(([k]) => !(k in POLICY_FLAGS)));
  const r = Flags.safeParse(own);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new MpcError('E_CONFIG', `--${issue?.path.join('.') ?? '?'} ${issue?.message ?? 'is invalid'}`);
  }
  let kv: KvPolicy;
  try {
    kv = getPolicy(r.data.policy, policyOptionsFromFlags(values));
  } catch (err) {
    throw new MpcError('E_CONFIG', `--policy: ${toMpcError(err).message}`);
  }
  return { ...r.data, kv };
}

function modelDir(f: Flags): string {
  return f.model === undefined ? projectPath('models', 'tiny-gpt2') : resolve(f.model);
}

async function setup(f: Flags): Promise<EvalSetup<PlainTypes>> {
  const ops = plainBackend(f.fixed ? 'fixed' : 'float64');
  const policy = PolicyAttention.of(f.kv);
  let task: TaskGenerator;
  try {
    task = getTask(f.task);
  } catch (err) {
    throw new MpcError('E_CONFIG', `--task: ${toMpcError(err).message}`);
  }
  const weights = loadGpt2(modelDir(f));
  if (f.ctx > weights.config.nPositions) {
    throw new MpcError('E_CONFIG', `--ctx ${f.ctx} exceeds the model's ${weights.config.nPositions} positions`);
  }
  const tok = tokenizerFor(weights.config);
  try {
    task.generate({ length: f.ctx, seed: 0, placement: f.placement }, tok);
  } catch (err) {
    throw new MpcError('E_CONFIG', `--ctx: ${toMpcError(err).message}`);
  }
  const params = await ops.prepare(weights);
  return { ops, params, tok, task, policy, ctx: f.ctx, placement: f.placement, depth: f.depth, seed: f.seed, samples: f.samples };
}

async function main(argv: string[]): Promise<void> {
  const f = parseFlags(argv);
  if (f === 'list') {
    process.stdout.write(describePolicies() + '\n');
    return;
  }
  const s = await setup(f);
  const state = evalState(s);
  const t0 = performance.now();
  let correct = 0;
  let queries = 0;
  let budget = 0;
  for (let i = 0; i < f.samples; i++) {
    const r = await runSample(s, state, i);
    correct += r.correct;
    queries += r.queries;
    budget += Math.min(f.kv.budget(r.promptTokens), r.promptTokens);
    process.stderr.write(progressLine(i + 1, f.samples, correct, queries, performance.now() - t0) + '\n');
  }
  const report: EvalReport = {
    task: f.task, ctx: f.ctx, placement: f.placement, depth: f.depth, policy: f.policy, settings: f.kv.settings,
    budgetTokens: budget / f.samples, backend: s.ops.name,
    model: f.model ?? 'models/tiny-gpt2', seed: f.seed, samples: f.samples, queries, correct, accuracy: correct / queries,
    ci95: wilson(correct, queries), secondsPerSample: (performance.now() - t0) / 1000 / f.samples,
  };
  process.stdout.write(f.json ? JSON.stringify(report) + '\n' : humanReport(report));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const e = toMpcError(err);
  process.stderr.write(`eval: ${e.message}\n`);
  process.exitCode = e.code === 'E_CONFIG' ? 2 : 1;
});
