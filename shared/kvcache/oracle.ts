/**
 * Oracle top-k: at every step each head attends to the B cached tokens with the highest exact
 * attention scores (the current token competes too). The ceiling for any dynamic selector at
 * budget B; a plaintext reference, not an MPC design (it needs every score and a top-k over all
 * T tokens per head per step). Nothing is evicted.
 */
import type { BackendTypes, Ops } from '../model/index.js';
import { kvOps, type KvOps } from './kv-ops.js';
import type { CachePiece } from './eviction-ops.js';
import { budgetRule, budgetTokens, type PolicyOptions } from './options.js';
import { BaseSession } from './session.js';
import type { Store } from './store.js';
import type { KvPolicy, KvSession, SequenceInfo } from './types.js';

class OracleSession<B extends BackendTypes> extends BaseSession<B> {
  private readonly b: number;

  constructor(ops: KvOps<B>, seq: SequenceInfo<B['tensor']>, o: PolicyOptions) {
    super(ops, seq, o.denseLayers);
    this.b = budgetTokens(o, seq.promptTokens);
  }

  protected async select(_layer: number, store: Store<B>, q: B['tensor']): Promise<CachePiece<B['tensor']>[] | null> {
    const t = store.length;
    if (t <= this.b) return null;
    const scores = await this.ops.attnScores(q, store.cache, { kind: 'causal', offset: t - 1 });
    return [{ select: await this.ops.topk(scores, this.b), block: 1, offset: 0 }];
  }
}

export function oracle(o: PolicyOptions): KvPolicy {
  return {
    name: 'oracle',
    inputDependent: true,
    settings: { budget: budgetRule(o), denseLayers: o.denseLayers, plaintextOnly: true },
    budget: (n) => budgetTokens(o, n),
    begin<B extends BackendTypes>(ops: Ops<B>, seq: SequenceInfo<B['tensor']>): KvSession<B> {
      return new OracleSession(kvOps(ops, seq.onSelection), seq, o);
    },
  };
}
