/**
 * BENCHMARK MODE ONLY — not private. A Prims wrapper that, while `revealing` is on, computes every
 * interactive operation except fixed-mask products *in the clear*: on a party it opens the
 * operation's secret inputs (one round, 8 B per element each way, no dealer material), applies the
 * emulation's exact ring function (ClearPrims) and continues with the result as a trivial sharing
 * (party 0 holds it, party 1 holds 0); on the dealer it deals nothing for these operations. Local
 * operations and fixed-mask matrices (alloc, append, products, rows) always run the real protocol,
 * so the KV cache a revealed prefill leaves behind is a genuine fixed-mask cache whose masks the
 * dealer knows, and the decoding steps after it (`revealing` off) are the real secure protocol.
 *
 * Every result equals ClearPrims' bit for bit, so a run with a revealed prefill produces exactly
 * the emulation's values, selections and tokens. What it gives up: the prompt, its hidden states,
 * the prefill's attention and the cache's values are visible to both parties, and since each linear
 * layer's input and output are opened, so are the weights (a prompt of d tokens determines them).
 * Parties accept it only when started with --allow-test-hooks. Its purpose is measuring decoding at
 * contexts whose secure prefill would need tens of GB of dealer material (docs/eviction-mpc.md);
 * every report of such a run must say that the prefill was revealed.
 */
import { MpcError } from '../../util/errors.js';
import { clear, share, type AnyTensor, type Clear, type Share, type Shape } from '../../ring/tensor.js';
import { Material, type CorrKind } from '../../corr/kind.js';
import type { CorrSource } from '../../corr/stream.js';
import { openRing } from '../open.js';
import type { LutField } from '../lut.js';
import { ClearPrims } from './clear.js';
import { DealerPrims } from './dealer.js';
import type { SecurePrims } from './secure.js';
import type { CmpKOpts, CmpKOut, CmpOut, FixedHandle, FixedView, Prims, PublicConst, SelectView } from './types.js';

/** A correlation source that deals nothing (shapes only). */
const NOTHING: CorrSource = { digest: 0, seq: 0, take: async <P>(_k: CorrKind<P>, _p: P) => new Material() };

type Tree = AnyTensor | readonly Tree[] | { readonly [k: string]: Tree };

function isTensor(x: unknown): x is AnyTensor {
  return typeof x === 'object' && x !== null && 'shape' in x && 'fracBits' in x;
}

function mapTree(x: unknown, f: (t: AnyTensor) => AnyTensor): unknown {
  if (isTensor(x)) return f(x);
  if (Array.isArray(x)) return x.map((y) => mapTree(y, f));
  if (typeof x === 'object' && x !== null) return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, mapTree(v, f)]));
  return x;
}

export class RevealPrims<T extends AnyTensor, F extends FixedHandle> implements Prims<T, F> {
  /** While on, interactive non-fixed operations are computed in the clear (benchmark mode). */
  revealing = false;
  private readonly emu: Prims<Clear, FixedHandle>;
  private readonly shapes = new DealerPrims(NOTHING);

  constructor(readonly inner: Prims<T, F>, emu?: ClearPrims) {
    if (inner.mode === 'secure' && !emu) throw new MpcError('E_INTERNAL', 'a revealing party needs an emulation backend');
    this.emu = (emu ?? null) as unknown as Prims<Clear, FixedHandle>;
  }

  get mode(): Prims['mode'] { return this.inner.mode; }

  /** Runs `fn` in the clear on the revealed inputs (or on shapes on the dealer). */
  private async reveal<R>(inputs: readonly T[], fn: (Q: Prims<AnyTensor, FixedHandle>, xs: AnyTensor[]) => Promise<R>): Promise<R> {
    const P = this.inner;
    if (P.mode === 'clear') return fn(P as unknown as Prims<AnyTensor, FixedHandle>, [...inputs]);
    if (P.mode === 'dealer') return fn(this.shapes as unknown as Prims<AnyTensor, FixedHandle>, [...inputs]);
    const ctx = (P as unknown as SecurePrims).ctx;
    const shares = inputs as readonly AnyTensor[] as readonly Share[];
    const opened = await openRing(ctx, 'reveal', shares.map((s) => s.data));
    const out = await fn(this.emu as unknown as Prims<AnyTensor, FixedHandle>, shares.map((s, i) => clear(s.shape, opened[i]!, s.fracBits)));
    return mapTree(out, (t) => share(t.shape, ctx.me === 0 ? (t as Clear).data : new BigUint64Array((t as Clear).data.length), t.fracBits)) as R;
  }

  private via<R extends Tree | CmpOut<T> | CmpKOut<T>>(inputs: readonly T[], direct: () => Promise<R>, fn: (Q: Prims<AnyTensor, FixedHandle>, xs: AnyTensor[]) => Promise<unknown>): Promise<R> {
    return this.revealing ? this.reveal(inputs, fn) as Promise<R> : direct();
  }

  phase(name: string): void { this.inner.phase(name); }
  scope<R>(label: string, fn: () => Promise<R>): Promise<R> { return this.inner.scope(label, fn); }

