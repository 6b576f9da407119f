/**
 * H2O, heavy-hitter oracle (Zhang et al., NeurIPS 2023), in the two variants the literature uses.
 * Score of a key: the attention probability it received, summed over every query so far, per head.
 * Budget B = heavy + recent, recent = ⌊recentRatio · B⌋ (default half, the paper's split).
 *
 * - `h2o` (decode-time, the paper's): prefill keeps the top `heavy` prompt tokens by column sums
 *   of the causal prefill attention plus the newest recent − 1; each step attends to all B stored
 *   tokens, adds its probabilities to the scores, and evicts one: the lowest-scoring token outside
 *   the recent window. Under MPC: a top-k over B + a compaction gather every step and layer.
 * - `h2o-prefill` (one-shot, as KVCache-Factory benchmarks it): the same choice at prefill only;
 *   afterwards the recent window slides over the new tokens and the heavy set stays. Under MPC:
 *   one top-k and gather per layer at prefill, public row ranges afterwards.
 */
import type { BackendTypes } from '../model/index.js';
import { kvOps, type KvOps } from './kv-ops.js';
import { heavyRecentView, keepHeavyRecent, split, type Split } from './heavy.js';
import { budgetRule, budgetTokens, type PolicyOptions } from './options.js';
import { BaseSession } from './session.js';
import type { Store } from './store.js';
import type { KvPolicy, KvSession, PrefillInput, SequenceInfo } from './types.js';

function splitOf(o: PolicyOptions, n: number): Split {
  const b = budgetTokens(o, n);
  return split(b, Math.floor(o.recentRatio * b));
}

class H2oPrefillSession<B extends BackendTypes> extends BaseSession<B> {
  private readonly s: Split;

  constructor(ops: KvOps<B>, seq: SequenceInfo<B['tensor']>, o: PolicyOptions) {
    super(ops, seq, o.denseLayers);
    this.s = splitOf(o, seq.promptTokens);
  }

  protected override async keep(_layer: number, store: Store<B>, input: PrefillInput<B>): Promise<void> {
    const scores = await this.ops.sumQueries(input.p, 0, this.n, false);
    await keepHeavyRecent(this.ops, store, scores, this.s, this.room(this.s.heavy + this.s.recent - 1));
  }

  protected async select(_layer: number, store: Store<B>): Promise<ReturnType<typeof heavyRecentView>> {
    return heavyRecentView(store.length, this.s);
  }
}

class H2oSession<B extends BackendTypes> extends BaseSession<B> {
  private readonly s: Split;
  private readonly b: number;
  /** Accumulated attention of every stored row, per layer: [H, 1, T]. */
  private readonly acc: B['tensor'][] = [];

  constructor(ops: KvOps<B>, seq: SequenceInfo<B['tensor']>, o: PolicyOptions) {
    super(ops, seq, o.denseLayers);
    this.s = splitOf(o, seq.promptTokens);
    this.b = this.s.heavy + this.s.recent;
  }

  /** Evicts down to B − 1 rows by accumulated score and carries the scores of the kept rows along. */
  private async evict(layer: number, store: Store<B>, scores: B['tensor']): Promise<void> {
    const { ops } = this;
    const t = store.length;
    const kept = await keepHeavyRecent(ops, store, scores, this.s, this.b);
    this.acc[layer] =
      kept === null
        ? scores
        : ops.concat(
            [
              await ops.gather(kept.sel, ops.slice(scores, 2, 0, kept.cand), 'last'),
              ops.slice(scores, 2, kept.cand, t),
            ],
            2,
          );
  }

  protected override async keep(layer: number, store: Store<B>, input: PrefillInput<B>): Promise<void> {
    await this.evict(layer, store, await this.ops.sumQueries(input.p, 0, this.n, false));
  }

  protected async select(): Promise<null> {
    return null; // at most B rows are ever stored
  }

  protected override async attended(layer: number, store: Store<B>, p: B['tensor']): Promise<void> {
    const { ops } = this;
    const t = store.length;
    const acc = this.acc[layer] as B['tensor'];
    const scores = ops.concat([ops.add(acc, ops.slice(p, 2, 0, t - 1)), ops.slice(p, 2, t - 1, t)], 2);
    if (t >= this.b) await this.evict(layer, store, scores);
    else this.acc[layer] = scores;
  }
}

function policy(
  name: string,
  o: PolicyOptions,
  make: <B extends BackendTypes>(ops: KvOps<B>, seq: SequenceInfo<B['tensor']>) => KvSession<B>,
): KvPolicy {
  return {
    name,
    inputDependent: true,
    settings: { budget: budgetRule(o), recentRatio: o.recentRatio, denseLayers: o.denseLayers },
    budget: (n) => budgetTokens(o, n),
    begin: (ops, seq) => make(kvOps(ops, seq.onSelection), seq),
  };
}

export const h2o = (o: PolicyOptions): KvPolicy => policy('h2o', o, (ops, seq) => new H2oSession(ops, seq, o));
export const h2oPrefill = (o: PolicyOptions): KvPolicy =>
  policy('h2o-prefill', o, (ops, seq) => new H2oPrefillSession(ops, seq, o));
