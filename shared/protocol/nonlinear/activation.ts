/**
 * GeLU (GPT-2's tanh form `gelu_new`, or the erf form) and SiLU, deterministic.
 *
 * Both are relu(x) − δ(|x|) with δ(t) = t − act(t) even, smooth on [0, ∞) and below ~1e-4 beyond
 * a clip point T (GeLU: T = 4, δ(4) ≈ 7e-5; SiLU: T = 16, δ(16) ≈ 2e-6).
 * Protocol (x at f = 16):
 *  1. One `cmpK` opening of x against 0, T', −T' (T' = T − 2^−f) with fused products gives
 *     relu(x), relu(x − T'), relu(x + T') and so t = min(|x|, T') = 2·relu(x) + T' − relu(x − T') − relu(x + T').
 *  2. One `lut` spline of δ on t ∈ [0, T) (GeLU: 32 segments of 1/8; SiLU: 64 of 1/4), output at
 *     32 fractional bits (the slope needs them).
 *  3. act = relu(x) − δ, exactly truncated from 32 to 16 fractional bits (or left at 32 with
 *     `outFrac: 32`, e.g. when the next fixed-mask product truncates anyway).
 * Kinds: cmpk, lut or xlut, trunc or trunc.lean (design.ts). Rounds: cmpK 3 (one node) or 4, the
 * table 3 (lut, xlut-spec) or 4 (xlut), the truncation 2 (fast) or 3 (lean; none with `outFrac: 32`).
 * Online bytes per element (width 32): cmpK 4 + 3·(15 + 3 + 1)/8 = 11.1 (+4 with openFull); lut
 *   18/8 + 7/8 + 1/8 = 3.25 (+16 xlut, +32 xlut-spec); trunc 8.375 (lean 9).
 * Dealer bytes per element (GeLU): cmpK 229 (one node) / 101 (4-bit blocks, openFull); table 1036
 *   (lut) / 84 (xlut); trunc 112 / 36. SiLU's table: 2060 / 92.
 * Error: GeLU ≤ 8e-4 + 2^−16 on all inputs in the precondition (spline error 7.8e-4 near 0,
 *   tail beyond T 7e-5); SiLU ≤ 2.2e-3.
 * Precondition: |x| < 2^(width−2−f) (width 32: |x| < 16384).
 */
import type { AnyTensor } from '../../ring/tensor.js';
import type { FixedHandle, Prims } from '../prims/types.js';
import type { LutField } from '../primitives/lut.js';
import { LEGACY, cmpK, tables, truncBy, withFewer, type Design } from './design.js';
import { fitSpline, geluErf, geluTanh, memo, silu, splineTable } from './tables.js';

export interface ActOpts {
  /** Comparison width (default 32). */
  width?: number;
  /** Output fractional bits: x's (default) or 2·x's (skips the final truncation). */
  outFrac?: number;
  /** One-node comparisons for width ≤ 36 (3 rounds instead of 4; default on). Overrides the design's. */
  fewerRounds?: boolean;
  /** Building blocks (design.ts); default LEGACY. */
  design?: Design;
}

const D_FRAC = 32;

interface ActSpec {
  f: (x: number) => number;
  clipBits: number;
  w: number;
}
const SPECS: Record<string, ActSpec> = {
  gelu: { f: geluTanh, clipBits: 2, w: 5 },
  'gelu-erf': { f: geluErf, clipBits: 2, w: 5 },
  silu: { f: silu, clipBits: 4, w: 6 },
};

const deltaFit = memo((name: string) => {
  const s = SPECS[name]!,
    T = 2 ** s.clipBits;
  return fitSpline((t) => t - s.f(t), 0, T / 2 ** s.w, 2 ** s.w);
});

const deltaField = memo((key: string): LutField & { table: NonNullable<LutField['table']> } => {
  const [name, fs] = key.split(':') as [string, string];
  const f = Number(fs),
    s = SPECS[name]!;
  return { s: f + s.clipBits - s.w, w: s.w, table: splineTable(deltaFit(name), f, D_FRAC, s.w) };
});

/** Spline errors (documented bounds; tests check the protocols). */
export const ACT_SPLINE_ERR = { gelu: deltaFit('gelu').maxErr, silu: deltaFit('silu').maxErr };

async function reluMinusDelta<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  name: string,
  o: ActOpts,
): Promise<T> {
  const f = x.fracBits,
    s = SPECS[name]!,
    Tp = 2 ** s.clipBits - 2 ** -f,
    d = withFewer(o.design ?? LEGACY, o.fewerRounds);
  // 1. relu(x), relu(x − T'), relu(x + T') from one opening
  const { self } = await cmpK(P, x, { width: o.width ?? 32, thresholds: [0, Tp, -Tp], self: [0, 1, 2] }, d);
  const [r0, r1, r2] = self as [T, T, T];
  const t = P.addPublic(P.sub(P.sub(P.mulInt(r0, 2), r1), r2), Tp);
  // 2. δ(t) at 32 fractional bits
  const [delta] = await tables(P, t, f + s.clipBits, [deltaField(`${name}:${f}`)], d);
  // 3. relu(x) − δ
  const y = P.sub(P.mulPublic(r0, 1, D_FRAC - f), delta!);
  const out = o.outFrac ?? f;
  return out >= D_FRAC ? y : truncBy(P, y, D_FRAC - out, d);
}

/** GPT-2's gelu_new: 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))). */
export async function gelu<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  o: ActOpts & { form?: 'tanh' | 'erf' } = {},
): Promise<T> {
  return reluMinusDelta(P, x, o.form === 'erf' ? 'gelu-erf' : 'gelu', o);
}

/** SiLU: x·σ(x). */
export async function siluAct<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  o: ActOpts = {},
): Promise<T> {
  return reluMinusDelta(P, x, 'silu', o);
}
