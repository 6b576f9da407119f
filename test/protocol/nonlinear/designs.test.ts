/**
 * The designs of nonlinear/design.ts (fixed ones and the per-call choices for LAN and WAN): every
 * recipe computes the same values whatever the design (secure == emulation bit for bit, and the
 * designs agree with each other), the meter equals the declared cost, and softmax·V by
 * (e·V)/Σe, LayerNorm and GeLU meet their bounds against float64.
 */
import type { AnyTensor } from '../../../shared/ring/tensor.js';
import type { FixedHandle, Prims } from '../../../shared/protocol/prims/types.js';
import { LEAN, SWIFT, tunedFor, type Design } from '../../../shared/protocol/nonlinear/design.js';
import { softmaxTimes } from '../../../shared/protocol/nonlinear/softmax.js';
import { EXP_SPLINE_ERR, expNeg, gelu, geluTanh, layerNorm } from '../../../shared/protocol/nonlinear/index.js';
import { inp, maxAbsErr, q, runChecked } from '../../util/nl.js';
import { seeded } from '../../util/rng.js';

const rng = seeded();
const H = 3,
  T = 40,
  HD = 4,
  D = 96;

/** Everything at once: exp, GeLU, softmax·V (rows of T scores, values [H, T, HD]) and LayerNorm. */
function program(design: Design) {
  return async <T_ extends AnyTensor, F extends FixedHandle>(P: Prims<T_, F>, [s, v, g, x]: readonly T_[]) => {
    const V = await P.fixedAlloc('v', H, T, HD, 16);
    await P.fixedAppend(V, v!);
    const attn = await softmaxTimes(P, s!, (e) => P.fixedMatmul(e, V, 'nn', T), { width: 32, design });
    return [
      await expNeg(P, P.neg(P.relabel(P.mulInt(g!, 4), 16)), { nonPositive: false, outFrac: 24, design }),
      await gelu(P, g!, { width: 32, design }),
      attn,
      await layerNorm(P, x!, { design }),
    ];
  };
}

function reference(s: Float64Array, v: Float64Array): Float64Array {
  const out = new Float64Array(H * HD);
  for (let h = 0; h < H; h++) {
    const row = s.subarray(h * T, (h + 1) * T),
      m = Math.max(...row),
      e = Array.from(row, (x) => Math.exp(x - m)),
      z = e.reduce((a, b) => a + b, 0);
    for (let c = 0; c < HD; c++) out[h * HD + c] = e.reduce((a, ej, j) => a + (ej / z) * v[(h * T + j) * HD + c]!, 0);
  }
  return out;
}

describe(`designs: same values, declared costs, bounds (seed ${rng.seed})`, () => {
  const vals = (n: number, f: () => number) => Float64Array.from({ length: n }, () => q(f()));
  const s = vals(H * T, () => rng.normal() * 4),
    v = vals(H * T * HD, () => rng.uniform(-3, 3)),
    g = vals(64, () => rng.uniform(-6, 6)),
    x = vals(2 * D, () => rng.normal() * 20 + 3);
  const inputs = [inp(s, [H, 1, T]), inp(v, [H, T, HD]), inp(g, [64]), inp(x, [2, D])];
  const designs: Array<[string, Design]> = [
    ['lean', LEAN],
    ['swift', SWIFT],
    ['lan', tunedFor('lan')],
    ['wan', tunedFor('wan')],
  ];
  let first: Float64Array[] | undefined;

  test.each(designs)(
    '%s: secure == emulation, metered == declared, the same values as every other design',
    async (_n, d) => {
      const { out } = await runChecked(program(d), inputs);
      if (!first) first = out;
      out.forEach((o, k) => expect(Array.from(o)).toEqual(Array.from(first![k]!)));
      // bounds against float64
      const want = reference(s, v),
        vmax = Math.max(...Array.from(v, Math.abs));
      expect(maxAbsErr(out[2]!, want).err).toBeLessThanOrEqual((2.5e-4 + 1.1e-4 + T * 2 ** -24) * vmax + 2 ** -14);
      expect(maxAbsErr(out[1]!, Float64Array.from(g, geluTanh)).err).toBeLessThanOrEqual(8e-4 + 2 ** -16);
      out[0]!.forEach((got, i) => {
        const want = Math.exp(Math.max(-16, Math.min(0, -4 * g[i]!)));
        expect(Math.abs(got - want)).toBeLessThanOrEqual(2 * EXP_SPLINE_ERR * want + 1.5 * 2 ** -24);
      });
      for (let r = 0; r < 2; r++) {
        const row = x.subarray(r * D, (r + 1) * D),
          mu = row.reduce((a, b) => a + b, 0) / D,
          sd = Math.sqrt(row.reduce((a, b) => a + (b - mu) ** 2, 0) / D + 1e-5);
        const ref = Float64Array.from(row, (t) => (t - mu) / sd);
        expect(maxAbsErr(out[3]!.subarray(r * D, (r + 1) * D), ref).err).toBeLessThanOrEqual(3e-4 * 4 + 3 * 2 ** -16);
      }
    },
  );
});
