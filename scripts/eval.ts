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
import { z } from 'zod';
import { commandFlags } from '../shared/config/index.js';
import { PolicyAttention, describePolicies, getPolicy, type KvPolicy } from '../shared/kvcache/index.js';
import { plainBackend, type PlainTypes } from '../shared/model/index.js';
import { loadAnyModel, prepareAnyModel } from '../shared/model/ring/any-model.js';
import { tokenizerFor } from '../shared/model/tokenizer/index.js';
import { getTask, type TaskGenerator } from '../shared/tasks/index.js';
import { MpcError, projectPath, toMpcError } from '../shared/util/index.js';
import { humanReport, progressLine, wilson, type EvalReport } from './eval/report.js';
import { POLICY_FLAGS, policyOptionsOf } from './eval/policy-flags.js';
import { DEPTH_FLAG, evalState, runSample, type EvalSetup } from './eval/runner.js';

const EVAL = {
  usage: 'npm run eval -- --task <name> --ctx <tokens> [flags] [policy flags]',
  summary:
    'Accuracy of the plaintext reference (float64, or the fixed-point emulation with --fixed) on a synthetic ' +
    'long-context task under a KV-cache policy, over --samples fresh samples, with a Wilson 95 % interval.',
  flags: z.object({
    task: z.string().describe('the task (passkey, niah, mqar, vartrack, …)'),
    ctx: z.number().int().min(1).describe('context length in tokens'),
    samples: z.number().int().min(1).default(100).describe('fresh samples'),
    policy: z.string().default('full').describe('the KV-cache policy (`--policy list` lists them)'),
    json: z.boolean().default(false).describe('print one JSON object'),
    fixed: z.boolean().default(false).describe('the fixed-point emulation instead of float64'),
    model: z
      .string()
      .optional()
      .describe(
        'model folder, GPT-2 or Llama, relative to the working directory (default: models/tiny-gpt2 of this checkout)',
      ),
    placement: z.enum(['prompt', 'decode']).default('prompt').describe('question in the prompt or fed while decoding'),
    depth: DEPTH_FLAG,
    seed: z.number().int().min(0).default(0).describe('base seed of the samples'),
    ...POLICY_FLAGS,
  }),
};
type Flags = z.infer<typeof EVAL.flags> & { readonly kv: KvPolicy };

/** The flags, or 'list' for `--policy list`. */
function parseFlags(argv: string[]): Flags | 'list' {
  // `--policy list` needs no other flag
  if (argv.some((a, i) => a === '--policy=list' || (a === '--policy' && argv[i + 1] === 'list'))) return 'list';
  const { flags } = commandFlags(EVAL, argv);
  let kv: KvPolicy;
  try {
    kv = getPolicy(flags.policy, policyOptionsOf(flags));
  } catch (err) {
    throw new MpcError('E_CONFIG', `--policy: ${toMpcError(err).message}`);
  }
  return { ...flags, kv };
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
  const weights = loadAnyModel(modelDir(f));
  if (f.ctx > weights.config.nPositions) {
    throw new MpcError('E_CONFIG', `--ctx ${f.ctx} exceeds the model's ${weights.config.nPositions} positions`);
  }
  const tok = tokenizerFor(weights.config, modelDir(f));
  try {
    task.generate({ length: f.ctx, seed: 0, placement: f.placement }, tok);
  } catch (err) {
    throw new MpcError('E_CONFIG', `--ctx: ${toMpcError(err).message}`);
  }
  const params = await prepareAnyModel(ops, weights);
  return {
    ops,
    params,
    tok,
    task,
    policy,
    ctx: f.ctx,
    placement: f.placement,
    depth: f.depth,
    seed: f.seed,
    samples: f.samples,
  };
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
    task: f.task,
    ctx: f.ctx,
    placement: f.placement,
    depth: f.depth,
    policy: f.policy,
    settings: f.kv.settings,
    budgetTokens: budget / f.samples,
    backend: s.ops.name,
    model: f.model ?? 'models/tiny-gpt2',
    seed: f.seed,
    samples: f.samples,
    queries,
    correct,
    accuracy: correct / queries,
    ci95: wilson(correct, queries),
    secondsPerSample: (performance.now() - t0) / 1000 / f.samples,
  };
  process.stdout.write(f.json ? JSON.stringify(report) + '\n' : humanReport(report));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const e = toMpcError(err);
  process.stderr.write(`eval: ${e.message}\n`);
  process.exitCode = e.code === 'E_CONFIG' ? 2 : 1;
});
