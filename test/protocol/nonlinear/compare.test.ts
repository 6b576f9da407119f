/**
 * DReLU, ReLU, ≥, equality, clip, select/mux: exact agreement with the plaintext answer on every
 * element (edges: 0, ±1 ulp, threshold ±1 ulp, bound limits), secure == emulation, cost == meter.
 */
import type { Program } from '../../../shared/runtime/program.js';
import { clip, drelu, eq, ge, mux, relu, select } from '../../../shared/protocol/nonlinear/index.js';
import { seeded } from '../../util/rng.js';
import { inp, q, runChecked } from '../../util/nl.js';

const rng = seeded();
const ULP = 2 ** -16;

function values(n: number, lim: number): Float64Array {
  const x = Float64Array.from({ length: n }, () => q(rng.uniform(-lim, lim)));
  x.set([0, ULP, -ULP, lim - ULP, -lim + ULP, 1, -1, 2 * ULP]);
  return x;
}

describe(`comparison wrappers (seed ${rng.seed})`, () => {
  test.each([64, 32, 24])('drelu and relu at width %i are exact', async (width) => {
    const n = 200,
      lim = Math.min(2 ** (width - 17), 2 ** 30),
      x = values(n, lim);
    const prog: Program = async (P, [a]) => [await drelu(P, a!, { width }), await relu(P, a!, { width })];
    const { out, cost } = await runChecked(prog, [inp(x, [n])]);
    for (let i = 0; i < n; i++) {
      expect(out[0]![i]).toBe(x[i]! >= 0 ? 1 : 0);
      expect(out[1]![i]).toBe(Math.max(0, x[i]!));
    }
    expect(cost.rounds).toBe(8);
    if (width === 32) expect(cost.payloadBytes / n).toBeLessThanOrEqual(2 * 6.5 + 0.1);
  });

  test('ge, eq (secret and public), clip, select and mux are exact', async () => {
    const n = 150,
      x = values(n, 100),
      y = Float64Array.from(x, (v, i) => (i % 3 === 0 ? v : i % 3 === 1 ? v + ULP : q(rng.uniform(-100, 100))));
    const b = Float64Array.from({ length: n }, () => rng.int(0, 2));
    x[20] = 2.5;
    x[21] = 2.5 + ULP;
    x[22] = -3;
    x[23] = 7 - ULP;
    x[24] = 7;
    const prog: Program = async (P, [a, c, bit]) => [
      await ge(P, a!, c!, { width: 32 }),
      await eq(P, a!, c!, { width: 32 }),
      await eq(P, a!, 2.5, { width: 32 }),
      await clip(P, a!, -3, 7, { width: 32 }),
      await select(P, bit!, a!),
      await mux(P, bit!, a!, c!),
    ];
    const { out } = await runChecked(prog, [inp(x, [n]), inp(y, [n]), inp(b, [n], 0)]);
    for (let i = 0; i < n; i++) {
      expect(out[0]![i]).toBe(x[i]! >= y[i]! ? 1 : 0);
      expect(out[1]![i]).toBe(x[i] === y[i] ? 1 : 0);
      expect(out[2]![i]).toBe(x[i] === 2.5 ? 1 : 0);
      expect(out[3]![i]).toBe(Math.min(7, Math.max(-3, x[i]!)));
      expect(out[4]![i]).toBe(b[i] ? x[i] : 0);
      expect(out[5]![i]).toBe(b[i] ? x[i] : y[i]);
    }
  });

  test('bounded DReLU meets the cost targets (≤ 24 online B, ≤ 64 dealer B per element)', async () => {
    const n = 1000,
      x = values(n, 1000);
    const { cost } = await runChecked(async (P, [a]) => [await drelu(P, a!, { width: 32 })], [inp(x, [n])]);
    expect(cost.payloadBytes / n).toBeLessThanOrEqual(6.5 + 0.01);
    expect(cost.dealerBytes / n).toBe(37);
    expect(cost.rounds).toBe(4);
  });
});
