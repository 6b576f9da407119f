/**
 * Policies built on cluster selection: an optional look-once static eviction at prefill, then a
 * query-aware choice of clusters at every step (`ClusterIndex`), optionally shared by adjacent
 * layers. MPCache and Quest are two settings of it (mpcache.ts, quest.ts).
 *
 * Static eviction (MPCache §2.2, with a fixed public budget instead of the released code's
 * threshold): the prefill's own attention probabilities of the last ⌊windowRatio·n⌋ prompt queries,
 * averaged over heads and summed per key, rank the prompt; the top round(staticRatio·n) tokens are
 * kept, in prompt order, one set for all heads of the layer. This differs from the released code,
 * which recomputes unscaled, unmasked probabilities and keeps every key above a per-dataset
 * threshold (a data-dependent count, which would leak under MPC); reusing the prefill's
 * probabilities costs no extra softmax under MPC.
 *
 * Cross-layer sharing (MPCache §2.4): after the dense layers, groups of `shareLayers` adjacent
 * layers take both the static keep-set and each step's cluster choice from the group's first
 * layer, so the other layers keep no summaries and select nothing.
 */
import type { BackendTypes, CachePiece, Ops } from '../model/index.js';
import { MpcError, invariant } from '../util/index.js';
import { ClusterIndex, type ClusterConfig } from './clusters.js';
import { BaseSession } from './session.js';
import type { Store } from './store.js';
import type { KvPolicy, KvSession, PrefillInput, SequenceInfo } from './types.js';

export interface ClusterPolicySpec {
  readonly name: string;
  /** Fraction of the prompt kept at prefill; null keeps the whole prompt. */
  readonly staticRatio: number | null;
  /** Fraction of the prompt whose queries score the static eviction. */
  readonly windowRatio: number;
  readonly cluster: Omit<ClusterConfig, 'select'>;
  readonly shareLayers: number;
  readonly denseLayers: number;
  /** Attended tokens per step for a prompt of n tokens. */
  readonly budget: (n: number) => number;
  readonly settings: Readonly<Record<string, string | number | boolean>>;
}

/** Fine clusters chosen per step so that head + chosen + tail never exceed the budget B. */
export function clustersForBudget(spec: ClusterPolicySpec, b: number): number {
  const s = spec.cluster.sizes[spec.cluster.sizes.length - 1] as number;
  const forced = spec.cluster.forceHead ? 2 : 1;
  const k = Math.floor(b / s) - forced;
  if (k < 0) throw new MpcError('E_CONFIG', `${spec.name}: a budget of ${b} tokens is below the ${forced * s} tokens of its always-attended clusters (give a larger --budget or smaller --clusters)`);
  return k;
}

export function clusterPolicy(spec: ClusterPolicySpec): KvPolicy {
  return {
    name: spec.name,
    inputDependent: true,
    settings: spec.settings,
    budget: spec.budget,
    check: (n) => { clustersForBudget(spec, spec.budget(n)); },
    begin<B extends BackendTypes>(ops: Ops<B>, seq: SequenceInfo<B['tensor']>): KvSession<B> {
      return new ClusterSession(ops, seq, spec);
    },
  };
}

interface Shared<T> {
  keep?: T;
  step?: { length: number; pieces: readonly CachePiece<T>[] | null };
}

class ClusterSession<B extends BackendTypes> extends BaseSession<B> {
  private readonly cfg: ClusterConfig;
  private readonly kept: number;
  private readonly indexes: ClusterIndex<B>[] = [];
  private readonly shared = new Map<number, Shared<B['tensor']>>();

  constructor(ops: Ops<B>, seq: SequenceInfo<B['tensor']>, private readonly spec: ClusterPolicySpec) {
    super(ops, seq, spec.denseLayers);
    this.cfg = { ...spec.cluster, select: clustersForBudget(spec, spec.budget(seq.promptTokens)) };
    this.kept = spec.staticRatio === null ? this.n : Math.min(this.n, Math.max(1, Math.round(spec.staticRatio * this.n)));
  }

  /** The layer whose choices `layer` follows (itself when it leads a group). */
  private leader(layer: number): number {
    const d = this.spec.denseLayers, g = this.spec.shareLayers;
    return d + Math.floor((layer - d) / g) * g;
  }

  private sharedOf(lead: number): Shared<B['tensor']> {
    let s = this.shared.get(lead);
    if (s === undefined) this.shared.set(lead, (s = {}));
    return s;
  }

  protected override async keep(layer: number, store: Store<B>, input: PrefillInput<B>): Promise<void> {
    const lead = this.leader(layer);
    const shared = this.sharedOf(lead);
    if (this.kept < this.n) {
      if (layer === lead) {
        const w = Math.max(1, Math.floor(this.spec.windowRatio * this.n));
        shared.keep = await this.ops.topk(await this.ops.sumQueries(input.p, this.n - w, this.n, true), this.kept);
      }
      invariant(shared.keep !== undefined, 'E_INTERNAL', `layer ${layer}: no keep-set from layer ${lead}`);
      await store.compact([{ select: shared.keep, block: 1, offset: 0 }], this.room(this.kept));
    }
    if (layer === lead) {
      const index = new ClusterIndex(this.ops, this.cfg);
      await index.update(store.cache);
      this.indexes[layer] = index;
    }
  }

  protected async select(layer: number, store: Store<B>, q: B['tensor']): Promise<readonly CachePiece<B['tensor']>[] | null> {
    const lead = this.leader(layer);
    const shared = this.sharedOf(lead);
    if (layer === lead) {
      const index = this.indexes[layer] as ClusterIndex<B>;
      await index.update(store.cache);
      shared.step = { length: store.length, pieces: await index.select(q, store.length) };
    }
    const step = shared.step;
    invariant(step !== undefined && step.length === store.length, 'E_INTERNAL', `layer ${layer}: no selection from layer ${lead} for this step`);
    return step.pieces;
  }

  /** The cluster index of a leading layer (tests). */
  index(layer: number): ClusterIndex<B> | undefined {
    return this.indexes[layer];
  }
}
