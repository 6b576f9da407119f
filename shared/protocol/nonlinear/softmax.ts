/**
 * Softmax along the last axis, with an optional public mask (ragged rows cost nothing), exact
 * zeros at masked positions, deterministic; and softmax times a linear map without the
 * probabilities (attention: (e·V)/Σe, one division per output instead of one per score).
 *
 * Protocol (x [rows, n] at f = 16; valid entries packed into one flat tensor with `pick`):
 *  1. m = row max by the tournament of max.ts (3 or 4 rounds per level).
 *  2. d = x − m ≤ 0 exactly; e = exp(d) by exp.ts (x ≤ 0 variant, output at 24 fractional bits).
 *  3. S = Σ e per row (local), inv = 1/S by reciprocal.ts on [1/2, 2^(⌈log2 n⌉+1)) (per row).
 *  4. softmax: p = e·inv, one segmented product (each row's inv opened once) and one exact
 *     truncation by 32 → 16 fractional bits. Masked entries are scattered back as zeros.
 *     softmaxTimes(x, apply): u = apply(e) (the caller's linear map, e.g. the fixed-mask product
 *     with V: it opens e) truncated to f bits, computed in parallel with step 3 (one batched
 *     block, prims/batch.ts), then o = u·inv per row and one truncation by 24.
 * Kinds: cmpk, lut/xlut, trunc, mul, mul.seg (design.ts picks the variants).
 * Rounds (today's LEGACY design): 3⌈log2 n⌉ + 9 + 13 + 3. Online bytes per score (width 32): max
 *   ≈ 5 + exp ≈ 26 + product 8 + truncation 8.9 ≈ 48, plus per row ~110 B (reciprocal). Dealer
 *   bytes per score ≈ 2.55 KB (LEGACY), dominated by exp's tables; see docs/protocols.md for the
 *   other designs.
 * Error: softmax: |p − softmax(x)| ≤ 5e-4 per probability for rows of up to 4096 scores (exp relative
 *   error 1.2e-4 enters twice, 1/S 1e-4, sums of truncations n·2^−24, output floor 2^−16).
 *   softmaxTimes with apply = ·V: |o − softmax(x)·V| ≤ (2·1.25e-4 + 1.1e-4 + n·2^−24)·max|V| + 2·2^−16
 *   (the probabilities' L1 error times the values, the reciprocal, the two floors).
 * Precondition: |x| < 2^(width−2−f) (width 32: |x| < 16384) so that differences fit the width;
 *   softmaxTimes: |apply(e)| < 2^62 at 24 + fV fractional bits (V at f = 16: |V| < 4096/n·2^10).
 */
import { invariant } from '../../util/errors.js';
import type { AnyTensor } from '../../ring/tensor.js';
import type { FixedHandle, Prims } from '../prims/types.js';
import { LEGACY, truncBy, withFewer, type Design } from './design.js';
import { expNeg } from './exp.js';
import { maxPacked } from './max.js';
import { isDense, layoutOf, rowSums, scatterIndex, type Layout, type RowMask } from './ragged.js';
import { divide, reciprocal, type PowOpts } from './reciprocal.js';

export interface SoftmaxOpts extends RowMask {
  /** Comparison width for scores and their differences (default 32). */
  width?: number;
  /** One-node comparisons in the max tree and exp's clip (width ≤ 36). Overrides the design's. */
  fewerRounds?: boolean;
  /** Building blocks (design.ts); default LEGACY. */
  design?: Design;
}

const E_FRAC = 24;

interface Exps<T> {
  /** e = exp(x − row max), packed, at E_FRAC fractional bits. */
  e: T;
  /** Σe per row, at E_FRAC fractional bits. */
  sums: T;
  /** The reciprocal's range [2^−1, 2^hi) and design. */
  range: PowOpts;
  L: Layout;
  dense: boolean;
}

/** Steps 1–3: exponentials of the packed entries and, on demand, their rows' reciprocal sums. */
async function exps<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  o: SoftmaxOpts,
): Promise<Exps<T> | undefined> {
  invariant(x.shape.length >= 1, 'E_SHAPE', 'softmax needs a last axis');
  const n = x.shape[x.shape.length - 1]!,
    rows = x.shape.slice(0, -1).reduce((a, b) => a * b, 1),
    width = o.width ?? 32,
    d = withFewer(o.design ?? LEGACY, o.fewerRounds);
  const L = layoutOf(rows, n, o),
    dense = isDense(L),
    total = L.pos.length;
  if (total === 0) return undefined;
  const flat = dense ? P.reshape(x, [total]) : P.pick(x, [total], L.pos);
  // 1-2. subtract the row max, exponentiate
  const m = await maxPacked(P, flat, L, { width, design: d });
  const diff = P.sub(flat, P.pick(m, [total], L.rowOf));
  const e = await expNeg(P, diff, { width, nonPositive: true, outFrac: E_FRAC, design: d });
  // 3. 1/Σ per row (Σ ∈ [1 − 1e-4, n]: the max contributes e^0 ≈ 1, so the range starts below 1)
  const hi = Math.max(1, Math.ceil(Math.log2(L.maxLen + 1)) + 1);
  return { e, sums: rowSums(P, e, L), range: { lo: -1, hi, outFrac: E_FRAC, design: d }, L, dense };
}

export async function softmax<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  o: SoftmaxOpts = {},
): Promise<T> {
  const r = await exps(P, x, o);
  if (!r) return P.constant(x.shape, 0, x.fracBits);
  // 4. normalise; masked entries come back as zeros
  const inv = await reciprocal(P, r.sums, r.range);
  const p = await truncBy(P, await P.mulSeg(r.e, inv, r.L.lens), 2 * E_FRAC - x.fracBits, o.design ?? LEGACY);
  return r.dense ? P.reshape(p, x.shape) : P.pick(p, x.shape, scatterIndex(r.L));
}

/**
 * apply(softmax(x)) for a linear `apply` over the last axis ([.., n] → [.., c], scale + fV) without
 * the probabilities: apply(e)/Σe. `apply` receives e in x's layout (masked entries 0) at 24
 * fractional bits; the result is at x's scale, shape [.., c].
 */
export async function softmaxTimes<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  apply: (e: T) => Promise<T>,
  o: SoftmaxOpts = {},
): Promise<T> {
  const f = x.fracBits,
    d = o.design ?? LEGACY,
    r = await exps(P, x, o);
  invariant(r !== undefined, 'E_SHAPE', 'softmaxTimes over rows without entries');
  const e = r.dense ? P.reshape(r.e, x.shape) : P.pick(r.e, x.shape, scatterIndex(r.L));
  // 4. u = apply(e) (back to f bits) beside the reciprocal's first step, then u/Σe
  const u = async () => {
    const v = await apply(e);
    return truncBy(P, v, v.fracBits - f, d);
  };
  return divide(P, u, r.sums, r.range);
}
