/**
 * `Prims`: the primitive operations every higher protocol (non-linear functions, the model's
 * layers, eviction) is written against. Local operations act on whatever a role holds; every
 * interactive one is a primitive record (primitives/) run by one of three interpreters:
 *
 * - secure (two parties, secure.ts): tensors are `Share`s; takes the record's item and runs its
 *   secure steps;
 * - clear (the fixed-point emulation, clear.ts): tensors are `Clear` ring values; runs the
 *   record's exact ring function — so a program over Prims gives bit-identical results in both;
 * - dealer (dealer.ts): tensors are `ShapeOnly`; takes the same item as the parties. Running a
 *   program on the dealer's Prims *is* generating its correlation schedule.
 * (reveal.ts is the benchmark-only fourth: interactive steps computed in the clear.)
 *
 * Rules for programs over Prims: branch only on public data (shapes, constants); never read
 * tensor data; take every interactive step through these methods. Every operation returns a
 * new tensor object (except `trunc(a, 0)`, which returns `a` in all three), because `cmpMul`
 * recognises a payload that *is* its input by object identity and reuses its opening.
 */
import type { AnyTensor, Shape } from '../../ring/tensor.js';
import type { FixedHandle } from '../fixed-mask.js';
import type { Primitive } from '../primitive.js';
import type { CmpkOpts, FixedView, LutField, SelectView, XlutField } from '../primitives/index.js';

export type { FixedHandle, FixedView, SelectView };

/** Which truncation protocol a `trunc` uses (same function, different costs). */
export type TruncMode = 'fast' | 'lean';

/** A public real constant: a scalar, one value per position of the last axis, or one per element. */
export type PublicConst = number | Float64Array;

export interface CmpOut<T> {
  /** [x ≥ 0] as an integer (fracBits 0). */
  bit: T;
  /** [x ≥ 0] · y_j for each payload. */
  prods: T[];
}

/** Options of the bounded multi-threshold comparison (primitives/cmpk.ts). */
export interface CmpKOpts<T> extends CmpkOpts {
  /** Secret payloads (x's shape), each multiplied by every b_j. */
  payloads?: readonly T[];
}

export interface CmpKOut<T> {
  /** b_j, shape [...x.shape, thresholds], fracBits 0. */
  bits: T;
  /** b_j·(x − t_j) for each entry of `self`, x's shape and scale. */
  self: T[];
  /** b_j·y_p for each payload, shape [...y.shape, thresholds]. */
  prods: T[];
}

export interface Prims<T extends AnyTensor = AnyTensor, F extends FixedHandle = FixedHandle> {
  readonly mode: 'secure' | 'clear' | 'dealer';

  /** Names the phase that following traffic is metered under (e.g. 'setup' for weight masking). */
  phase(name: string): void;
  /** Runs `fn` with `label` pushed on the meter's scope (labels nest: 'l2.attn.softmax'). */
  scope<R>(label: string, fn: () => Promise<R>): Promise<R>;
  /**
   * Runs independent programs so that their k-th rounds share one frame (prims/batch.ts): the
   * block takes max(rounds) rounds instead of the sum. Branches must not read what another
   * writes (e.g. a fixed matrix another branch appends to). Results in order.
   */
  parallel<R>(fns: ReadonlyArray<() => Promise<R>>): Promise<R[]>;
  /** `parallel` over a tuple of programs, typed per branch. */
  all<const F extends ReadonlyArray<() => Promise<unknown>>>(
    fns: F,
  ): Promise<{ -readonly [K in keyof F]: Awaited<ReturnType<F[K]>> }>;

  // ---------------------------------------------------------------- local
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  neg(a: T): T;
  /** a + c with c encoded at a's scale. */
  addPublic(a: T, c: PublicConst): T;
  /** Exact product with c encoded at `cFrac` fractional bits; result scale a.fracBits + cFrac. */
  mulPublic(a: T, c: PublicConst, cFrac: number): T;
  /** a · k for an integer k (scale unchanged). */
  mulInt(a: T, k: number): T;
  /** A public constant as a tensor (e.g. an initial guess). */
  constant(shape: Shape, c: PublicConst, fracBits: number): T;
  /** Sum over the last axis. */
  sumLast(a: T): T;
  reshape(a: T, shape: Shape): T;
  /** Elements [start, end) of the last axis. */
  sliceLast(a: T, start: number, end: number): T;
  concatLast(xs: readonly T[]): T;
  /** Rows [start, end) of the first axis. */
  sliceFirst(a: T, start: number, end: number): T;
  concatFirst(xs: readonly T[]): T;
  /** Swaps the last two axes. */
  transposeLast(a: T): T;
  /** Repeats each element k times along a new last axis: [..] → [.., k]. */
  repeatLast(a: T, k: number): T;
  /** Re-labels the scale without touching the data (for exact integer/fixed-point views). */
  relabel(a: T, fracBits: number): T;
  /** Public gather: out.flat[i] = a.flat[idx[i]], or 0 where idx[i] < 0 (ragged layouts, pairings). */
  pick(a: T, shape: Shape, idx: Int32Array): T;

