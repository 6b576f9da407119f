/**
 * `npm run study -- [--tasks passkey,niah] [--ctx 1024,2048] [--placements prompt,decode]
 *   [--policies full,mpcache,…] [--samples n] [policy options] [--model dir] [--fixed] [--seed s]
 *   [--depth spread] [--out results/eviction-study.jsonl] [--report docs/eviction-study.md] [--render-only]`
 *
 * The eviction quality study: every policy on a grid of tasks × contexts × question placements,
 * `--samples` samples per cell (default 4, a smoke run; use ≥ 200 for results). Each sample is
 * prefilled once and answered under every policy (they all prefill with full attention), so a
 * cell costs about one prefill per sample plus the policies' decoding steps. All policies share
 * the policy options (one budget rule, dense layers, …; scripts/eval/policy-flags.ts).
 *
 * Records go to --out as JSON lines, one per sample and policy, flushed per sample; a rerun with
 * the same settings resumes (done samples are skipped) and one with other settings is refused.
 * At the end (or with --render-only) cells are aggregated with Wilson 95 % intervals into
 * <report>.json, Markdown tables between the markers of --report, and one SVG chart per task.
 * Progress goes to stderr. Exit codes: 0 done, 2 bad flags (E_CONFIG), 1 any other error.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { z } from 'zod';
import { commandFlags } from '../shared/config/index.js';
import {
  budgetRule,
  floatInspector,
  getPolicy,
  policyNames,
  type KvPolicy,
  type PolicyOptions,
} from '../shared/kvcache/index.js';
import { plainBackend, type PlainTypes } from '../shared/model/index.js';
import { loadAnyModel, prepareAnyModel } from '../shared/model/ring/any-model.js';
import { tokenizerFor } from '../shared/model/tokenizer/index.js';
import { getTask, type Placement } from '../shared/tasks/index.js';
import { MpcError, projectPath, toMpcError } from '../shared/util/index.js';
import { POLICY_FLAGS, policyOptionsOf } from './eval/policy-flags.js';
import {
  DEPTH_FLAG,
  evalState,
  runSampleFanout,
  type DepthRule,
  type SampleResult,
  type SampleSetup,
} from './eval/runner.js';
import { aggregate, cellKey, readRecords, type StudyRecord } from './study/aggregate.js';
import { markdown, svgChart, writeBetweenMarkers } from './study/render.js';

const STUDY = {
  usage: 'npm run study -- [flags] [policy flags]',
  summary:
    'The eviction quality study: every policy on a grid of tasks × contexts × question placements, --samples ' +
    'samples per cell; records go to --out (a rerun resumes), then Wilson 95 % intervals into --report.',
  flags: z.object({
    tasks: z.array(z.string()).default(['passkey']).describe('tasks of the grid'),
    ctx: z.array(z.number().int().min(1)).default([1024, 2048]).describe('context lengths of the grid, in tokens'),
    placements: z
      .array(z.enum(['prompt', 'decode']))
      .default(['prompt', 'decode'])
      .describe('question placements of the grid'),
    policies: z.array(z.string()).default(policyNames()).describe('KV-cache policies compared'),
    samples: z.number().int().min(1).default(4).describe('samples per cell (4 is a smoke run; use ≥ 200 for results)'),
    model: z.string().optional().describe('model folder, GPT-2 or Llama (default: models/tiny-gpt2 of this checkout)'),
    fixed: z.boolean().default(false).describe('the fixed-point emulation instead of float64'),
    seed: z.number().int().min(0).default(0).describe('base seed of the samples'),
    depth: DEPTH_FLAG,
    out: z.string().default('results/eviction-study.jsonl').describe('records, one JSON line per sample and policy'),
    report: z
      .string()
      .default('docs/eviction-study.md')
      .describe('Markdown report (tables between its markers; .json and .svg beside it)'),
    renderOnly: z.boolean().default(false).describe('only aggregate the records of --out into the report'),
    ...POLICY_FLAGS,
  }),
};

interface Flags {
  readonly tasks: string[];
  readonly ctx: number[];
  readonly placements: Placement[];
  readonly policies: string[];
  readonly samples: number;
  readonly options: PolicyOptions;
  readonly model: string;
  readonly fixed: boolean;
  readonly seed: number;
  readonly depth: DepthRule;
  readonly out: string;
  readonly report: string;
  readonly renderOnly: boolean;
}

/** The flags, with names checked now rather than after an hour. */
function parseFlags(argv: string[]): Flags {
  const { flags: f } = commandFlags(STUDY, argv);
  const options = policyOptionsOf(f);
  for (const p of f.policies) getPolicy(p, options);
  for (const t of f.tasks) {
    try {
      getTask(t);
    } catch (err) {
      throw new MpcError('E_CONFIG', `--tasks: ${toMpcError(err).message}`);
    }
  }
  return {
    ...f,
    options,
    model: f.model === undefined ? projectPath('models', 'tiny-gpt2') : resolve(f.model),
    out: resolve(f.out),
    report: resolve(f.report),
  };
}

