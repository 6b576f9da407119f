/**
 * Runs synthetic-task samples through a plaintext backend and scores them: the engine of
 * `npm run eval`. One sample = prefill the prompt, then per query feed its question (decode
 * placement, or every query after the first) and generate greedily until the task's STOP text,
 * EOT or the answer budget; answers are scored exactly by the task's own `score`.
 *
 * The attention policy is a parameter, so eviction policies (kvcache/) plug in without changes
 * here; the backend is a parameter, so the fixed-point emulation runs the same samples.
 * `runSampleFanout` prefills once and answers with several KV policies (every policy prefills with
 * full attention): the same results as one `runSample` per policy, for a fraction of the time.
 */
import { z } from 'zod';
import { PrefillFanout, type Inspector, type KvPolicy, type KvSession } from '../../shared/kvcache/index.js';
import {
  GreedySession,
  createState,
  forward,
  resetState,
  type AttentionPolicy,
  type AnyModelParams,
  type ForwardState,
  type Ops,
  type PlainTypes,
} from '../../shared/model/index.js';
import type { Tokenizer } from '../../shared/model/tokenizer/index.js';
import {
  STOP,
  score,
  segments,
  type Placement,
  type Segments,
  type TaskGenerator,
  type TaskSample,
} from '../../shared/tasks/index.js';
import { MpcError } from '../../shared/util/index.js';

/** Needle depth of sample i of n: one fixed fraction, evenly spread over [0, 1], or the task's random draw. */
export type DepthRule = number | 'spread' | 'random';

/** The --depth flag of eval and study: a number in [0, 1], spread or random. */
export const DEPTH_FLAG = z
  .string()
  .transform((v, ctx): DepthRule => {
    if (v === 'spread' || v === 'random') return v;
    const x = Number(v);
    if (v.trim() !== '' && x >= 0 && x <= 1) return x;
    ctx.addIssue({ code: 'custom', message: 'must be a number in [0, 1], spread or random' });
    return z.NEVER;
  })
  .default('spread')
  .describe('needle depth: a number in [0, 1], spread (evenly over the samples) or random');

/** Everything about a run but the attention policy. */
export interface SampleSetup<B extends PlainTypes> {
  readonly ops: Ops<B>;
  readonly params: AnyModelParams<B>;
  readonly tok: Tokenizer;
  readonly task: TaskGenerator;
  /** Tokens of a whole sample (the task's `length`). */
  readonly ctx: number;
  readonly placement: Placement;
  readonly depth: DepthRule;
  readonly seed: number;
  readonly samples: number;
}

export interface EvalSetup<B extends PlainTypes> extends SampleSetup<B> {
  readonly policy: AttentionPolicy;
}

export interface SampleResult {
  readonly depth: number;
  readonly correct: number;
  readonly queries: number;
  /** Tokens prefilled (budgets given as a fraction of the prompt scale with it). */
  readonly promptTokens: number;
  /**
   * Fraction of the first query's needle tokens the last layer stores right after the prefill
   * (mean over heads); only from `runSampleFanout` with an inspector.
   */
  readonly needleKept?: number;
}

export function depthOf(rule: DepthRule, i: number, n: number): number | 'random' {
  if (rule === 'spread') return n === 1 ? 0.5 : i / (n - 1);
  return rule;
}

/** Distinct, reproducible seeds per sample that do not overlap between nearby base seeds. */
export function sampleSeed(seed: number, i: number): number {
  return (seed * 1_000_003 + i) % Number.MAX_SAFE_INTEGER;
}

/**
 * Most tokens query q may generate so that every later question and at least one answer token
 * still fit in the model's positions. The reference answers always fit (the task keeps a whole
 * sample within `ctx`), so this only cuts answers that are already too long to be right.
 */
function answerBudget(maxAnswer: number, free: number, later: readonly number[]): number {
  return Math.min(maxAnswer, free + 1 - later.reduce((s, q) => s + q + 1, 0));
}

/** Allocates the reusable per-sample state (one KV cache per layer, sized for the model). */
export function evalState<B extends PlainTypes>(s: SampleSetup<B>): ForwardState<B> {
  return createState(s.ops, s.params.config, s.params.config.nPositions);
}

