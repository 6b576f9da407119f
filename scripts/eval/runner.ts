/**
 * Runs synthetic-task samples through a plaintext backend and scores them: the engine of
 * `npm run eval`. One sample = prefill the prompt, then per query feed its question (decode
 * placement, or every query after the first) and generate greedily until the task's STOP text,
 * EOT or the answer budget; answers are scored exactly by the task's own `score`.
 *
 * The attention policy is a parameter, so eviction policies (kvcache/) plug in without changes
 * here; the backend is a parameter, so the fixed-point emulation runs the same samples.
 */
import { GreedySession, createState, type AttentionPolicy, type ForwardState, type ModelParams, type Ops, type PlainTypes } from '../../shared/model/index.js';
import type { Tokenizer } from '../../shared/model/tokenizer/index.js';
import { STOP, score, segments, type Placement, type TaskGenerator } from '../../shared/tasks/index.js';
import { MpcError } from '../../shared/util/index.js';

/** Needle depth of sample i of n: one fixed fraction, evenly spread over [0, 1], or the task's random draw. */
export type DepthRule = number | 'spread' | 'random';

export interface EvalSetup<B extends PlainTypes> {
  readonly ops: Ops<B>;
  readonly params: ModelParams<B>;
  readonly tok: Tokenizer;
  readonly task: TaskGenerator;
  readonly policy: AttentionPolicy;
  /** Tokens of a whole sample (the task's `length`). */
  readonly ctx: number;
  readonly placement: Placement;
  readonly depth: DepthRule;
  readonly seed: number;
  readonly samples: number;
}

export interface SampleResult {
  readonly depth: number;
  readonly correct: number;
  readonly queries: number;
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
export function evalState<B extends PlainTypes>(s: EvalSetup<B>): ForwardState<B> {
  return createState(s.ops, s.params.config, s.params.config.nPositions);
}

/**
 * Generates sample i, runs it and scores it.
 * @throws MpcError E_INPUT if the task cannot build the sample; E_CONFIG if a sample does not fit
 *   in the model's positions.
 */
export async function runSample<B extends PlainTypes>(s: EvalSetup<B>, state: ForwardState<B>, i: number): Promise<SampleResult> {
  const sample = s.task.generate({ length: s.ctx, seed: sampleSeed(s.seed, i), placement: s.placement, depth: depthOf(s.depth, i, s.samples) }, s.tok);
  const seg = segments(sample, s.tok);
  const session = new GreedySession(s.ops, s.params, state, s.policy);
  const positions = s.params.config.nPositions;
  await session.prefill(seg.prompt);
  const stop = (g: readonly number[]) => s.tok.decode(g).includes(STOP);
  const outputs: string[] = [];
  for (let q = 0; q < seg.steps.length; q++) {
    await session.feed((seg.steps[q] as { feed: number[] }).feed);
    const later = seg.steps.slice(q + 1).map((st) => st.feed.length);
    const budget = answerBudget(s.task.maxAnswerTokens, positions - session.positions, later);
    if (budget < 1) throw new MpcError('E_CONFIG', `sample ${i} of ${s.task.name} needs more than the model's ${positions} positions; lower --ctx`);
    const out = await session.generate({ maxNewTokens: budget, stop, eot: s.tok.eot });
    outputs.push(s.tok.decode(out.tokens));
  }
  const correct = score(sample, outputs) * sample.queries.length;
  return { depth: Number(sample.meta['depth']), correct: Math.round(correct), queries: sample.queries.length };
}
