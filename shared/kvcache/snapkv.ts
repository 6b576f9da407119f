/**
 * SnapKV (Li et al., NeurIPS 2024): at the end of prefill, the last `window` prompt queries (the
 * observation window, default 16) vote: their causal attention probabilities are summed per key
 * and head, max-pooled along the older positions (kernel `pool`, default 5) so neighbours of a hit survive,
 * and each head keeps its top B − window older tokens plus the newest tokens. Afterwards the recent
 * window slides over new tokens (so at most B are attended: the original appends every new token
 * and grows past its budget), and the heavy set stays.
 *
 * Under MPC: window rows are already computed by the prefill; the sum is free, the pooling costs
 * kernel − 1 comparisons per position, then one top-k and gather per layer at prefill.
 */
import type { BackendTypes, Ops } from '../model/index.js';
import { kvOps, type KvOps } from './kv-ops.js';
import { heavyRecentView, keepHeavyRecent, split, type Split } from './heavy.js';
import { budgetRule, budgetTokens, type PolicyOptions } from './options.js';
import { BaseSession } from './session.js';
import type { Store } from './store.js';
import type { KvPolicy, KvSession, PrefillInput, SequenceInfo } from './types.js';

class SnapKvSession<B extends BackendTypes> extends BaseSession<B> {
  private readonly s: Split;

  constructor(
    ops: KvOps<B>,
    seq: SequenceInfo<B['tensor']>,
    private readonly o: PolicyOptions,
  ) {
    super(ops, seq, o.denseLayers);
    this.s = split(budgetTokens(o, seq.promptTokens), o.window);
  }

  protected override async keep(_layer: number, store: Store<B>, input: PrefillInput<B>): Promise<void> {
    const w = Math.min(this.o.window, this.n);
    const votes = await this.ops.sumQueries(input.p, this.n - w, this.n, false);
    // pool over the candidates only (SnapKV pools the prefix before the kept window): a recent
    // token's votes never lift its older neighbour
    const cand = Math.max(1, this.n - (this.s.recent - 1));
    const pooled = await this.ops.maxPool(this.ops.slice(votes, 2, 0, cand), this.o.pool);
    await keepHeavyRecent(this.ops, store, pooled, this.s, this.room(this.s.heavy + this.s.recent - 1));
  }

  protected async select(_layer: number, store: Store<B>): Promise<ReturnType<typeof heavyRecentView>> {
    return heavyRecentView(store.length, this.s);
  }
}

export function snapKv(o: PolicyOptions): KvPolicy {
  return {
    name: 'snapkv',
    inputDependent: true,
    settings: { budget: budgetRule(o), window: o.window, pool: o.pool, denseLayers: o.denseLayers },
    budget: (n) => budgetTokens(o, n),
    begin<B extends BackendTypes>(ops: Ops<B>, seq: SequenceInfo<B['tensor']>): KvSession<B> {
      return new SnapKvSession(kvOps(ops, seq.onSelection), seq, o);
    },
  };
}
