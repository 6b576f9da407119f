/**
 * Policies built on cluster selection: an optional look-once static eviction at prefill, then a
 * query-aware choice of clusters at every step (`ClusterIndex`), optionally shared by adjacent
 * layers. MPCache and Quest are two settings of it (mpcache.ts, quest.ts).
 *
 * Static eviction (MPCache §2.2 of the research notes, with a fixed public budget instead of the
 * released code's threshold, whose count would leak under MPC). From the prefill's own attention
 * probabilities of the last ⌊window·n⌋ prompt queries, averaged over heads, each key gets the most
 * any one of those queries gave it (`max`, the fixed-count form of the released code's "above the
 * threshold for some query") or their sum (`sum`, the paper's "accumulate"). The prompt is cut in
 * blocks of `block` tokens; a block scores the same way over its own keys and those of the
 * `lookback` blocks before it: the largest (`max`: kept if one window query read one of those keys
 * strongly) or the sum (`sum`). A sum over a block also rewards many weakly read keys: on our
 * model a copying head reads back the repeated filler, and summed filler blocks outranked the
 * single token a retrieval head anchors on (the newline before the question), so the answer
 * failed. The first block (the attention sinks) and the last partial block are always kept; the top
 * blocks of the rest fill the budget of round(ratio·n) tokens, in prompt order, one set for all
 * heads of the layer. Why blocks and the lookback: a prefill query that retrieves a fact attends
 * to its first token, while decoding then reads on token by token (a byte-level model copies a
 * five-digit number over five steps); ranking single tokens keeps the first and evicts the rest.
 * Blocks also make the static top-k and the compaction `block` times smaller under MPC. Reusing
 * the prefill's probabilities costs no extra softmax.
 *
 * Cross-layer sharing (MPCache §2.4): after the dense layers, groups of `shareLayers` adjacent
 * layers take both the static keep-set and each step's cluster choice from the group's first
 * layer, so the other layers keep no summaries and select nothing.
 */
import type { BackendTypes, Ops } from '../model/index.js';
import { kvOps, type KvOps } from './kv-ops.js';
import type { CachePiece } from './eviction-ops.js';
import { MpcError, invariant } from '../util/index.js';
import { ClusterIndex, type ClusterConfig } from './clusters.js';
import { BaseSession, rowsPiece } from './session.js';
import type { Store } from './store.js';
import type { KvPolicy, KvSession, PrefillInput, SequenceInfo } from './types.js';

/** The look-once static eviction's public settings (see the header). */
export interface StaticSpec {
  /** Fraction of the prompt kept. */
  readonly ratio: number;
  /** Fraction of the prompt whose last queries score the keys. */
  readonly window: number;
  /** Over window queries, then over a block's keys and its lookback. */
  readonly score: 'max' | 'sum';
  readonly block: number;
  readonly lookback: number;
}

/** Public shape of a static eviction: kept blocks (the first included) out of full blocks, then the partial tail. */
export interface StaticPlan {
  readonly blocks: number;
  readonly kept: number;
  /** Rows after the last full block (always kept). */
  readonly tail: number;
  /** Rows the layer keeps in all. */
  readonly rows: number;
}

/** The static plan for a prompt of n tokens; null when it would keep everything. */
export function staticPlan(st: StaticSpec, n: number): StaticPlan | null {
  const blocks = Math.floor(n / st.block),
    tail = n - blocks * st.block;
  const kept = Math.min(blocks, Math.max(1, Math.round((st.ratio * n - tail) / st.block)));
  return kept >= blocks ? null : { blocks, kept, tail, rows: kept * st.block + tail };
}

export interface ClusterPolicySpec {
  readonly name: string;
  /** Static eviction at prefill; null keeps the whole prompt. */
  readonly static: StaticSpec | null;
  /**
   * The dynamic step: clusters chosen per step within the budget; null for none (static only:
   * every step attends everything stored — the kept prompt rows, about the budget, and every
   * generated token, never evicted, as in the paper: B + t tokens at step t).
   */
  readonly cluster: Omit<ClusterConfig, 'select'> | null;
  readonly shareLayers: number;
  readonly denseLayers: number;
  /** Attended tokens per step for a prompt of n tokens. */
  readonly budget: (n: number) => number;
  readonly settings: Readonly<Record<string, string | number | boolean>>;
}

