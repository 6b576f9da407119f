/**
 * StreamingLLM (Xiao et al., ICLR 2024): the first `sinks` tokens (attention sinks, default 4) and
 * the most recent B − sinks tokens, the current one included. Same for every head and layer;
 * nothing depends on the data, so under MPC it is free: the rows kept are public positions of the
 * fixed-masked cache (local copies). Prefill is full attention (as in KV-eviction benchmarks); the
 * store then holds sinks and the newest B − 1 − sinks tokens, and after every step the oldest
 * non-sink token leaves.
 */
import type { BackendTypes, Ops } from '../model/index.js';
import { kvOps, type KvOps } from './kv-ops.js';
import { budgetRule, budgetTokens, type PolicyOptions } from './options.js';
import { BaseSession, rowsPiece } from './session.js';
import type { Store } from './store.js';
import type { KvPolicy, KvSession, SequenceInfo } from './types.js';

class StreamingSession<B extends BackendTypes> extends BaseSession<B> {
  private readonly b: number;
  private readonly sinks: number;

  constructor(ops: KvOps<B>, seq: SequenceInfo<B['tensor']>, o: PolicyOptions) {
    super(ops, seq, o.denseLayers);
    this.b = budgetTokens(o, seq.promptTokens);
    this.sinks = Math.min(o.sinks, this.b - 1);
  }

  /** Keeps the sinks and the newest B − 1 − sinks rows: room for the next token. */
  private async slide(store: Store<B>): Promise<void> {
    const t = store.length;
    if (t <= this.b - 1) return;
    await store.compact([...rowsPiece(0, this.sinks), ...rowsPiece(t - (this.b - 1 - this.sinks), t)], this.b);
  }

  protected override async keep(_layer: number, store: Store<B>): Promise<void> {
    await this.slide(store);
  }

  protected async select(): Promise<null> {
    return null; // at most B rows are ever stored
  }

  protected override async attended(_layer: number, store: Store<B>): Promise<void> {
    await this.slide(store);
  }
}

export function streamingLlm(o: PolicyOptions): KvPolicy {
  return {
    name: 'streamingllm',
    inputDependent: false,
    settings: { budget: budgetRule(o), sinks: o.sinks, denseLayers: o.denseLayers },
    budget: (n) => budgetTokens(o, n),
    begin<B extends BackendTypes>(ops: Ops<B>, seq: SequenceInfo<B['tensor']>): KvSession<B> {
      return new StreamingSession(kvOps(ops, seq.onSelection), seq, o);
    },
  };
}
