/**
 * StreamingLLM (Xiao et al., ICLR 2024): the first `sinks` tokens (attention sinks, default 4) and
 * the most recent B − sinks tokens, the current one included. Same for every head and layer;
 * nothing depends on the data, so under MPC it is free: public rows of the fixed-masked cache.
 * Prefill is full attention (as in KV-eviction benchmarks); the window then slides, and since the
 * rows are public the policy simply attends to them rather than deleting the middle.
 */
import type { BackendTypes, CachePiece, Ops } from '../model/index.js';
import { budgetRule, budgetTokens, type PolicyOptions } from './options.js';
import { BaseSession, rowsPiece } from './session.js';
import type { Store } from './store.js';
import type { KvPolicy, KvSession, SequenceInfo } from './types.js';

class StreamingSession<B extends BackendTypes> extends BaseSession<B> {
  private readonly b: number;
  private readonly sinks: number;

  constructor(ops: Ops<B>, seq: SequenceInfo<B['tensor']>, o: PolicyOptions) {
    super(ops, seq, o.denseLayers);
    this.b = budgetTokens(o, seq.promptTokens);
    this.sinks = Math.min(o.sinks, this.b - 1);
  }

  protected async select(_layer: number, store: Store<B>): Promise<CachePiece<B['tensor']>[] | null> {
    const t = store.length;
    if (t <= this.b) return null;
    return [...rowsPiece(0, this.sinks), { rows: [t - (this.b - this.sinks), t] }];
  }
}

export function streamingLlm(o: PolicyOptions): KvPolicy {
  return {
    name: 'streamingllm',
    inputDependent: false,
    settings: { budget: budgetRule(o), sinks: o.sinks, denseLayers: o.denseLayers },
    budget: (n) => budgetTokens(o, n),
    begin<B extends BackendTypes>(ops: Ops<B>, seq: SequenceInfo<B['tensor']>): KvSession<B> {
      return new StreamingSession(ops, seq, o);
    },
  };
}
