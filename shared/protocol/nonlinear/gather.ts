/**
 * Secret index → secret one-hot, and oblivious gathers of matrix rows by secret one-hots.
 *
 * onehot(idx, n): `lut` with s = 0: open (idx + r) mod 2^w (w = ⌈log2 n⌉ bits, 1 round) and rotate
 *   the dealer's one-hot e_r (8·2^w dealer bytes per index). Exact: the one-hot of idx mod 2^w,
 *   truncated to n entries (all-zero when idx mod 2^w ≥ n).
 * gatherFixed(oh [m, n], M): rows of a matrix held under a fixed mask (weights, the KV cache):
 *   oh·M is `fixedMatmul` ('nn'); it opens only the one-hots masked: 8·n bytes per gathered row,
 *   1 round, 8·cols dealer bytes per row. Exact (one-hot entries are integers: no truncation).
 * gatherSecret(oh [m, n], M [n, d]): rows of a secret matrix with no fixed mask: Beaver matrix
 *   product, 1 round, opens oh and M masked: 8·(m·n + n·d) bytes.
 * gatherIndexFixed(idx [m], M, n): onehot then gatherFixed (2 rounds).
 */
import type { AnyTensor } from '../../ring/tensor.js';
import type { FixedHandle, Prims } from '../prims/types.js';

/** One-hot [..., n] (fracBits 0) of an integer index tensor (fracBits 0). */
export async function onehot<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  idx: T,
  n: number,
): Promise<T> {
  const w = Math.max(1, Math.ceil(Math.log2(n)));
  const [oh] = await P.lut(idx, w, [{ s: 0, w }]);
  return 2 ** w === n ? oh! : P.sliceLast(oh!, 0, n);
}

/** Rows of a fixed-mask matrix selected by one-hots: [m, n]·M[n rows] → [m, cols] at M's scale. */
export async function gatherFixed<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, oh: T, M: F): Promise<T> {
  const n = oh.shape[oh.shape.length - 1]!;
  return P.fixedMatmul(oh, M, 'nn', n);
}

export async function gatherIndexFixed<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  idx: T,
  M: F,
  n: number,
): Promise<T> {
  return gatherFixed(P, P.reshape(await onehot(P, idx, n), [...idx.shape, n]), M);
}

/** Rows of a secret matrix M [n, d] selected by one-hots [m, n] (Beaver matrix product). */
export async function gatherSecret<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  oh: T,
  M: T,
): Promise<T> {
  return P.matmul(oh, M);
}
