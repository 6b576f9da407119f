/**
 * Softmax along the last axis, with an optional public mask (ragged rows cost nothing), exact
 * zeros at masked positions, deterministic.
 *
 * Protocol (x [rows, n] at f = 16; valid entries packed into one flat tensor with `pick`):
 *  1. m = row max by the tournament of max.ts (4·⌈log2 n⌉ rounds).
 *  2. d = x − m ≤ 0 exactly; e = exp(d) by exp.ts (x ≤ 0 variant, output at 24 fractional bits).
 *  3. S = Σ e per row (local), inv = 1/S by reciprocal.ts on [1/2, 2^(⌈log2 n⌉+1)) (per row).
 *  4. p = e·inv: one segmented product (each row's inv opened once) and one exact truncation by
 *     32 → 16 fractional bits. Masked entries are scattered back as zeros.
 * Kinds: cmpk, lut, trunc, mul, mul.seg. Rounds: 4⌈log2 n⌉ + 10 + 13 + 3.
 * Online bytes per score (width 32): max ≈ 6.4 + exp ≈ 27.5 + product 8 + truncation 8.9 ≈ 51,
 *   plus per row ~110 B (reciprocal). Dealer bytes per score ≈ 2.35 KB (dominated by exp's tables).
 * Error: |p − softmax(x)| ≤ 5e-4 per probability for rows of up to 4096 scores (exp relative
 *   error 1.2e-4 enters twice, 1/S 1e-4, sums of truncations n·2^−24, output floor 2^−16).
 * Precondition: |x| < 2^(width−2−f) (width 32: |x| < 16384) so that differences fit the width.
 */
import { invariant } from '../../util/errors.js';
import type { AnyTensor } from '../../ring/tensor.js';
import type { FixedHandle, Prims } from '../prims/types.js';
import { expNeg } from './exp.js';
import { maxPacked } from './max.js';
import { isDense, layoutOf, rowSums, scatterIndex, type RowMask } from './ragged.js';
import { reciprocal } from './reciprocal.js';

export interface SoftmaxOpts extends RowMask {
  /** Comparison width for scores and their differences (default 32). */
  width?: number;
  /** One-node comparisons in the max tree and exp's clip (width ≤ 33; default on). */
  fewerRounds?: boolean;
}

const E_FRAC = 24;

export async function softmax<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  o: SoftmaxOpts = {},
): Promise<T> {
  invariant(x.shape.length >= 1, 'E_SHAPE', 'softmax needs a last axis');
  const n = x.shape[x.shape.length - 1]!,
    rows = x.shape.slice(0, -1).reduce((a, b) => a * b, 1),
    width = o.width ?? 32;
  const L = layoutOf(rows, n, o),
    dense = isDense(L),
    total = L.pos.length;
  if (total === 0) return P.constant(x.shape, 0, x.fracBits);
  const flat = dense ? P.reshape(x, [total]) : P.pick(x, [total], L.pos);
  // 1-2. subtract the row max, exponentiate
  const m = await maxPacked(P, flat, L, { width, fewerRounds: o.fewerRounds ?? true });
  const d = P.sub(flat, P.pick(m, [total], L.rowOf));
  const e = await expNeg(P, d, { width, nonPositive: true, outFrac: E_FRAC, fewerRounds: o.fewerRounds ?? true });
  // 3. 1/Σ per row (Σ ∈ [1 − 1e-4, n]: the max contributes e^0 ≈ 1, so the range starts below 1)
  const hi = Math.max(1, Math.ceil(Math.log2(L.maxLen + 1)) + 1);
  const inv = await reciprocal(P, rowSums(P, e, L), { lo: -1, hi, outFrac: E_FRAC });
  // 4. normalise; masked entries come back as zeros
  const p = await P.trunc(await P.mulSeg(e, inv, L.lens), 2 * E_FRAC - x.fracBits);
  return dense ? P.reshape(p, x.shape) : P.pick(p, x.shape, scatterIndex(L));
}
