/**
 * Reciprocal 1/x and reciprocal square root 1/√x for x in a public range [2^lo, 2^hi).
 * Deterministic; used once per row by softmax (1/Σ) and LayerNorm/RMSNorm (1/σ).
 *
 * Protocol:
 *  1. Range reduction: one `cmpK` opening of x against the octave boundaries 2^(lo + step·e)
 *     (step 1 for 1/x, 2 for 1/√x), with fused products at the two ends that clamp x into
 *     [2^lo, 2^hi − ulp]. The thermometer bits give the octave one-hot (local differences), and
 *     public tables over it give σ = 2^−(end of octave) and τ (the output scale for that octave).
 *  2. m = x·σ ∈ [2^−step, 1): one product and one exact truncation (18 fractional bits).
 *  3. y = 1/m (or 1/√m) from one `lut` spline: 64 segments on [0.5, 1) (resp. 128 on [0, 1), used
 *     from 0.25), output at 28 fractional bits.
 *  4. result = y·τ: one product and one exact truncation (by 32, or less when the result is large).
 * Kinds: cmpk, mul, trunc, lut. Rounds: 4 + 3 + 3 + 3 = 13.
 * Online bytes per element: width/8 + E·(tree bits + 1)/8 + 16 + 8.375 + 2.25 + 0.375 + 16 + 8.375
 *   (E = number of octaves; ≈ 70–100 B for the ranges used); dealer ≈ 2 + 4 KB (the splines' four
 *   one-hot tables). Per row, so amortised over the row length.
 * Error: relative ≤ 1e-4 (1/x) and ≤ 1.5e-4 (1/√x) on [2^lo, 2^hi), plus 2^−outFrac; outside the
 *   range the input saturates to the nearest end (never wraps).
 * Precondition: |x| < 2^(width−1) ring units (the default width covers inputs up to 2^(hi+6)).
 */
import { invariant } from '../../util/errors.js';
import { numel, type AnyTensor } from '../../ring/tensor.js';
import type { FixedHandle, Prims } from '../prims/types.js';
import type { LutField } from '../primitives/lut.js';
import { LEGACY, cmpK, tables, truncBy, type Design } from './design.js';
import { fitSpline, memo, splineTable } from './tables.js';

export interface PowOpts {
  /** log2 of the domain's ends (integers; even for rsqrt): x ∈ [2^lo, 2^hi). */
  lo: number;
  hi: number;
  /** Comparison width (default hi + fracBits + 8: inputs up to 2^(hi+6) saturate correctly). */
  width?: number;
  /** Output fractional bits (default x's). */
  outFrac?: number;
  /** A public factor folded into the result (free: it scales the octave table). */
  scale?: number;
  /** Building blocks (design.ts); default LEGACY. */
  design?: Design;
}

const M_FRAC = 18;
const Y_FRAC = 28;

const splines = memo((key: string): LutField & { table: NonNullable<LutField['table']> } => {
  if (key === 'recip') {
    // 1/m on m ∈ [0.5, 1): input m − 0.5 at M_FRAC bits (k = 17), 64 segments
    const w = 6,
      fit = fitSpline((t) => 1 / (0.5 + t), 0, 0.5 / 2 ** w, 2 ** w);
    return { s: M_FRAC - 1 - w, w, table: splineTable(fit, M_FRAC, Y_FRAC, w) };
  }
  // 1/√m on m ∈ [0.25, 1): input m at M_FRAC bits (k = 18), 128 segments over [0, 1)
  const w = 7,
    fit = fitSpline((t) => 1 / Math.sqrt(Math.max(t, 0.25)), 0, 1 / 2 ** w, 2 ** w);
  return { s: M_FRAC - w, w, table: splineTable(fit, M_FRAC, Y_FRAC, w) };
});

