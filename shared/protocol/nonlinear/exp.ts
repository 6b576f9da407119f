/**
 * exp(x) for x ≤ 0 (softmax after max subtraction), deterministic.
 *
 * Protocol (x at f = 16 fractional bits, U = 16 − 2^−16):
 *  1. Clip: u = min(−x, U) = U − relu(x + U) (one `cmpK` with its fused product), or, when x may
 *     be positive, u = U + relu(x) − relu(x + U) (two thresholds, one opening): u ∈ [0, U].
 *  2. One `lut` opening of u (k = f + 4 = 20 bits) gives two digits: the integer part a (bits
 *     16..19) → e^−a from a 16-entry table, and the fraction's top 5 bits q with the 11 bits below
 *     as offset → e^−(u − a) from a 32-segment spline (output at 32 fractional bits).
 *  3. e^−u = e^−a · e^−(u−a) inside the same `lut` call: the e^−a field's one-hot multiplies the
 *     spline's output, which is opened masked once (8 B; a Beaver product would open both, 16 B).
 *  4. One exact truncation by 32 bits.
 * Kinds: cmpk, lut, trunc. Rounds: 4 + 4 + 2 = 10.
 * Online bytes per element (width 32, x ≤ 0): cmpK 6.4 + lut (2.5 + 1.5 + 0.25 + 8) + trunc 8.9 ≈ 27.5.
 * Dealer bytes per element ≈ 69 + 1.55 k (lut: 4 vectors of 16 entries, 4 of 32) + 320 (trunc by 32).
 * Error (f = 16): |exp − e^x| ≤ 1.25e-4·e^x + 1.5·2^−outFrac (spline 6.1e-5 relative, slope
 *   rounding, e^−a rounded to outFrac bits, final floor) for x ∈ [−16, 0]; x < −16 gives e^−16 + O(ulp) ≈ 1.1e-7 (saturates, never
 *   wraps); x > 0 gives 1 (with `nonPositive: false`).
 * Precondition: |x| < 2^(width−1−f) (width 32: |x| < 32768).
 */
import { invariant } from '../../util/errors.js';
import type { AnyTensor } from '../../ring/tensor.js';
import type { FixedHandle, Prims } from '../prims/types.js';
import type { LutField } from '../primitives/lut.js';
import { fitSpline, memo, splineTable, valueTable } from './tables.js';

export interface ExpOpts {
  /** Comparison width for the clip (|x| < 2^(width−1) ring units). Default 32. */
  width?: number;
  /** x ≤ 0 is known exactly (e.g. x − max): one comparison instead of two. */
  nonPositive?: boolean;
  /** Output fractional bits (default: x's). Softmax uses 24. */
  outFrac?: number;
  /** One-node clip comparison for width ≤ 33 (3 rounds instead of 4; default on). */
  fewerRounds?: boolean;
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

/** Relative error of the e^−t spline on [0, 1) (documented bound; tests check the protocol). */
export const EXP_SPLINE_ERR = fitSpline((t) => Math.exp(-t), 0, 2 ** -SEG_BITS, 2 ** SEG_BITS).maxErr;

export async function expNeg<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  o: ExpOpts = {},
): Promise<T> {
  const f = x.fracBits,
    out = o.outFrac ?? f,
    width = o.width ?? 32;
  invariant(f >= SEG_BITS + 4 && f <= 24, 'E_INTERNAL', `exp expects 9..24 fractional bits, got ${f}`);
  const U = 2 ** INT_BITS - 2 ** -f;
  // 1. u = clip(−x, 0, U)
  let u: T;
  if (o.nonPositive) {
    const { self } = await P.cmpK(x, { width, thresholds: [-U], self: [0], fewerRounds: o.fewerRounds ?? true });
    u = P.addPublic(P.neg(self[0]!), U);
  } else {
    const { self } = await P.cmpK(x, { width, thresholds: [0, -U], self: [0, 1], fewerRounds: o.fewerRounds ?? true });
    u = P.addPublic(P.sub(self[0]!, self[1]!), U);
  }
  // 2-3. e^−a · e^−(u − a) from one opening of u (the table value multiplies the spline's output)
  const [prod] = await P.lut(u, f + INT_BITS, expFields(`${f}:${out}`));
  // 4. back to `out` fractional bits
  return P.trunc(prod!, LO_FRAC);
}
