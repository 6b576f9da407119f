/**
 * MPCache (Zeng et al., NeurIPS 2025): look-once static eviction at prefill, then hierarchical
 * query-aware cluster selection at every step with the linearised score q·(α·kmax + (1 − α)·kmin),
 * and cross-layer index sharing. The machinery is in cluster-policy.ts and clusters.ts.
 *
 * Budget B (options.ts; default round(0.3 · 0.2 · n), the paper's "6 % = 30 % static × 20 %
 * dynamic"): static eviction keeps about round(staticRatio · n) prompt tokens in whole blocks
 * (cluster-policy.ts); each step attends to the head cluster, the tail cluster and ⌊B/S⌋ − 2
 * chosen fine clusters (S the finest size), so at most B tokens, about dynamicRatio of the static
 * survivors.
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
  const rule = o.score === 'blend' ? { kind: 'blend', alpha: o.alpha } as const : { kind: 'bound' } as const;
  // static only (no dynamic step) when the budget is the whole static set
  const dynamic = o.budget !== undefined || dynamicRatioOf(o) < 1 || !o.static;
  return clusterPolicy({
    name,
    static: o.static ? { ratio: o.staticRatio, window: o.windowRatio, score: o.staticScore, block: o.staticBlock, lookback: o.lookback } : null,
    cluster: dynamic ? { sizes: o.clusters, rule, forceHead: true, levelRatio: o.levelRatio } : null,
    shareLayers: o.shareLayers,
    denseLayers: o.denseLayers,
    budget: (n) => budgetTokens(o, n),
    settings: {
      budget: budgetRule(o), static: o.static ? o.staticRatio : 'off', window: o.windowRatio, staticScore: o.staticScore,
      staticBlock: o.staticBlock, lookback: o.lookback, denseLayers: o.denseLayers,
      ...(dynamic ? { clusters: o.clusters.join(','), levelRatio: o.levelRatio, score: o.score === 'blend' ? `blend α=${o.alpha}` : 'bound', shareLayers: o.shareLayers } : { dynamic: 'off' }),
    },
  });
}
