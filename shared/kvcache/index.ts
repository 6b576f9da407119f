/**
 * KV-cache policies: the interface, the registry by name, and the forward-pass adapters.
 *
 * Names: `full`, `mpcache` and its ablations (`mpcache-dynamic`: the paper's per-step cluster
 * selection on top of the static set; `mpcache-single`, `-bound`, `-share`: that with one cluster
 * level, Quest's exact score, adjacent layers sharing selections; `mpcache-nostatic`: no static
 * eviction; `mpcache-sumstatic`: the paper's summed single-token static score), `streamingllm`, `h2o`, `h2o-prefill`,
 * `snapkv`, `quest`, `tova`, `oracle`. Every one takes the same options (options.ts) and uses
 * the ones that concern it; all compared policies share one budget rule.
 */
import type { FloatTensor } from '../model/index.js';
import { MpcError } from '../util/index.js';
import { full } from './full.js';
import { h2o, h2oPrefill } from './h2o.js';
import { mpcache } from './mpcache.js';
import { PAPER_DYNAMIC_RATIO, dynamicRatioOf, parsePolicyOptions, type PolicyOptions } from './options.js';
import { oracle } from './oracle.js';
import { quest } from './quest.js';
import { snapKv } from './snapkv.js';
import { streamingLlm } from './streaming.js';
import { tova } from './tova.js';
import type { Inspector, KvPolicy } from './types.js';

export type { DecodeInput, Inspector, KvPolicy, KvSession, LayerTrace, PrefillInput, SequenceInfo } from './types.js';
export {
  PolicyOptionsSchema,
  parsePolicyOptions,
  budgetTokens,
  budgetRule,
  type PolicyOptions,
  type PolicyOptionsInput,
} from './options.js';
export { PolicyAttention, PrefillFanout } from './attention.js';
export { ClusterIndex, clusterLayout, levelCounts, type ClusterConfig, type ClusterLayout } from './clusters.js';
export { staticPlan, type StaticPlan, type StaticSpec } from './cluster-policy.js';
export type { BlockAgg, CachePiece, ClusterScoreRule, ClusterSeries, EvictionOps, GatherUse } from './eviction-ops.js';
export { floatEvictionOps } from './float-eviction.js';
export { RingEviction, TOPK_WIDTH, type SelectionHook } from './ring-eviction.js';
export { kvOps, type KvOps } from './kv-ops.js';
export { pickPositions } from './store.js';

/** Reads float64 tensors for traces (plaintext runs only). */
export const floatInspector: Inspector<FloatTensor> = (t) => t;

interface Entry {
  readonly description: string;
  readonly make: (o: PolicyOptions) => KvPolicy;
}

const ablation =
  (name: string, change: (o: PolicyOptions) => Partial<PolicyOptions>): Entry['make'] =>
  (o) =>
    mpcache({ ...o, ...change(o) }, name);

/** The dynamic step on (the paper's ratio over the static set) unless the options already set one. */
const withDynamic = (o: PolicyOptions): Partial<PolicyOptions> =>
  o.budget === undefined && dynamicRatioOf(o) >= 1 ? { dynamicRatio: PAPER_DYNAMIC_RATIO } : {};

const POLICIES: Readonly<Record<string, Entry>> = {
  full: { description: 'full cache (ceiling)', make: () => full() },
  mpcache: {
    description:
      'MPCache: look-once static top-k of blocks (10 % by default, attended whole); the dynamic cluster selection with --dynamic-ratio < 1',
    make: (o) => mpcache(o),
  },
  'mpcache-dynamic': {
    description: "MPCache ablation: the paper's dynamic step (hierarchical cluster selection, 20 % of the static set)",
    make: ablation('mpcache-dynamic', withDynamic),
  },
  'mpcache-single': {
    description: 'MPCache ablation: the dynamic step with one cluster level (the finest)',
    make: ablation('mpcache-single', (o) => ({
      ...withDynamic(o),
      clusters: [o.clusters[o.clusters.length - 1] as number],
    })),
  },
  'mpcache-bound': {
    description: "MPCache ablation: the dynamic step with Quest's exact bound instead of the α-blend",
    make: ablation('mpcache-bound', (o) => ({ ...withDynamic(o), score: 'bound' })),
  },
  'mpcache-share': {
    description: 'MPCache ablation: the dynamic step, adjacent layer pairs sharing one selection (the paper)',
    make: ablation('mpcache-share', (o) => ({ ...withDynamic(o), shareLayers: 2 })),
  },
  'mpcache-nostatic': {
    description: 'MPCache ablation: no static eviction',
    make: ablation('mpcache-nostatic', () => ({ static: false })),
  },
  'mpcache-sumstatic': {
    description: 'MPCache ablation: static top-k of single tokens by summed window attention (the paper)',
    make: ablation('mpcache-sumstatic', () => ({ staticScore: 'sum', staticBlock: 1, lookback: 0 })),
  },
  streamingllm: { description: 'StreamingLLM: sinks + recent window', make: streamingLlm },
  h2o: {
    description: 'H2O, decode-time: heavy hitters by accumulated attention + recent, one eviction per step',
    make: h2o,
  },
  'h2o-prefill': {
    description: 'H2O, one-shot at prefill: heavy hitters by prefill column sums + sliding recent window',
    make: h2oPrefill,
  },
  snapkv: {
    description: 'SnapKV: observation-window votes, max-pooled, per-head top-k at prefill + sliding window',
    make: snapKv,
  },
  quest: { description: 'Quest: per-head pages scored by the exact min/max bound every step', make: quest },
  tova: { description: "TOVA: keep the top B − 1 by the current query's head-mean attention, every step", make: tova },
  oracle: { description: 'oracle top-k by exact attention per head per step (plaintext ceiling)', make: oracle },
};

/** Every registered policy name. */
export function policyNames(): string[] {
  return Object.keys(POLICIES);
}

/** One line per policy: name and description. */
export function describePolicies(): string {
  return Object.entries(POLICIES)
    .map(([n, e]) => `${n.padEnd(17)} ${e.description}`)
    .join('\n');
}

/**
 * The policy `name` with `options` (validated; defaults as in options.ts).
 * @throws MpcError E_CONFIG on an unknown name or invalid options.
 */
export function getPolicy(name: string, options: unknown = {}): KvPolicy {
  const entry = Object.prototype.hasOwnProperty.call(POLICIES, name) ? POLICIES[name] : undefined;
  if (entry === undefined)
    throw new MpcError('E_CONFIG', `unknown policy "${name}" (known: ${policyNames().join(', ')})`);
  return entry.make(parsePolicyOptions(options));
}