function buildSample<B extends PlainTypes>(s: SampleSetup<B>, i: number): { sample: TaskSample; seg: Segments } {
  const sample = s.task.generate(
    { length: s.ctx, seed: sampleSeed(s.seed, i), placement: s.placement, depth: depthOf(s.depth, i, s.samples) },
    s.tok,
  );
  return { sample, seg: segments(sample, s.tok) };
}

/** After the prefill: per query, feed its question and generate the answer; then score. */
async function answer<B extends PlainTypes>(
  s: SampleSetup<B>,
  session: GreedySession<B>,
  sample: TaskSample,
  seg: Segments,
  i: number,
): Promise<SampleResult> {
  const positions = s.params.config.nPositions;
  const stop = (g: readonly number[]) => s.tok.decode(g).includes(STOP);
  const outputs: string[] = [];
  for (let q = 0; q < seg.steps.length; q++) {
    await session.feed((seg.steps[q] as { feed: number[] }).feed);
    const later = seg.steps.slice(q + 1).map((st) => st.feed.length);
    const budget = answerBudget(s.task.maxAnswerTokens, positions - session.positions, later);
    if (budget < 1)
      throw new MpcError(
        'E_CONFIG',
        `sample ${i} of ${s.task.name} needs more than the model's ${positions} positions; lower --ctx`,
      );
    const out = await session.generate({ maxNewTokens: budget, stop, eot: s.tok.eot });
    outputs.push(s.tok.decode(out.tokens));
  }
  const correct = score(sample, outputs) * sample.queries.length;
  return {
    depth: Number(sample.meta['depth']),
    correct: Math.round(correct),
    queries: sample.queries.length,
    promptTokens: seg.prompt.length,
  };
}

/**
 * Generates sample i, runs it and scores it.
 * @throws MpcError E_INPUT if the task cannot build the sample; E_CONFIG if a sample does not fit
 *   in the model's positions.
 */
export async function runSample<B extends PlainTypes>(
  s: EvalSetup<B>,
  state: ForwardState<B>,
  i: number,
): Promise<SampleResult> {
  const { sample, seg } = buildSample(s, i);
  const session = new GreedySession(s.ops, s.params, state, s.policy);
  await session.prefill(seg.prompt);
  return answer(s, session, sample, seg, i);
}

/** Fraction of positions start..start+len−1 that the session's last layer stores, mean over heads. */
function needleKept(
  session: KvSession<PlainTypes> | null,
  layers: number,
  start: number,
  len: number,
): number | undefined {
  const stored = session?.trace(layers - 1)?.stored;
  if (stored === undefined || !(len > 0)) return undefined;
  const kept = stored.map((rows) => {
    const set = new Set(rows);
    let n = 0;
    for (let p = start; p < start + len; p++) if (set.has(p)) n++;
    return n / len;
  });
  return kept.reduce((a, x) => a + x, 0) / kept.length;
}

/**
 * Sample i under each of `policies` from one shared prefill; results in the order given. With an
 * inspector for the backend's tensors (plaintext), each result also says how much of the needle the
 * policy kept.
 * @throws as runSample.
 */
export async function runSampleFanout<B extends PlainTypes>(
  s: SampleSetup<B>,
  policies: readonly KvPolicy[],
  state: ForwardState<B>,
  i: number,
  inspect?: Inspector<never>,
): Promise<SampleResult[]> {
  const { sample, seg } = buildSample(s, i);
  const fan = new PrefillFanout(policies, inspect);
  resetState(state);
  const logits = await forward(s.ops, s.params, state, seg.prompt, { policy: fan });
  const start = Number(sample.meta['needleToken']),
    len = Number(sample.meta['needleTokens']);
  const results: SampleResult[] = [];
  for (const decoder of fan.decoders()) {
    const kept = needleKept(decoder.session as KvSession<PlainTypes> | null, s.params.config.nLayer, start, len);
    const own = { caches: state.caches, position: state.position };
    const session = GreedySession.resume(s.ops, s.params, own, logits as B['tensor'], decoder);
    const r = await answer(s, session, sample, seg, i);
    results.push(kept === undefined ? r : { ...r, needleKept: kept });
  }
  return results;
}