/** Largest spline errors (absolute on y ∈ (1, 2]); documented bounds. */
export const RECIP_SPLINE_ERR = fitSpline((t) => 1 / (0.5 + t), 0, 0.5 / 64, 64).maxErr;
export const RSQRT_SPLINE_ERR = fitSpline((t) => 1 / Math.sqrt(Math.max(t, 0.25)), 0, 1 / 128, 128).maxErr;

/** Scales and fractional bits of a range (step 1: 1/x; step 2: 1/√x), checked. */
function planOf(
  f: number,
  step: 1 | 2,
  o: PowOpts,
): { E: number; out: number; t2: number; sigFrac: number; tauFrac: number } {
  const out = o.outFrac ?? f,
    { lo, hi } = o,
    scale = o.scale ?? 1;
  const E = (hi - lo) / step;
  invariant(
    Number.isInteger(E) && E >= 1 && Number.isInteger(lo),
    'E_INTERNAL',
    `bad range 2^${lo}..2^${hi} for step ${step}`,
  );
  // final truncation t2 ≤ 32 keeps |result|·2^(out + t2) < 2^61 (the result is at most 2·scale·2^(−(lo+step)/step))
  const logMax = Math.ceil(Math.log2(2 * scale) - (lo + step) / step);
  const t2 = Math.min(32, 61 - out - Math.max(0, logMax));
  const sigFrac = M_FRAC + 32 - f,
    tauFrac = out + t2 - Y_FRAC;
  invariant(
    sigFrac >= hi && hi + f < 56 && sigFrac - lo < 62 && tauFrac - hi / step + Math.log2(scale) >= 0,
    'E_INTERNAL',
    `range 2^${lo}..2^${hi} does not fit ${f} input / ${out} output fractional bits`,
  );
  return { E, out, t2, sigFrac, tauFrac };
}

/**
 * Steps 1–3: the spline's y = m^(−1/step) (at Y_FRAC) and the octave's scale τ (at tauFrac), so
 * that x^(−1/step) = y·τ. The thermometer's comparison also multiplies x into its bits (payload),
 * so m = x·σ needs no product round of its own: x·σ = Σ_e σ_e·(x·b'_e − x·b'_(e+1)), with the
 * clamped x: xc·b_j = x·b_j − relu(x − 2^hi) for every j ≥ 1 (b_j implies x ≥ 2^lo).
 */
async function thermometer<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  step: 1 | 2,
  o: PowOpts,
): Promise<{ xSigma: T; tau: T }> {
  const f = x.fracBits,
    { lo, hi } = o,
    scale = o.scale ?? 1,
    d = o.design ?? LEGACY,
    { E, sigFrac, tauFrac } = planOf(f, step, o);
  const width = o.width ?? Math.min(64, hi + f + 8);
  // 1. thermometer + clamp + x·b_j in one opening
  const thr = [2 ** lo, ...Array.from({ length: E - 1 }, (_, e) => 2 ** (lo + step * (e + 1))), 2 ** hi - 2 ** -f];
  const { bits, self, prods } = await cmpK(P, x, { width, thresholds: thr, self: [0, E], payloads: [x] }, d);
  const xc = P.addPublic(P.sub(self[0]!, self[1]!), 2 ** lo);
  const lead = x.shape;
  const one = P.constant([...lead, 1], 1, 0),
    zero = P.constant([...lead, 1], 0, 0);
  const therm = P.concatLast(E > 1 ? [one, P.sliceLast(bits, 1, E), zero] : [one, zero]); // b'_0 = 1, b'_E = 0
  const oh = P.sub(P.sliceLast(therm, 0, E), P.sliceLast(therm, 1, E + 1));
  // xc·b'_e: xc for e = 0, x·b_e − relu(x − 2^hi) for 1 ≤ e < E, 0 for e = E
  const over = P.reshape(self[1]!, [...lead, 1]),
    xb = P.sub(P.sliceLast(prods[0]!, 1, E), P.repeatLast(self[1]!, E - 1));
  const xcTherm = P.concatLast(
    E > 1 ? [P.reshape(xc, [...lead, 1]), xb, P.mulInt(over, 0)] : [P.reshape(xc, [...lead, 1]), P.mulInt(over, 0)],
  );
  const xcOh = P.sub(P.sliceLast(xcTherm, 0, E), P.sliceLast(xcTherm, 1, E + 1));
  const endExp = Float64Array.from({ length: E }, (_, e) => lo + step * (e + 1));
  const tau = P.sumLast(
    P.mulPublic(
      oh,
      endExp.map((t) => scale * 2 ** (-t / step)),
      tauFrac,
    ),
  );
  const xSigma = P.sumLast(
    P.mulPublic(
      xcOh,
      endExp.map((t) => 2 ** -t),
      sigFrac,
    ),
  );
  return { xSigma, tau };
}

