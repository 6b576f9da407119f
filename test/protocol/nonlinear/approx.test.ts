/**
 * Approximations against float64 (of the encoded inputs) within their documented bounds, with
 * edge values and out-of-range saturation: exp, GeLU (tanh and erf forms), SiLU, reciprocal,
 * rsqrt. Secure == emulation and cost == meter come from runChecked.
 */
import type { Program } from '../../../shared/runtime/program.js';
import {
  ACT_SPLINE_ERR,
  EXP_SPLINE_ERR,
  expNeg,
  gelu,
  geluErf,
  geluTanh,
  reciprocal,
  rsqrt,
  silu,
  siluAct,
} from '../../../shared/protocol/nonlinear/index.js';
import { seeded } from '../../util/rng.js';
import { inp, maxAbsErr, q, runChecked } from '../../util/nl.js';

const rng = seeded();
const ULP = 2 ** -16;
const grid = (n: number, lo: number, hi: number) =>
  Float64Array.from({ length: n }, (_, i) => q(lo + ((hi - lo) * i) / (n - 1)));

describe(`approximations vs float64 (seed ${rng.seed})`, () => {
  test('exp on [−20, 0] and saturation; positive inputs give 1 in the general form', async () => {
    const x = grid(1200, -20, 0);
    x.set([0, -ULP, -16, -16 + ULP, -16 - ULP, -1000, -30000, q(-Math.LN2)]);
    const pos = Float64Array.of(0, ULP, 3, 1000, -ULP, -5, -17, -(2 ** 14));
    const prog: Program = async (P, [a, b]) => [
      await expNeg(P, a!, { nonPositive: true }),
      await expNeg(P, b!),
      await expNeg(P, a!, { nonPositive: true, outFrac: 24 }),
    ];
    const { out } = await runChecked(prog, [inp(x, [x.length]), inp(pos, [pos.length])]);
    for (let i = 0; i < x.length; i++) {
      const want = Math.exp(Math.max(x[i]!, -16));
      expect(Math.abs(out[0]![i]! - want)).toBeLessThanOrEqual(2 * EXP_SPLINE_ERR * want + 1.5 * 2 ** -16);
      expect(Math.abs(out[2]![i]! - want)).toBeLessThanOrEqual(2 * EXP_SPLINE_ERR * want + 1.5 * 2 ** -24);
    }
    pos.forEach((v, i) =>
      expect(Math.abs(out[1]![i]! - Math.exp(Math.min(0, Math.max(v, -16))))).toBeLessThanOrEqual(2e-4),
    );
    expect(out[0]![5]).toBeLessThan(2e-7); // far below the clip: ~0, never garbage
    expect(EXP_SPLINE_ERR).toBeLessThan(6.2e-5);
  });

  test('GeLU (tanh and erf forms) ≤ 5e-3 on [−8, 8] (bound 8e-4), SiLU ≤ 2.2e-3; tails and edges', async () => {
    const x = grid(1500, -8, 8);
    x.set([0, ULP, -ULP, 4 - ULP, 4, -4, -4 + ULP, 20, -20, 3000, -3000, 16, -16]);
    const prog: Program = async (P, [a]) => [
      await gelu(P, a!),
      await gelu(P, a!, { form: 'erf' }),
      await siluAct(P, a!),
      await gelu(P, a!, { outFrac: 32 }),
    ];
    const { out } = await runChecked(prog, [inp(x, [x.length])]);
    const e1 = maxAbsErr(out[0]!, x.map(geluTanh)),
      e2 = maxAbsErr(out[1]!, x.map(geluErf)),
      e3 = maxAbsErr(out[2]!, x.map(silu));
    const e4 = maxAbsErr(out[3]!, x.map(geluTanh));
    expect(e1.err).toBeLessThanOrEqual(ACT_SPLINE_ERR.gelu + 1e-4 + 2 ** -16);
    expect(e2.err).toBeLessThanOrEqual(ACT_SPLINE_ERR.gelu + 1e-4 + 2 ** -16);
    expect(e3.err).toBeLessThanOrEqual(ACT_SPLINE_ERR.silu + 1e-4 + 2 ** -16);
    expect(e4.err).toBeLessThanOrEqual(ACT_SPLINE_ERR.gelu + 1e-4);
    expect(Math.max(e1.err, e2.err)).toBeLessThan(5e-3);
    expect(ACT_SPLINE_ERR.gelu).toBeLessThan(8e-4);
    expect(ACT_SPLINE_ERR.silu).toBeLessThan(2.2e-3);
  });

  test('GeLU meets the online target (≤ 32 B per element)', async () => {
    const x = grid(500, -8, 8);
    const { cost } = await runChecked(async (P, [a]) => [await gelu(P, a!)], [inp(x, [500])]);
    expect(cost.payloadBytes / 500).toBeLessThanOrEqual(32);
  });

  test('reciprocal and rsqrt: relative error within bounds on the range, saturation outside', async () => {
    const n = 600;
    const x = Float64Array.from({ length: n }, (_, i) => q(2 ** (-8 + (22.99 * i) / (n - 1))));
    x.set([2 ** -8, 2 ** -8 + ULP, 1, 1 - ULP, 2 ** 14 - ULP, 2 ** 14, 0.5 + ULP, 3]);
    const out0 = Float64Array.of(0, -5, ULP, 2 ** 15, 2 ** 20, 2 ** -9, 2 ** 14);
    const prog: Program = async (P, [a, b]) => [
      await reciprocal(P, a!, { lo: -8, hi: 15 }),
      await rsqrt(P, a!, { lo: -8, hi: 16 }),
      await reciprocal(P, b!, { lo: -8, hi: 15 }),
      await reciprocal(P, a!, { lo: -8, hi: 15, outFrac: 24 }),
    ];
    const { out } = await runChecked(prog, [inp(x, [n]), inp(out0, [out0.length])]);
    for (let i = 0; i < n; i++) {
      const r = 1 / x[i]!,
        s = 1 / Math.sqrt(x[i]!);
      expect(Math.abs(out[0]![i]! - r)).toBeLessThanOrEqual(1e-4 * r + 2 ** -16);
      expect(Math.abs(out[3]![i]! - r)).toBeLessThanOrEqual(1e-4 * r + 2 ** -24);
      expect(Math.abs(out[1]![i]! - s)).toBeLessThanOrEqual(1.5e-4 * s + 2 ** -16);
    }
    const sat = [2 ** 8, 2 ** 8, 2 ** 8, 2 ** -15, 2 ** -15, 2 ** 8, 2 ** -14];
    sat.forEach((v, i) => expect(Math.abs(out[2]![i]! - v)).toBeLessThanOrEqual(1e-4 * v + 2 ** -16));
  });
});