  add(a: T, b: T): T { return this.inner.add(a, b); }
  sub(a: T, b: T): T { return this.inner.sub(a, b); }
  neg(a: T): T { return this.inner.neg(a); }
  addPublic(a: T, c: PublicConst): T { return this.inner.addPublic(a, c); }
  mulPublic(a: T, c: PublicConst, cFrac: number): T { return this.inner.mulPublic(a, c, cFrac); }
  mulInt(a: T, k: number): T { return this.inner.mulInt(a, k); }
  constant(shape: Shape, c: PublicConst, fracBits: number): T { return this.inner.constant(shape, c, fracBits); }
  sumLast(a: T): T { return this.inner.sumLast(a); }
  reshape(a: T, shape: Shape): T { return this.inner.reshape(a, shape); }
  sliceLast(a: T, start: number, end: number): T { return this.inner.sliceLast(a, start, end); }
  concatLast(xs: readonly T[]): T { return this.inner.concatLast(xs); }
  sliceFirst(a: T, start: number, end: number): T { return this.inner.sliceFirst(a, start, end); }
  concatFirst(xs: readonly T[]): T { return this.inner.concatFirst(xs); }
  transposeLast(a: T): T { return this.inner.transposeLast(a); }
  repeatLast(a: T, k: number): T { return this.inner.repeatLast(a, k); }
  relabel(a: T, fracBits: number): T { return this.inner.relabel(a, fracBits); }
  pick(a: T, shape: Shape, idx: Int32Array): T { return this.inner.pick(a, shape, idx); }

  mul(a: T, b: T): Promise<T> { return this.via([a, b], () => this.inner.mul(a, b), (Q, [x, y]) => Q.mul(x!, y!)); }
  square(a: T): Promise<T> { return this.via([a], () => this.inner.square(a), (Q, [x]) => Q.square(x!)); }
  trunc(a: T, s: number): Promise<T> {
    if (s === 0) return this.inner.trunc(a, 0); // returns its input in every backend
    return this.via([a], () => this.inner.trunc(a, s), (Q, [x]) => Q.trunc(x!, s));
  }
  cmpMul(x: T, ys: readonly T[]): Promise<CmpOut<T>> {
    // a payload that *is* x stays x (cmpMul's identity rule)
    return this.via([x, ...ys], () => this.inner.cmpMul(x, ys), (Q, [a, ...bs]) => Q.cmpMul(a!, bs.map((b, i) => (ys[i] === x ? a! : b))));
  }
  cmpK(x: T, o: CmpKOpts<T>): Promise<CmpKOut<T>> {
    const ys = o.payloads ?? [];
    return this.via([x, ...ys], () => this.inner.cmpK(x, o), (Q, [a, ...bs]) => Q.cmpK(a!, { ...o, payloads: o.payloads ? bs : undefined } as CmpKOpts<AnyTensor>));
  }
  lut(x: T, k: number, fields: readonly LutField[]): Promise<T[]> { return this.via([x], () => this.inner.lut(x, k, fields), (Q, [a]) => Q.lut(a!, k, fields)); }
  matmul(a: T, b: T): Promise<T> { return this.via([a, b], () => this.inner.matmul(a, b), (Q, [x, y]) => Q.matmul(x!, y!)); }
  mulSeg(x: T, y: T, lengths: readonly number[]): Promise<T> { return this.via([x, y], () => this.inner.mulSeg(x, y, lengths), (Q, [a, b]) => Q.mulSeg(a!, b!, lengths)); }
  mulBit(b: T, ys: readonly T[]): Promise<T[]> { return this.via([b, ...ys], () => this.inner.mulBit(b, ys), (Q, [a, ...cs]) => Q.mulBit(a!, cs)); }

  fixedAlloc(id: string, groups: number, rowsCap: number, cols: number, fracBits: number): Promise<F> { return this.inner.fixedAlloc(id, groups, rowsCap, cols, fracBits); }
  fixedAppend(w: F, rows: T): Promise<void> { return this.inner.fixedAppend(w, rows); }
  fixedCopy(dst: F, src: F, segs: readonly (readonly [number, number])[]): Promise<void> { return this.inner.fixedCopy(dst, src, segs); }
  fixedMatmul(x: T, w: F, layout: 'nt' | 'nn', rows?: number | FixedView): Promise<T> { return this.inner.fixedMatmul(x, w, layout, rows); }
  fixedSelect(x: T, sel: T, w: F, layout: 'nt' | 'nn', view: SelectView): Promise<T> { return this.inner.fixedSelect(x, sel, w, layout, view); }
  fixedFree(w: F): void { this.inner.fixedFree(w); }
  fixedRows(w: F, rows: readonly number[]): T { return this.inner.fixedRows(w, rows); }
  fixedMatmulClient(w: F, K: number, layout: 'nt' | 'nn', fracBits: number, oneHotRows: boolean): Promise<T> { return this.inner.fixedMatmulClient(w, K, layout, fracBits, oneHotRows); }
}
