/**
 * The common shape of a policy's session: one `Store` per layer, dense layers that never evict,
 * and a decoding step that appends, asks the policy what to attend to, attends, and lets the
 * policy evict from what it saw. Policies fill in three hooks: `keep` (static, at prefill),
 * `select` (dynamic, before attending) and `attended` (after attending; H2O and TOVA evict there).
 */
import type { AttnMask, BackendTypes, Ops } from '../model/index.js';
import type { KvOps } from './kv-ops.js';
import type { CachePiece } from './eviction-ops.js';
import { MpcError, invariant } from '../util/index.js';
import { Store } from './store.js';
import type { DecodeInput, KvSession, LayerTrace, PrefillInput, SequenceInfo } from './types.js';

/** Causal attention of q [H, n, hd] over a cache whose last n rows are q's own tokens. */
export async function attendAll<B extends BackendTypes>(
  ops: Ops<B>,
  q: B['tensor'],
  cache: B['cache'],
): Promise<{ out: B['tensor']; p: B['tensor'] }> {
  const mask: AttnMask = { kind: 'causal', offset: cache.length - (q.shape[1] as number) };
  const chunked = await ops.attendCausal?.(q, cache, mask, true);
  if (chunked) return { out: chunked.out, p: chunked.p! };
  const p = await ops.softmax(await ops.attnScores(q, cache, mask), mask);
  return { out: await ops.attnMix(p, cache, mask), p };
}

/** Rows [a, b) as a piece, or nothing if empty. */
export const rowsPiece = (a: number, b: number): CachePiece<never>[] => (b > a ? [{ rows: [a, b] }] : []);

export abstract class BaseSession<B extends BackendTypes> implements KvSession<B> {
  private readonly stores: Store<B>[] = [];

  constructor(
    protected readonly ops: KvOps<B>,
    protected readonly seq: SequenceInfo<B['tensor']>,
    private readonly denseLayers: number,
  ) {}

  /** Prompt tokens. */
  protected get n(): number {
    return this.seq.promptTokens;
  }

  /** Capacity for a store of m rows that still receives every later token. */
  protected room(m: number): number {
    return m + this.seq.capacity - this.seq.promptTokens;
  }

  protected isDense(layer: number): boolean {
    return layer < this.denseLayers;
  }

  async prefill(layer: number, input: PrefillInput<B>): Promise<void> {
    invariant(
      input.cache.length === this.n,
      'E_INTERNAL',
      () => `prefill of layer ${layer}: cache holds ${input.cache.length} of ${this.n} prompt tokens`,
    );
    const store = new Store(this.ops, input.cache, this.seq.inspect);
    this.stores[layer] = store;
    if (!this.isDense(layer)) await this.keep(layer, store, input);
  }

  async decode(layer: number, input: DecodeInput<B>): Promise<B['tensor']> {
    const store = this.stores[layer];
    if (store === undefined) throw new MpcError('E_INPUT', `decode at layer ${layer} before its prefill`);
    await store.append(input.k, input.v, input.position);
    const dense = this.isDense(layer);
    // a policy sees queries and probabilities per key/value head (summed over the query heads
    // that share it under grouped-query attention): what it selects is rows of that head
    const g = this.seq.heads;
    const pieces = dense ? null : await this.select(layer, store, this.ops.groupHeads(input.q, g));
    const { out, p } = await attendAll(this.ops, input.q, await store.view(pieces));
    if (!dense) await this.attended(layer, store, this.ops.groupHeads(p, g));
    return out;
  }

  trace(layer: number): LayerTrace | null {
    return this.stores[layer]?.trace() ?? null;
  }

  /** The static decision: what of the prompt the layer stores (default: everything). */
  protected async keep(_layer: number, _store: Store<B>, _input: PrefillInput<B>): Promise<void> {}
  /** What the query attends to at this step (null: everything stored); q is [G, 1, hd], per key/value head. */
  protected abstract select(
    layer: number,
    store: Store<B>,
    q: B['tensor'],
  ): Promise<readonly CachePiece<B['tensor']>[] | null>;
  /** Sees the step's attention probabilities [G, 1, T] over the attended rows, per key/value head (default: nothing). */
  protected async attended(_layer: number, _store: Store<B>, _p: B['tensor']): Promise<void> {}
}