/** Fine clusters chosen per step so that head + chosen + tail never exceed the budget B. */
export function clustersForBudget(
  spec: ClusterPolicySpec & { cluster: Omit<ClusterConfig, 'select'> },
  b: number,
): number {
  const s = spec.cluster.sizes[spec.cluster.sizes.length - 1] as number;
  const forced = spec.cluster.forceHead ? 2 : 1;
  const k = Math.floor(b / s) - forced;
  if (k < 0)
    throw new MpcError(
      'E_CONFIG',
      `${spec.name}: a budget of ${b} tokens is below the ${forced * s} tokens of its always-attended clusters (give a larger --budget or smaller --clusters)`,
    );
  return k;
}

export function clusterPolicy(spec: ClusterPolicySpec): KvPolicy {
  return {
    name: spec.name,
    inputDependent: true,
    settings: spec.settings,
    budget: spec.budget,
    check: (n) => {
      if (spec.cluster) clustersForBudget({ ...spec, cluster: spec.cluster }, spec.budget(n));
    },
    begin<B extends BackendTypes>(ops: Ops<B>, seq: SequenceInfo<B['tensor']>): KvSession<B> {
      return new ClusterSession(kvOps(ops, seq.onSelection), seq, spec);
    },
  };
}

interface Shared<T> {
  keep?: T;
  step?: { length: number; pieces: readonly CachePiece<T>[] | null };
}

class ClusterSession<B extends BackendTypes> extends BaseSession<B> {
  private readonly cfg: ClusterConfig | null;
  private readonly plan: StaticPlan | null;
  private readonly indexes: ClusterIndex<B>[] = [];
  private readonly shared = new Map<number, Shared<B['tensor']>>();

  constructor(
    ops: KvOps<B>,
    seq: SequenceInfo<B['tensor']>,
    private readonly spec: ClusterPolicySpec,
  ) {
    super(ops, seq, spec.denseLayers);
    const c = spec.cluster;
    this.cfg =
      c === null ? null : { ...c, select: clustersForBudget({ ...spec, cluster: c }, spec.budget(seq.promptTokens)) };
    this.plan = spec.static === null ? null : staticPlan(spec.static, this.n);
  }

  /** The layer whose choices `layer` follows (itself when it leads a group). */
  private leader(layer: number): number {
    const d = this.spec.denseLayers,
      g = this.spec.shareLayers;
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
    const plan = this.plan,
      st = this.spec.static;
    if (plan !== null && st !== null) {
      const S = st.block;
      const chosen: CachePiece<B['tensor']>[] = [];
      if (plan.kept > 1) {
        // else only the forced first block and the tail stay: nothing to rank
        if (layer === lead) {
          const w = Math.max(1, Math.floor(st.window * this.n));
          const perKey =
            st.score === 'max'
              ? await this.ops.maxQueries(input.p, this.n - w, this.n)
              : await this.ops.sumQueries(input.p, this.n - w, this.n, true);
          const rest = await this.ops.blockScores(
            this.ops.slice(perKey, 2, S, plan.blocks * S),
            S,
            st.lookback,
            st.score,
          );
          shared.keep = await this.ops.topk(rest, plan.kept - 1);
        }
        invariant(shared.keep !== undefined, 'E_INTERNAL', `layer ${layer}: no keep-set from layer ${lead}`);
        chosen.push({ select: shared.keep, block: S, offset: S });
      }
      await store.compact(
        [...rowsPiece(0, S), ...chosen, ...rowsPiece(this.n - plan.tail, this.n)],
        this.room(plan.rows),
      );
    }
    if (layer === lead && this.cfg !== null) {
      const index = new ClusterIndex(this.ops, this.cfg);
      await index.update(store.cache);
      this.indexes[layer] = index;
    }
  }

  protected async select(
    layer: number,
    store: Store<B>,
    q: B['tensor'],
  ): Promise<readonly CachePiece<B['tensor']>[] | null> {
    if (this.cfg === null) return null; // static only: attend everything stored
    const lead = this.leader(layer);
    const shared = this.sharedOf(lead);
    if (layer === lead) {
      const index = this.indexes[layer] as ClusterIndex<B>;
      await index.update(store.cache);
      shared.step = { length: store.length, pieces: await index.select(q, store.length) };
    }
    const step = shared.step;
    invariant(
      step !== undefined && step.length === store.length,
      'E_INTERNAL',
      `layer ${layer}: no selection from layer ${lead} for this step`,
    );
    return step.pieces;
  }

  /** The cluster index of a leading layer (tests). */
  index(layer: number): ClusterIndex<B> | undefined {
    return this.indexes[layer];
  }
}
