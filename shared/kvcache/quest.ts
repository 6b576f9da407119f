/**
 * Quest (Tang et al., ICML 2024): per-head pages of P tokens (default 16) with channel-wise
 * kmax/kmin, scored every step by the exact bound Σ_i max(q_i·kmax_i, q_i·kmin_i); the top pages are
 * attended. Nothing is evicted; dense first layers as in the paper (the shared `denseLayers`).
 *
 * Budget B: the newest page (partial or full, so the current token is always seen) plus ⌊B/P⌋ − 1
 * chosen full pages; no sink page is forced (Quest picks it by score if it matters).
 *
 * MPC cost per step and head: 2·C·hd products and C·hd comparisons for the scores (C pages), a
 * top-k over C, a page gather; summaries when a page fills (research notes §2.5, §4).
 */
import { clusterPolicy } from './cluster-policy.js';
import { budgetRule, budgetTokens, type PolicyOptions } from './options.js';
import type { KvPolicy } from './types.js';

export function quest(o: PolicyOptions): KvPolicy {
  return clusterPolicy({
    name: 'quest',
    static: null,
    cluster: { sizes: [o.page], rule: { kind: 'bound' }, forceHead: false, levelRatio: 1 },
    shareLayers: 1,
    denseLayers: o.denseLayers,
    budget: (n) => budgetTokens(o, n),
    settings: { budget: budgetRule(o), page: o.page, denseLayers: o.denseLayers },
  });
}
