/**
 * The ring backends' KV cache and the views eviction policies attend to.
 *
 * `RingKVCache`: one layer's keys and values as two fixed-mask matrices of `heads` groups
 * (allocated on first append): a product with a query or with probabilities opens only that input.
 *
 * `RingCacheView`: what `gatherCache` returns when the rows are only attended (use 'attend'):
 * the pieces themselves, over one source cache, nothing gathered. Attention over a view
 * (ring/view-attention.ts) multiplies the query and the probabilities with the public row ranges of
 * the source by fixed products and with the selected blocks by `fixedSelect`, which opens only
 * the input and the one-hot over clusters: the chosen rows are never built, re-masked or opened.
 * A view is read-only; anything else that needs its rows (a gather from it) builds them as a
 * stored cache first (`materialize` in ring/eviction.ts).
 */
import { MpcError, invariant } from '../../util/errors.js';
import type { AnyTensor } from '../../ring/tensor.js';
import type { FixedHandle, Prims } from '../../protocol/prims/types.js';
import type { KVCache } from '../ops/types.js';

/** One layer's KV cache as two fixed-mask matrices of `heads` groups; allocated on first append. */
export class RingKVCache<T extends AnyTensor, F extends FixedHandle> implements KVCache<T> {
  k: F | undefined;
  v: F | undefined;
  constructor(
    protected readonly P: Prims<T, F>,
    readonly id: string,
    readonly heads: number,
    readonly headDim: number,
    readonly capacity: number,
  ) {}

  get length(): number {
    return this.k?.rowsUsed ?? 0;
  }

  async append(k: T, v: T): Promise<void> {
    await this.appendWith(k, v, []);
  }

  /**
   * Appends k and v in one batched round (prims/batch.ts) together with `others`, which may read
   * the new rows (a product over them: the rows are reserved when the appends are taken, and their
   * masked values are written before a later branch resumes). Returns the others' results.
   */
  async appendWith<R>(k: T, v: T, others: ReadonlyArray<() => Promise<R>>): Promise<R[]> {
    invariant(
      k.shape.length === 3 && k.shape[0] === this.heads && k.shape[2] === this.headDim,
      'E_SHAPE',
      `cache append of [${k.shape.join(', ')}]`,
    );
    invariant(
      this.length + k.shape[1]! <= this.capacity,
      'E_INPUT',
      `KV cache '${this.id}' is full (${this.capacity} tokens)`,
    );
    this.k ??= await this.P.fixedAlloc(`${this.id}.k`, this.heads, this.capacity, this.headDim, k.fracBits);
    this.v ??= await this.P.fixedAlloc(`${this.id}.v`, this.heads, this.capacity, this.headDim, v.fracBits);
    const K = this.k,
      V = this.v;
    const out = await this.P.parallel<R | undefined>([
      async () => void (await this.P.fixedAppend(K, k)),
      async () => void (await this.P.fixedAppend(V, v)),
      ...others,
    ]);
    return out.slice(2) as R[];
  }

  /** Appends rows of another cache at public segments: copies of the fixed-mask rows (no bytes, no round). */
  async appendRows(src: RingKVCache<T, F>, segs: readonly (readonly [number, number])[]): Promise<void> {
    const rows = segs.reduce((t, [a, b]) => t + b - a, 0);
    invariant(
      src.k !== undefined && src.v !== undefined && src.heads === this.heads && src.headDim === this.headDim,
      'E_SHAPE',
      `copy into cache '${this.id}' from an empty or different cache`,
    );
    invariant(
      this.length + rows <= this.capacity,
      'E_INPUT',
      `KV cache '${this.id}' is full (${this.capacity} tokens)`,
    );
    this.k ??= await this.P.fixedAlloc(`${this.id}.k`, this.heads, this.capacity, this.headDim, src.k.fracBits);
    this.v ??= await this.P.fixedAlloc(`${this.id}.v`, this.heads, this.capacity, this.headDim, src.v.fracBits);
    await this.P.fixedCopy(this.k, src.k, segs);
    await this.P.fixedCopy(this.v, src.v, segs);
  }

  reset(): void {
    if (this.k) this.P.fixedFree(this.k);
    if (this.v) this.P.fixedFree(this.v);
    this.k = this.v = undefined;
  }
}

/** A piece of a view: public source rows [a, b), or the blocks a selection [G, k, n] picks from rows offset.. */
export type ViewPiece<T> =
  | { readonly kind: 'rows'; readonly start: number; readonly end: number }
  | { readonly kind: 'select'; readonly sel: T; readonly block: number; readonly offset: number };

/** Rows a piece contributes to the view. */
export function pieceRows<T extends AnyTensor>(p: ViewPiece<T>): number {
  return p.kind === 'rows' ? p.end - p.start : p.sel.shape[1]! * p.block;
}

/** Source rows a piece reads: [start, end). */
export function pieceSpan<T extends AnyTensor>(p: ViewPiece<T>): [number, number] {
  return p.kind === 'rows' ? [p.start, p.end] : [p.offset, p.offset + p.sel.shape[2]! * p.block];
}

/** The rows some pieces pick from a source cache, attended without being gathered. */
export class RingCacheView<T extends AnyTensor, F extends FixedHandle> extends RingKVCache<T, F> {
  constructor(
    P: Prims<T, F>,
    id: string,
    readonly src: RingKVCache<T, F>,
    readonly pieces: readonly ViewPiece<T>[],
    rows: number,
  ) {
    super(P, id, src.heads, src.headDim, rows);
  }

  override get length(): number {
    return this.capacity;
  }

  override async append(): Promise<void> {
    throw new MpcError('E_INPUT', `cache view '${this.id}' is read-only (gather with room to store rows)`);
  }

  /** A view owns no storage: nothing to free. */
  override reset(): void {}
}
