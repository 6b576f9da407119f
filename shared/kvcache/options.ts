/**
 * Policy options (public configuration) and the budget rule every policy shares.
 *
 * The budget B is the number of tokens a query attends to at a decoding step, at most, in every
 * layer that is not dense, the current token included. All policies compared at one budget attend
 * at most B tokens at every step, so the softmax and mixing work per step is equal.
 *
 * `budget` < 1 is a fraction of the prompt (B = round(budget · n)); ≥ 1 is a number of tokens.
 * Without it, B = round(staticRatio · dynamicRatio · n), applied to every policy: 10 % by default
 * (MPCache keeps 10 % of the prompt and attends all of it; the paper's "6 % = 30 % static × 20 %
 * dynamic" is `--static-ratio 0.3 --dynamic-ratio 0.2`). How each policy spends B is in its file's
 * header. Why these defaults: docs/eviction-mpc.md ("The recipe under MPC").
 */
import { z } from 'zod';
import { MpcError } from '../util/index.js';

const ratio = z.number().gt(0).max(1);

export const PolicyOptionsSchema = z
  .strictObject({
    /** Attended tokens per step: a fraction of the prompt (< 1) or a count (integer ≥ 1). */
    budget: z
      .number()
      .positive()
      .refine((b) => b < 1 || Number.isInteger(b), 'must be a fraction below 1 or a whole number of tokens')
      .optional(),
    /** MPCache: fraction of the prompt the look-once static eviction keeps. */
    staticRatio: ratio.default(0.1),
    /**
     * MPCache: fraction of the static survivors attended per step (sets the budget when none is
     * given). Default 1: no dynamic step (under MPC it costs more than it saves; the paper's is 0.2).
     */
    dynamicRatio: ratio.optional(),
    /**
     * MPCache: fraction of the prompt (its last queries) whose attention scores the static eviction.
     * The paper's 0.2 lets the window's own local attention outrank the needle at small static ratios.
     */
    windowRatio: ratio.default(0.05),
    /**
     * MPCache: a key's static score from the window's head-mean attention, the most any one query gave it
     * or the sum; a block's score is then the largest or the sum of its keys' (and its lookback's).
     */
    staticScore: z.enum(['max', 'sum']).default('max'),
    /** MPCache: static eviction keeps whole blocks of this many consecutive tokens (1 = single tokens). */
    staticBlock: z.number().int().positive().default(8),
    /** MPCache: a block's static score also counts the keys of this many blocks just before it. */
    lookback: z.number().int().min(0).default(2),
    /** MPCache: weight of kmax in the cluster score q·(α·kmax + (1 − α)·kmin). */
    alpha: z.number().min(0).max(1).default(0.6),
    /**
     * MPCache: cluster sizes from coarse to fine; each divides the previous. The paper's 32,16 are
     * BPE tokens of 7B models; the embedded byte-level model needs finer clusters (docs/eviction-study.md).
     */
    clusters: z.array(z.number().int().positive()).min(1).default([4, 2]),
    /** MPCache: fraction of the clusters of each coarser level kept as parents for the next (the released code's ratio1). */
    levelRatio: ratio.default(0.5),
    /**
     * MPCache: how many adjacent layers share one selection (1 = no sharing, the default: on the
     * 4-layer embedded model adjacent layers read different tokens; the paper shares pairs).
     */
    shareLayers: z.number().int().positive().default(1),
    /** Every policy: the first layers attend to the full cache (never evicted), as Quest does (default none). */
    denseLayers: z.number().int().min(0).default(0),
    /** MPCache: the cluster score; 'bound' is Quest's Σ max(q·kmax, q·kmin) (ablation). */
    score: z.enum(['blend', 'bound']).default('blend'),
    /** MPCache: the look-once static eviction at prefill (off = dynamic selection over the whole prompt). */
    static: z.boolean().default(true),
    /** StreamingLLM: attention-sink tokens at the start. */
    sinks: z.number().int().min(0).default(4),
    /** H2O: fraction of the budget given to the most recent tokens (the rest to heavy hitters). */
    recentRatio: ratio.default(0.5),
    /** SnapKV: observation window (last prompt queries) and recent tokens kept. */
    window: z.number().int().positive().default(16),
    /** SnapKV: max-pooling kernel over positions (odd). */
    pool: z
      .number()
      .int()
      .positive()
      .refine((k) => k % 2 === 1, 'must be odd')
      .default(5),
    /** Quest: page size. */
    page: z.number().int().positive().default(16),
  })
  .refine((o) => o.budget === undefined || o.dynamicRatio === undefined, {
    message: 'give a budget or a dynamic ratio, not both (budget = static ratio × dynamic ratio)',
    path: ['budget'],
  });

const DYNAMIC_RATIO = 1;

/** The paper's dynamic ratio (ratio2 of the released code): what the dynamic-step ablations use. */
export const PAPER_DYNAMIC_RATIO = 0.2;

/** MPCache's dynamic ratio (the default when none is given). */
export function dynamicRatioOf(o: PolicyOptions): number {
  return o.dynamicRatio ?? DYNAMIC_RATIO;
}

export type PolicyOptions = z.infer<typeof PolicyOptionsSchema>;
export type PolicyOptionsInput = z.input<typeof PolicyOptionsSchema>;

/**
 * Validates options.
 * @throws MpcError E_CONFIG naming the first bad option.
 */
export function parsePolicyOptions(raw: unknown): PolicyOptions {
  const r = PolicyOptionsSchema.safeParse(raw ?? {});
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new MpcError('E_CONFIG', `policy option ${issue?.path.join('.') || '?'}: ${issue?.message ?? 'invalid'}`);
  }
  const c = r.data.clusters;
  c.forEach((s, i) => {
    if (i > 0 && s >= (c[i - 1] as number))
      throw new MpcError('E_CONFIG', `cluster sizes ${c.join(',')} must decrease`);
    if (i > 0 && (c[i - 1] as number) % s !== 0)
      throw new MpcError('E_CONFIG', `cluster sizes ${c.join(',')}: each must divide the previous`);
  });
  return r.data;
}

/** The budget B in tokens for a prompt of n tokens (at least 1). */
export function budgetTokens(o: PolicyOptions, n: number): number {
  const b = o.budget;
  const tokens = b === undefined ? Math.round(o.staticRatio * dynamicRatioOf(o) * n) : b < 1 ? Math.round(b * n) : b;
  return Math.max(1, tokens);
}

/** A short public description of the budget rule, for reports. */
export function budgetRule(o: PolicyOptions): string {
  const b = o.budget;
  if (b === undefined) return `${+(o.staticRatio * dynamicRatioOf(o)).toFixed(4)} of prompt`;
  return b < 1 ? `${b} of prompt` : `${b} tokens`;
}
