/**
 * exp(x) for x ≤ 0 (softmax after max subtraction), deterministic.
 *
 * Protocol (x at f = 16 fractional bits, U = 16 − 2^−16):
 *  1. Clip: u = min(−x, U) = U − relu(x + U) (one `cmpK` with its fused product), or, when x may
 *     be positive, u = U + relu(x) − relu(x + U) (two thresholds, one opening): u ∈ [0, U].
 *  2. One table opening of u (k = f + 4 = 20 bits): a 512-segment spline of e^−u on [0, 16)
 *     (digit: u's bits 11..19, i.e. segments of 1/32; offset: the 11 bits below), at 38
 *     fractional bits — by xlut (XOR one-hots: one bit per entry) or lut (design.ts).
 *  3. One exact truncation by 38 − outFrac bits.
 * Kinds: cmpk, xlut (or lut), trunc. Rounds: clip 3 or 4, table 3 (xlut-spec) or 4 (xlut),
 * truncation 2 or 3.
 * Online bytes per element (width 32, x ≤ 0, openFull): clip 8 + 2 + 0.1; xlut 2.5 + 0.6 + 0.1
 *   + 16 (+16 spec); trunc 8.4–9.
 * Dealer bytes per element: clip 45 (4-bit blocks) / 149 (one node); xlut 2·64 (one-hots) + 64
 *   (sign fix) + 10 (borrow) = 202; trunc by 14 (softmax's outFrac 24): 36 (lean) / 112.
 * `legacy`: the function before issue #17, a 16-entry table of e^−⌊u⌋ whose one-hot multiplies a
 * 32-segment spline of the fraction inside one lut (dealer ≈ 1.55 KB), then a truncation by 32.
 * Error (f = 16): |exp − e^x| ≤ 1.25e-4·e^x + 1.5·2^−outFrac (spline 6.1e-5 relative, slope
 *   rounding 2^−28, final floor; legacy: e^−a rounded to outFrac bits too) for x ∈ [−16, 0]; x < −16 gives e^−16 + O(ulp) ≈ 1.1e-7 (saturates, never
 *   wraps); x > 0 gives 1 (with `nonPositive: false`).
 * Precondition: |x| < 2^(width−1−f) (width 32: |x| < 32768).
 */
import { invariant } from '../../util/errors.js';
import type { AnyTensor } from '../../ring/tensor.js';
import type { FixedHandle, Prims } from '../prims/types.js';
import type { LutField } from '../primitives/lut.js';
import { LEGACY, cmpK, tables, truncBy, withFewer, type Design } from './design.js';
import { fitSpline, memo, splineTable, valueTable } from './tables.js';

export interface ExpOpts {
  /** Comparison width for the clip (|x| < 2^(width−1) ring units). Default 32. */
  width?: number;
  /** x ≤ 0 is known exactly (e.g. x − max): one comparison instead of two. */
  nonPositive?: boolean;
  /** Output fractional bits (default: x's). Softmax uses 24. */
  outFrac?: number;
  /** One-node clip comparison for width ≤ 36 (3 rounds instead of 4; default on). Overrides the design's. */
  fewerRounds?: boolean;
  /** Building blocks (design.ts); default LEGACY. */
  design?: Design;
  /**
   * The function before issue #17 (a 16-entry table of e^−⌊u⌋ times a 32-segment spline of the
   * fraction, one lut with a product field): kept to measure it against; a different rounding.
   */
  legacy?: boolean;
}

const INT_BITS = 4;
const SEG_BITS = 5;
const LO_FRAC = 32;

const expFields = memo((key: string): LutField[] => {
  const [f, out] = key.split(':').map(Number) as [number, number];
  const hi = valueTable((j) => Math.exp(-j), INT_BITS, out);
  const lo = splineTable(
    fitSpline((t) => Math.exp(-t), 0, 2 ** -SEG_BITS, 2 ** SEG_BITS),
    f,
    LO_FRAC,
    SEG_BITS,
  );
  return [
    { s: f, w: INT_BITS, table: hi, times: 1 },
    { s: f - SEG_BITS, w: SEG_BITS, table: lo },
  ];
});

/**
 * The table: e^−u on [0, 16) in 512 segments of 1/32, at 38 fractional bits (the slope's rounding,
 * at most 2^(11−1−38), stays far below the output's ulp; table values stay below xlut's 2^40).
 */
const SPLINE_FRAC = 38;
const expSpline = memo((key: string) => {
  const f = Number(key),
    w = INT_BITS + SEG_BITS;
  return {
    s: f - SEG_BITS,
    w,
    table: splineTable(
      fitSpline((t) => Math.exp(-t), 0, 2 ** -SEG_BITS, 2 ** w),
      f,
      SPLINE_FRAC,
      w,
    ),
  };
});

/** Relative error of the e^−t spline on [0, 1) (documented bound; tests check the protocol). */
export const EXP_SPLINE_ERR = fitSpline((t) => Math.exp(-t), 0, 2 ** -SEG_BITS, 2 ** SEG_BITS).maxErr;

export async function expNeg<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  o: ExpOpts = {},
): Promise<T> {
  const f = x.fracBits,
    out = o.outFrac ?? f,
    width = o.width ?? 32,
    d = withFewer(o.design ?? LEGACY, o.fewerRounds);
  invariant(f >= SEG_BITS + 4 && f <= 24, 'E_INTERNAL', `exp expects 9..24 fractional bits, got ${f}`);
  const U = 2 ** INT_BITS - 2 ** -f;
  // 1. u = clip(−x, 0, U)
  let u: T;
  if (o.nonPositive) {
    const { self } = await cmpK(P, x, { width, thresholds: [-U], self: [0] }, d);
    u = P.addPublic(P.neg(self[0]!), U);
  } else {
    const { self } = await cmpK(P, x, { width, thresholds: [0, -U], self: [0, 1] }, d);
    u = P.addPublic(P.sub(self[0]!, self[1]!), U);
  }
  if (o.legacy) {
    // 2-3. e^−a · e^−(u − a) from one opening of u (the table value multiplies the spline's output)
    const [prod] = await P.lut(u, f + INT_BITS, expFields(`${f}:${out}`));
    // 4. back to `out` fractional bits
    return truncBy(P, prod!, LO_FRAC, d);
  }
  // 2. one spline of e^−u at 38 fractional bits, 3. back to `out`
  const [e] = await tables(P, u, f + INT_BITS, [expSpline(String(f))], d);
  return truncBy(P, e!, SPLINE_FRAC - out, d);
}
