/**
 * LayerNorm (biased variance, eps inside the square root) and RMSNorm over the last axis,
 * with optional public γ/β (in the model they are folded into the next linear layer instead).
 *
 * LayerNorm protocol (x [rows, d] at f = 16):
 *  1. μ = ⌊Σx · (1/d)⌉: local sum, one public product and an exact truncation (per row).
 *  2. xc = x − μ; Σ xc² per row: one Beaver square per element (8 B), summed locally at 32
 *     fractional bits (|Σ| < 2^55 for d·var < 2^23), truncated once per row to 16 bits.
 *  3. r = √d · rsqrt(Σxc² + d·eps) = 1/√(var + eps): reciprocal.ts over [2^−8, 2^28) (the √d
 *     factor is folded into its output table), per row, at 24 fractional bits.
 *  4. y = xc·r: row-broadcast Beaver product (xc opened, r opened once per row) and an exact
 *     truncation by 24. γ: one more public product and truncation; β: local.
 * RMSNorm: the same without step 1 (Σx² instead of Σxc²).
 * Kinds: trunc, square, cmpk, mul, lut. Rounds: 2 + 1 + 2 + 13 + 1 + 2 = 21 (+2 with γ; 19 with
 * `outFrac: 2f`, which leaves y at 2f fractional bits for a following fixed-mask product: 16.4 B/elem).
 * Online bytes per element: square 8 + product 8 + truncation 8.375 = 24.4 (+8.4 with γ), plus per
 *   row ≈ 8.4 (mean) + 8.4 (variance) + ~150 (rsqrt) B. Dealer per element ≈ 8 + 8 + 112, plus per row ≈ 5 KB.
 * Error: relative ≤ 3e-4 on 1/σ (rsqrt 1.5e-4, truncations) plus 2^−16 absolute on y (with
 *   `outFrac: 2f`, 1/σ is kept at f bits: add 2^−17·σ relative), for
 *   var + eps in [2^−8/d, 2^28/d) (d = 768: var up to 3.5e5, i.e. values of scale up to ~590);
 *   beyond, 1/σ saturates.
 */
import type { AnyTensor } from '../../ring/tensor.js';
import type { FixedHandle, Prims } from '../prims/types.js';
import { LEGACY, truncBy, type Design } from './design.js';
import { rsqrt } from './reciprocal.js';

export interface NormOpts {
  gamma?: Float64Array;
  beta?: Float64Array;
  eps?: number;
  /** log2 range of d·(var + eps) (even integers); default [−8, 28). */
  lo?: number;
  hi?: number;
  /**
   * Output fractional bits: x's (default), or 2·x's to skip the final truncation (1/σ is then
   * kept at x's scale) when a fixed-mask product that truncates anyway comes next.
   */
  outFrac?: number;
  /** Building blocks (design.ts); default LEGACY. */
  design?: Design;
}

const R_FRAC = 24;

async function normalise<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, xc: T, o: NormOpts): Promise<T> {
  const f = xc.fracBits,
    d = xc.shape[xc.shape.length - 1]!,
    eps = o.eps ?? 1e-5;
  const wide = (o.outFrac ?? f) >= 2 * f,
    rFrac = wide ? f : R_FRAC,
    design = o.design ?? LEGACY;
  // 2. Σ xc² (2f fractional bits, summed before truncating: one truncation per row)
  const q = P.addPublic(await P.trunc(P.sumLast(await P.square(xc)), f), d * eps);
  // 3-4. y = xc / √(var + eps) = xc·√d / √(d·var + d·eps)
  const range = { lo: o.lo ?? -8, hi: o.hi ?? 28, outFrac: rFrac, scale: Math.sqrt(d), design };
  if (wide) return P.mul(xc, await rsqrt(P, q, range)); // γ/β belong to the next linear layer in this mode
  // plain, not fused like softmax's division (z·τ beside the spline, then ·y): fusing saves 3
  // rounds for one more product and truncation per element (+17 B online), which the cost model's
  // online slack refuses at every shape decoding uses, and a design may not change values
  let y = await truncBy(P, await P.mul(xc, await rsqrt(P, q, range)), R_FRAC, design);
  if (o.gamma) y = await truncBy(P, P.mulPublic(y, o.gamma, f), f, design);
  if (o.beta) y = P.addPublic(y, o.beta);
  return y;
}

export async function layerNorm<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  o: NormOpts = {},
): Promise<T> {
  const f = x.fracBits,
    d = x.shape[x.shape.length - 1]!;
  // 1. μ = Σx / d at f bits (1/d at f + 8 bits so its rounding stays below the output ulp)
  const mu = await P.trunc(P.mulPublic(P.sumLast(x), 1 / d, f + 8), f + 8);
  return normalise(P, P.sub(x, P.repeatLast(mu, d)), o);
}

export async function rmsNorm<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  o: NormOpts = {},
): Promise<T> {
  return normalise(P, x, o);
}
