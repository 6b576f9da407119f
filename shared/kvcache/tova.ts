/**
 * TOVA, token omission via attention (Oren et al., EMNLP 2024): at most B tokens; whenever the
 * cache is full, the current query's attention probabilities, averaged over heads, decide which
 * B − 1 tokens stay (one set per layer, shared by the heads; no sinks, no recency window). At the
 * end of prefill the last prompt query decides. Each step attends to the B − 1 stored tokens and
 * itself. Under MPC: a top-k over B and a compaction gather every step and layer.
 */
import type { BackendTypes, Ops } from '../model/index.js';
import { kvOps, type KvOps } from './kv-ops.js';
import { budgetRule, budgetTokens, type PolicyOptions } from './options.js';
import { BaseSession } from './session.js';
import type { Store } from './store.js';
import type { KvPolicy, KvSession, PrefillInput, SequenceInfo } from './types.js';

class TovaSession<B extends BackendTypes> extends BaseSession<B> {
  private readonly b: number;

  constructor(ops: KvOps<B>, seq: SequenceInfo<B['tensor']>, o: PolicyOptions) {
    super(ops, seq, o.denseLayers);
    this.b = budgetTokens(o, seq.promptTokens);
  }

  /** Keeps the B − 1 rows the last query of p attended to most (head mean). */
  private async reduce(store: Store<B>, p: B['tensor']): Promise<void> {
    const rows = p.shape[1] as number;
    const s = await this.ops.sumQueries(p, rows - 1, rows, true);
    await store.compact([{ select: await this.ops.topk(s, this.b - 1), block: 1, offset: 0 }], this.b);
  }

  protected override async keep(_layer: number, store: Store<B>, input: PrefillInput<B>): Promise<void> {
    if (store.length > this.b - 1) await this.reduce(store, input.p);
  }

  protected async select(): Promise<null> {
    return null; // at most B rows are ever stored
  }

  protected override async attended(_layer: number, store: Store<B>, p: B['tensor']): Promise<void> {
    if (store.length >= this.b) await this.reduce(store, p);
  }
}

export function tova(o: PolicyOptions): KvPolicy {
  return {
    name: 'tova',
    inputDependent: true,
    settings: { budget: budgetRule(o), denseLayers: o.denseLayers },
    budget: (n) => budgetTokens(o, n),
    begin<B extends BackendTypes>(ops: Ops<B>, seq: SequenceInfo<B['tensor']>): KvSession<B> {
      return new TovaSession(kvOps(ops, seq.onSelection), seq, o);
    },
  };
}