/** What must match for records to be resumed: everything that changes a result. */
function settingsOf(f: Flags): Record<string, unknown> {
  return {
    model: f.model,
    backend: f.fixed ? 'fixed' : 'float64',
    seed: f.seed,
    depth: f.depth,
    samples: f.samples,
    options: f.options,
  };
}

/**
 * Refuses to mix records made with other settings into --out; returns a function that appends
 * records (writing the settings beside the file with the first ones).
 */
function recordWriter(f: Flags): (records: readonly StudyRecord[]) => void {
  const metaPath = `${f.out}.meta.json`;
  const mine = JSON.stringify(settingsOf(f));
  if (existsSync(metaPath) && readFileSync(metaPath, 'utf8').trim() !== mine) {
    throw new MpcError(
      'E_CONFIG',
      `${f.out} holds records made with other settings (${metaPath}); choose another --out`,
    );
  }
  return (records) => {
    if (!existsSync(metaPath)) {
      mkdirSync(dirname(f.out), { recursive: true });
      writeFileSync(metaPath, mine + '\n');
    }
    appendFileSync(f.out, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  };
}

function fmtEta(s: number): string {
  return s < 90 ? `${s.toFixed(0)}s` : s < 5400 ? `${(s / 60).toFixed(0)}m` : `${(s / 3600).toFixed(1)}h`;
}

/** One cell of the grid. */
interface Cell {
  readonly task: string;
  readonly ctx: number;
  readonly placement: Placement;
}

/** What every cell's samples share: the flags, the policies, where records go and which are done, the progress. */
interface Study {
  readonly f: Flags;
  readonly policies: KvPolicy[];
  readonly write: (records: readonly StudyRecord[]) => void;
  /** Samples already recorded (`cellKey|i`): a rerun skips them. */
  readonly done: ReadonlySet<string>;
  readonly progress: { readonly total: number; finished: number; ran: number; readonly t0: number };
}

/** The records of one sample, one per policy. */
function recordsOf(
  cell: Cell,
  i: number,
  policies: readonly KvPolicy[],
  results: readonly SampleResult[],
): StudyRecord[] {
  return results.map((r, j) => {
    const policy = policies[j] as KvPolicy;
    return {
      task: cell.task,
      ctx: cell.ctx,
      placement: cell.placement,
      policy: policy.name,
      i,
      correct: r.correct,
      queries: r.queries,
      promptTokens: r.promptTokens,
      budgetTokens: Math.min(policy.budget(r.promptTokens), r.promptTokens),
      ...(r.needleKept === undefined ? {} : { needleKept: r.needleKept }),
    };
  });
}

/** Runs the samples of one cell not yet recorded, writing each sample's records and a progress line. */
async function runCell(study: Study, setup: SampleSetup<PlainTypes>, cell: Cell): Promise<void> {
  const { f, policies, progress } = study;
  const state = evalState(setup);
  const tally = new Map<string, [number, number]>();
  let resumed = 0;
  for (let i = 0; i < f.samples; i++) {
    progress.finished++;
    const keyOf = (policy: string) => `${cellKey({ ...cell, policy })}|${i}`;
    if (policies.every((p) => study.done.has(keyOf(p.name)))) {
      resumed++;
      continue;
    }
    const results = await runSampleFanout(setup, policies, state, i, f.fixed ? undefined : floatInspector);
    const records = recordsOf(cell, i, policies, results);
    study.write(records);
    progress.ran++;
    for (const r of records) {
      const [c, q] = tally.get(r.policy) ?? [0, 0];
      tally.set(r.policy, [c + r.correct, q + r.queries]);
    }
    const per = (performance.now() - progress.t0) / 1000 / progress.ran;
    const accs = [...tally].map(([p, [c, q]]) => `${p} ${((100 * c) / q).toFixed(0)}`).join(' ');
    const scope = resumed > 0 ? `this run's ${i + 1 - resumed}: ` : '';
    process.stderr.write(
      `[study] ${cell.task} ${cell.ctx} ${cell.placement} ${i + 1}/${f.samples}  ${per.toFixed(1)} s/sample  ETA ${fmtEta(per * (progress.total - progress.finished))}  | ${scope}${accs}\n`,
    );
  }
}

/** Runs every cell of the grid: tasks × contexts × placements. */
async function run(f: Flags): Promise<void> {
  const write = recordWriter(f);
  const done = new Set(readRecords(f.out).map((r) => `${cellKey(r)}|${r.i}`));
  const ops = plainBackend(f.fixed ? 'fixed' : 'float64');
  const weights = loadAnyModel(f.model);
  const tok = tokenizerFor(weights.config, f.model);
  const params = await prepareAnyModel(ops, weights);
  const policies: KvPolicy[] = f.policies.map((p) => getPolicy(p, f.options));
  const total = f.tasks.length * f.ctx.length * f.placements.length * f.samples;
  const study: Study = { f, policies, write, done, progress: { total, finished: 0, ran: 0, t0: performance.now() } };
  for (const task of f.tasks) {
    for (const ctx of f.ctx) {
      if (ctx > weights.config.nPositions)
        throw new MpcError('E_CONFIG', `--ctx ${ctx} exceeds the model's ${weights.config.nPositions} positions`);
      for (const placement of f.placements) {
        const { depth, seed, samples } = f;
        const setup = { ops, params, tok, task: getTask(task), ctx, placement, depth, seed, samples };
        await runCell(study, setup, { task, ctx, placement });
      }
    }
  }
}

async function render(f: Flags): Promise<void> {
  const cells = aggregate(readRecords(f.out));
  if (cells.length === 0) throw new MpcError('E_INPUT', `no records in ${f.out}`);
  const o = f.options;
  const meta = [
    `Generated ${new Date().toISOString().slice(0, 10)} from \`${f.out.replace(projectPath() + '/', '')}\`: model \`${f.model.replace(projectPath() + '/', '')}\`, ` +
      `backend ${f.fixed ? 'fixed' : 'float64'}, seed ${f.seed}, depths ${f.depth}.`,
    `Shared policy options: budget ${budgetRule(o)} attended per step, ` +
      `dense layers ${o.denseLayers}; MPCache clusters ${o.clusters.join(',')}, α ${o.alpha}, static ${o.staticRatio} in blocks of ${o.staticBlock} ` +
      `(${o.staticScore} of the head-mean attention of the last ${o.windowRatio} of queries, lookback ${o.lookback} blocks), ` +
      `sharing ${o.shareLayers}; StreamingLLM sinks ${o.sinks}; H2O recent ${o.recentRatio}; SnapKV window ${o.window}, pool ${o.pool}; Quest page ${o.page}.`,
  ].join('\n');
  const base = f.report.replace(/\.md$/, '');
  writeBetweenMarkers(f.report, markdown(cells, meta, basename(base)), 'KV-cache eviction study', 'npm run study');
  writeFileSync(`${base}.json`, JSON.stringify({ settings: settingsOf(f), cells }, null, 1) + '\n');
  for (const task of new Set(cells.map((c) => c.task)))
    writeFileSync(`${base}-${task}.svg`, await svgChart(cells, task)); // docs/eviction-study.md → docs/eviction-study-passkey.svg
  process.stderr.write(`[study] ${cells.length} cells → ${f.report}, ${base}.json\n`);
}

async function main(argv: string[]): Promise<void> {
  const f = parseFlags(argv);
  if (!f.renderOnly) await run(f);
  await render(f);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const e = toMpcError(err);
  process.stderr.write(`study: ${e.message}\n`);
  process.exitCode = e.code === 'E_CONFIG' ? 2 : 1;
});