/** Steps 2–3: m = x·σ ∈ [2^−step, 1) at M_FRAC, then y = m^(−1/step) at Y_FRAC from the spline. */
async function spline<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  xSigma: T,
  step: 1 | 2,
  d: Design,
): Promise<T> {
  const m = await P.trunc(xSigma, 32);
  const field = splines(step === 1 ? 'recip' : 'rsqrt');
  const [y] = await tables(P, step === 1 ? P.addPublic(m, -0.5) : m, step === 1 ? M_FRAC - 1 : M_FRAC, [field], d);
  return y!;
}

async function inversePower<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  step: 1 | 2,
  o: PowOpts,
): Promise<T> {
  const { t2 } = planOf(x.fracBits, step, o);
  const { xSigma, tau } = await thermometer(P, x, step, o);
  const y = await spline(P, xSigma, step, o.design ?? LEGACY);
  // 4. back to x's range
  return P.trunc(await P.mul(y, tau), t2);
}

/**
 * z · x^(−1/step) for x per row ([..]) and z [.., c] (or [..]) at z's scale, with one product
 * after the spline instead of two: z (computed by the caller's `z`, e.g. a product) and step 1
 * run side by side (prims/batch.ts), then z·τ (truncated back to z's scale) beside steps 2–3, then
 * one product with y and a truncation by Y_FRAC. Extra error: 2^−fz·y ≤ 2^(1−fz) absolute (the
 * floor of z·τ).
 */
async function timesInversePower<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  z: () => Promise<T>,
  step: 1 | 2,
  o: PowOpts,
): Promise<T> {
  const { tauFrac } = planOf(x.fracBits, step, o),
    d = o.design ?? LEGACY;
  const [zv, th] = await P.all([z, () => thermometer(P, x, step, o)] as const);
  const rowShape = numel(zv.shape) > numel(x.shape) ? zv.shape.slice(0, -1) : zv.shape;
  const tau = P.reshape(th.tau, rowShape);
  const [zt, y] = await P.all([
    async () => truncBy(P, await P.mul(zv, tau), tauFrac, d),
    () => spline(P, th.xSigma, step, d),
  ] as const);
  return truncBy(P, await P.mul(zt, P.reshape(y, tau.shape)), Y_FRAC, d);
}

/** 1/x for x ∈ [2^lo, 2^hi) (saturating outside). */
export async function reciprocal<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  o: PowOpts,
): Promise<T> {
  return inversePower(P, x, 1, o);
}

/** 1/√x for x ∈ [2^lo, 2^hi), lo and hi even (saturating outside). */
export async function rsqrt<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T, o: PowOpts): Promise<T> {
  invariant(o.lo % 2 === 0 && o.hi % 2 === 0, 'E_INTERNAL', 'rsqrt range ends must be even powers of two');
  return inversePower(P, x, 2, o);
}

/** z / x per row (x ∈ [2^lo, 2^hi), z [.., c] at its scale, from the thunk `z`): see `timesInversePower`. */
export async function divide<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  z: () => Promise<T>,
  x: T,
  o: PowOpts,
): Promise<T> {
  return timesInversePower(P, x, z, 1, o);
}
