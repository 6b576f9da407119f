/**
 * `Prims`: the primitive operations every higher protocol (non-linear functions, the model's
 * layers, eviction) is written against, with three implementations:
 *
 * - secure (two parties, over `protocol/`): tensors are `Share`s;
 * - clear (the fixed-point emulation): tensors are `Clear` ring values, every operation the exact
 *   ring function the secure one computes (same truncations, same comparisons) — so a program
 *   over Prims gives bit-identical results in both, by construction;
 * - dealer: tensors are `ShapeOnly`; each interactive operation takes the same correlations as
 *   its secure twin. Running a program on the dealer's Prims *is* generating its schedule.
 *
 * Rules for programs over Prims: branch only on public data (shapes, constants); never read
 * tensor data; take every interactive step through these methods. Every operation returns a
 * new tensor object (except `trunc(a, 0)`, which returns `a` in all three), because `cmpMul`
 * recognises a payload that *is* its input by object identity and reuses its opening.
 */
import type { AnyTensor, Shape } from '../../ring/tensor.js';

/** A public real constant: a scalar, one value per position of the last axis, or one per element. */
export type PublicConst = number | Float64Array;

export interface CmpOut<T> {
  /** [x ≥ 0] as an integer (fracBits 0). */
  bit: T;
  /** [x ≥ 0] · y_j for each payload. */
  prods: T[];
}

export interface FixedHandle {
  readonly kind: 'fixed';
  readonly id: string;
  readonly groups: number;
  readonly rowsCap: number;
  readonly cols: number;
  readonly fracBits: number;
  rowsUsed: number;
}

export interface Prims<T extends AnyTensor = AnyTensor, F extends FixedHandle = FixedHandle> {
  readonly mode: 'secure' | 'clear' | 'dealer';

  /** Names the phase that following traffic is metered under (e.g. 'setup' for weight masking). */
  phase(name: string): void;

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

  // ---------------------------------------------------------------- interactive
  /** Exact element-wise product, scale fa + fb. b may be broadcast along a's last axis. */
  mul(a: T, b: T): Promise<T>;
  square(a: T): Promise<T>;
  /** ⌊a / 2^s⌋ exactly; scale − s. Domain |a| < 2^62. */
  trunc(a: T, s: number): Promise<T>;
  /** b = [x ≥ 0] and b·y for each payload (a payload may be x itself). Exact. */
  cmpMul(x: T, ys: readonly T[]): Promise<CmpOut<T>>;

  // ---------------------------------------------------------------- fixed-mask matrices
  fixedAlloc(id: string, groups: number, rowsCap: number, cols: number, fracBits: number): Promise<F>;
  /** Appends rows ([groups, k, cols]) to a fixed matrix (opens their masked values once). */
  fixedAppend(w: F, rows: T): Promise<void>;
  /** x: [groups, K, in] → 'nt': [groups, K, rows] · 'nn': [groups, K, cols]. */
  fixedMatmul(x: T, w: F, layout: 'nt' | 'nn', rows?: number): Promise<T>;
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
  fixedMatmulClient(w: F, K: number, layout: 'nt' | 'nn', fracBits: number): Promise<T>;
}

