/**
 * MPCache (Zeng et al., NeurIPS 2025): look-once static eviction at prefill, then (optionally)
 * hierarchical query-aware cluster selection at every step with the linearised score
 * q·(α·kmax + (1 − α)·kmin), and cross-layer index sharing. The machinery is in cluster-policy.ts
 * and clusters.ts.
 *
 * Default (options.ts): static eviction keeps 10 % of the prompt in whole blocks (scored by the
 * last 5 % of the prompt's queries) and every step attends all of it plus the generated tokens, so
 * B = round(0.1 · n) and no dynamic step runs. Why, under MPC: with fixed-mask caches attention
 * costs ~65 B per attended row, so the static set sets the cost; a secret selection among it opens
 * one-hots of (chosen × candidate clusters) entries and costs more than it saves
 * (docs/eviction-mpc.md, "The recipe under MPC"). With `dynamicRatio` < 1 (or a budget) each step
 * attends the head cluster, the tail cluster and ⌊B/S⌋ − 2 chosen fine clusters (S the finest
 * size), at most B tokens: the paper's recipe, ratio 0.2.
 *
 * Ablations (options): `clusters` with one size (no hierarchy), `score: 'bound'` (Quest's exact
 * bound instead of the blend), `shareLayers: 2` (the paper's sharing; off by default here),
 * `static: false` (no static eviction), `staticScore: 'sum'` with single-token blocks (the paper's
 * accumulated static score).
 */
import { clusterPolicy } from './cluster-policy.js';
import { budgetRule, budgetTokens, dynamicRatioOf, type PolicyOptions } from './options.js';
import type { KvPolicy } from './types.js';

export function mpcache(o: PolicyOptions, name = 'mpcache'): KvPolicy {
  const rule = o.score === 'blend' ? ({ kind: 'blend', alpha: o.alpha } as const) : ({ kind: 'bound' } as const);
  // static only (no dynamic step) when the budget is the whole static set
  const dynamic = o.budget !== undefined || dynamicRatioOf(o) < 1 || !o.static;
  return clusterPolicy({
    name,
    static: o.static
      ? {
          ratio: o.staticRatio,
          window: o.windowRatio,
          score: o.staticScore,
          block: o.staticBlock,
          lookback: o.lookback,
        }
      : null,
    cluster: dynamic ? { sizes: o.clusters, rule, forceHead: true, levelRatio: o.levelRatio } : null,
    shareLayers: o.shareLayers,
    denseLayers: o.denseLayers,
    budget: (n) => budgetTokens(o, n),
    settings: {
      budget: budgetRule(o),
      static: o.static ? o.staticRatio : 'off',
      window: o.windowRatio,
      staticScore: o.staticScore,
      staticBlock: o.staticBlock,
      lookback: o.lookback,
      denseLayers: o.denseLayers,
      ...(dynamic
        ? {
            clusters: o.clusters.join(','),
            levelRatio: o.levelRatio,
            score: o.score === 'blend' ? `blend α=${o.alpha}` : 'bound',
            shareLayers: o.shareLayers,
          }
        : { dynamic: 'off' }),
    },
  });
}