  // ---------------------------------------------------------------- interactive (primitives/)
  /**
   * Runs a primitive (primitive.ts) on tensors `xs` with public options `o` (and the fixed-mask
   * matrices it touches): the one entry point every method below goes through.
   */
  run<O, P>(prim: Primitive<O, P>, xs: readonly T[], o: O, ws?: readonly F[]): Promise<T[]>;
  /** Exact element-wise product, scale fa + fb. b may be broadcast along a's last axis. */
  mul(a: T, b: T): Promise<T>;
  square(a: T): Promise<T>;
  /**
   * ⌊a / 2^s⌋ exactly; scale − s. Domain |a| < 2^62. `mode`: 'fast' (trunc: 2 rounds) or 'lean'
   * (trunc.lean: 3 rounds, about a third of the dealer bytes; steps of at most 16 bits); default by
   * size (lean for bulk work).
   */
  trunc(a: T, s: number, mode?: TruncMode): Promise<T>;
  /** b = [x ≥ 0] and b·y for each payload (a payload may be x itself). Exact. */
  cmpMul(x: T, ys: readonly T[]): Promise<CmpOut<T>>;
  /** Bounded comparisons of x against public thresholds, with fused selects (primitives/cmpk.ts). Exact. */
  cmpK(x: T, opts: CmpKOpts<T>): Promise<CmpKOut<T>>;
  /** Digit look-up tables / splines / one-hots of x mod 2^k, one output per field (primitives/lut.ts). Exact. */
  lut(x: T, k: number, fields: readonly LutField[]): Promise<T[]>;
  /**
   * lut's table fields from XOR-shared one-hots (primitives/xlut.ts): the same exact function for a
   * fraction of the dealer bytes, one more round (none with `spec`, at twice its fix bytes).
   */
  xlut(x: T, k: number, fields: readonly XlutField[], spec?: boolean): Promise<T[]>;
  /** Secret × secret matrix product [.., m, k]·[.., k, n], scale fa + fb (primitives/matmul.ts). */
  matmul(a: T, b: T): Promise<T>;
  /** Element-wise product of flat x with y[r] over public segment lengths (ragged rows), scale fx + fy. */
  mulSeg(x: T, y: T, lengths: readonly number[]): Promise<T>;
  /** (b mod 2)·y for each payload, for a secret bit b (fracBits 0). */
  mulBit(b: T, ys: readonly T[]): Promise<T[]>;

  // ---------------------------------------------------------------- fixed-mask matrices
  fixedAlloc(id: string, groups: number, rowsCap: number, cols: number, fracBits: number): Promise<F>;
  /** Appends rows ([groups, k, cols]) to a fixed matrix (opens their masked values once). */
  fixedAppend(w: F, rows: T): Promise<void>;
  /** Appends the rows of `src` at public segments [start, end) to `dst`, masks included: no bytes, no round. */
  fixedCopy(dst: F, src: F, segs: readonly (readonly [number, number])[]): Promise<void>;
  /**
   * x: [groups, K, in] → 'nt': [groups, K, rows] · 'nn': [groups, K, cols]. `rows`: the first rows
   * taking part (default: all in use), or a view (primitives/fixed-product.ts): public row segments, `block`
   * rows per view row ('nn' then gives [groups, K, block·cols]), one input shared by all groups.
   */
  fixedMatmul(x: T, w: F, layout: 'nt' | 'nn', rows?: number | FixedView): Promise<T>;
  /**
   * Products with the rows a secret one-hot selection sel [G, k, n] picks from a fixed matrix (n
   * items of `block` rows from row `offset`; G = groups, or 1 for all groups), without gathering
   * them: 'nt' x [groups, K, cols] → [groups, K, k·block]; 'nn' x [groups, K, k·block] →
   * [groups, K, cols]. Opens only x and the one-hot (primitives/fixed-select.ts).
   */
  fixedSelect(x: T, sel: T, w: F, layout: 'nt' | 'nn', view: SelectView): Promise<T>;
  fixedFree(w: F): void;
  /**
   * Rows of a fixed matrix at public indices, as this holder's share (secure: the online share
   * W_i; clear: the value). Local: e.g. position embeddings at public positions. → [groups, k, cols].
   */
  fixedRows(w: F, rows: readonly number[]): T;
  /**
   * x · W where x ([K, rows] for 'nn', [K, cols] for 'nt', one group) is known only to the client:
   * the client opens x − r itself (it receives r from the parties), so the product costs nothing
   * between the parties (client-assisted embedding, DESIGN §6). Secure and dealer only.
   */
  fixedMatmulClient(w: F, K: number, layout: 'nt' | 'nn', fracBits: number, oneHotRows: boolean): Promise<T>;
}
