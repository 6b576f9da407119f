/**
 * `npm run eval -- --task <name> --ctx <tokens> [--samples n] [--policy full] [--json] [--fixed]
 *   [--model dir] [--placement prompt|decode] [--depth f|spread|random] [--seed s]`
 *
 * Quality of the plaintext reference (float64, or the fixed-point emulation with --fixed) on a
 * synthetic long-context task: accuracy over --samples fresh samples with a Wilson 95 % interval
 * (trials = queries). Needle depths are spread evenly over the context unless --depth says
 * otherwise. Progress goes to stderr; the result to stdout (one JSON object with --json).
 * Exit codes: 0 done, 2 bad flags (E_CONFIG), 1 any other error.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { FULL_ATTENTION, loadGpt2, plainBackend, type AttentionPolicy, type PlainTypes } from '../shared/model/index.js';
import { tokenizerFor } from '../shared/model/tokenizer/index.js';
import { getTask, type TaskGenerator } from '../shared/tasks/index.js';
import { MpcError, projectPath, toMpcError } from '../shared/util/index.js';
import { humanReport, progressLine, wilson, type EvalReport } from './eval/report.js';
import { evalState, runSample, type DepthRule, type EvalSetup } from './eval/runner.js';

/** Attention policies by --policy name; `null` = planned, arrives with the kvcache layer. */
const POLICIES: Readonly<Record<string, AttentionPolicy | null>> = {
  full: FULL_ATTENTION,
  mpcache: null, streamingllm: null, h2o: null, snapkv: null, quest: null, tova: null,
};

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
type Flags = z.infer<typeof Flags>;

function parseFlags(argv: string[]): Flags {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        task: { type: 'string' }, ctx: { type: 'string' }, samples: { type: 'string' }, policy: { type: 'string' },
        json: { type: 'boolean' }, fixed: { type: 'boolean' }, model: { type: 'string' }, placement: { type: 'string' },
        depth: { type: 'string' }, seed: { type: 'string' },
      },
    }));
  } catch (err) {
    throw new MpcError('E_CONFIG', (err as Error).message);
  }
  const r = Flags.safeParse(values);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new MpcError('E_CONFIG', `--${issue?.path.join('.') ?? '?'} ${issue?.message ?? 'is invalid'}`);
  }
  return r.data;
}

function policyNamed(name: string): AttentionPolicy {
  const p = Object.prototype.hasOwnProperty.call(POLICIES, name) ? POLICIES[name] : undefined;
  if (p === undefined) throw new MpcError('E_CONFIG', `unknown --policy "${name}" (known: ${Object.keys(POLICIES).join(', ')})`);
  if (p === null) throw new MpcError('E_CONFIG', `--policy ${name} is not available yet (only full); eviction policies come with the kvcache layer`);
  return p;
}

function modelDir(f: Flags): string {
  return f.model === undefined ? projectPath('models', 'tiny-gpt2') : resolve(f.model);
}

async function setup(f: Flags): Promise<EvalSetup<PlainTypes>> {
  const ops = plainBackend(f.fixed ? 'fixed' : 'float64');
  const policy = policyNamed(f.policy);
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
  const s = await setup(f);
  const state = evalState(s);
  const t0 = performance.now();
  let correct = 0;
  let queries = 0;
  for (let i = 0; i < f.samples; i++) {
    const r = await runSample(s, state, i);
    correct += r.correct;
    queries += r.queries;
    process.stderr.write(progressLine(i + 1, f.samples, correct, queries, performance.now() - t0) + '\n');
  }
  const report: EvalReport = {
    task: f.task, ctx: f.ctx, placement: f.placement, depth: f.depth, policy: f.policy, backend: s.ops.name,
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
