/**
 * Public tables for the LUT/spline primitive (protocol/primitives/lut.ts), built in float64 at start-up.
 *
 * A spline over 2^w uniform segments [x0 + j·h, x0 + (j+1)·h) gets, per segment, the secant slope
 * and an intercept shifted so that the largest deviations above and below the curve are equal:
 * the best uniform line when f'' keeps its sign on the segment, and near it otherwise. The error
 * of each table is measured on a dense grid (`maxErr`) and documented with the function that
 * uses it; tests check the protocols against float64 with those bounds.
 */
import { invariant } from '../../util/errors.js';
import type { LutTable } from '../primitives/lut.js';

export interface SplineFit {
  /** Value of segment j's line at the segment start. */
  readonly a: Float64Array;
  /** Slope of segment j's line. */
  readonly m: Float64Array;
  readonly x0: number;
  readonly h: number;
  /** Largest |line − f| over a dense grid of each segment. */
  readonly maxErr: number;
}

const SAMPLES = 256;

export function fitSpline(f: (x: number) => number, x0: number, h: number, count: number): SplineFit {
  const a = new Float64Array(count),
    m = new Float64Array(count);
  let maxErr = 0;
  for (let j = 0; j < count; j++) {
    const xs = x0 + j * h,
      f0 = f(xs),
      slope = (f(xs + h) - f0) / h;
    let hi = -Infinity,
      lo = Infinity;
    for (let t = 0; t <= SAMPLES; t++) {
      const x = xs + (h * t) / SAMPLES,
        e = f(x) - (f0 + slope * (x - xs));
      if (e > hi) hi = e;
      if (e < lo) lo = e;
    }
    a[j] = f0 + (hi + lo) / 2;
    m[j] = slope;
    maxErr = Math.max(maxErr, (hi - lo) / 2);
  }
  return { a, m, x0, h, maxErr };
}

/**
 * Encodes a fit as a lut table for an input at `inFrac` fractional bits whose digit selects the
 * segment and whose lower s bits count input ulps from the segment start; output at `outFrac`.
 * The slope's rounding adds at most 2^(s−1−outFrac) to the error (callers pick outFrac for it).
 */
export function splineTable(fit: SplineFit, inFrac: number, outFrac: number, w: number): LutTable {
  const W = 1 << w;
  invariant(fit.a.length <= W, 'E_INTERNAL', `a fit of ${fit.a.length} segments does not fit ${W} table entries`);
  const a = new BigInt64Array(W),
    b = new BigInt64Array(W);
  for (let j = 0; j < fit.a.length; j++) {
    a[j] = BigInt(Math.round(fit.a[j]! * 2 ** outFrac));
    b[j] = BigInt(Math.round(fit.m[j]! * 2 ** (outFrac - inFrac)));
  }
  return { a, b, fracBits: outFrac };
}

/** A pure table g(j) for j < 2^w, at `outFrac` fractional bits. */
export function valueTable(g: (j: number) => number, w: number, outFrac: number): LutTable {
  return {
    a: BigInt64Array.from({ length: 1 << w }, (_, j) => BigInt(Math.round(g(j) * 2 ** outFrac))),
    fracBits: outFrac,
  };
}

/** Memoises a table builder by key (tables are pure functions of public parameters). */
export function memo<T>(build: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    let v = cache.get(key);
    if (v === undefined) {
      v = build(key);
      cache.set(key, v);
    }
    return v;
  };
}

/** GPT-2's `gelu_new` (tanh form) and the exact erf form. */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}

export function geluErf(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

/** erf: Maclaurin series for |x| ≤ 3, Lentz continued fraction for erfc beyond (|error| < 1e-13). */
export function erf(x: number): number {
  const s = Math.sign(x),
    ax = Math.abs(x);
  if (ax > 6) return s;
  if (ax <= 3) {
    let sum = 0,
      term = ax;
    for (let n = 0; n < 200; n++) {
      sum += term / (2 * n + 1);
      term *= -(ax * ax) / (n + 1);
      if (n >= 5 && Math.abs(term) <= 1e-17 * Math.abs(sum)) break;
    }
    return (s * 2 * sum) / Math.sqrt(Math.PI);
  }
  let f = ax,
    c = ax,
    d = 0;
  for (let i = 1; i < 100; i++) {
    d = ax + (i / 2) * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = ax + i / 2 / c;
    if (c === 0) c = 1e-300;
    f *= c * d;
    if (Math.abs(c * d - 1) < 1e-16) break;
  }
  return s * (1 - Math.exp(-ax * ax) / (f * Math.sqrt(Math.PI)));
}
