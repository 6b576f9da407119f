/**
 * Core secure primitives, all three roles in one process (dealer program over DealerPrims,
 * two parties over SecurePrims), checked bit for bit against the clear emulation and within
 * bounds against float64.
 */
import { runInProcess } from '../../shared/runtime/inprocess.js';
import type { Program } from '../../shared/runtime/program.js';
import { decodeArray, FRAC_BITS } from '../../shared/ring/fixed-point.js';
import { seeded } from '../util/rng.js';

const F = FRAC_BITS;
const inp = (values: Float64Array, shape: number[], fracBits = F) => ({ values, shape, fracBits });

describe('core protocols in process (secure == emulation, emulation ≈ float64)', () => {
  const rng = seeded();

  test(`mul + trunc (seed ${rng.seed})`, async () => {
    const n = 300;
    const x = rng.floats(n, -100, 100),
      y = rng.floats(n, -100, 100);
    x.set([0, 2 ** -16, -(2 ** -16), 99.99, -99.99]);
    const prog: Program = async (P, [a, b]) => [await P.trunc(await P.mul(a!, b!), F)];
    const r = await runInProcess(prog, [inp(x, [n]), inp(y, [n])]);
    expect(r.secure[0]!.data).toEqual(r.clear[0]!.data);
    const got = decodeArray(r.secure[0]!.data);
    for (let i = 0; i < n; i++)
      expect(Math.abs(got[i]! - x[i]! * y[i]!)).toBeLessThan(2e-3 + Math.abs(x[i]! * y[i]!) * 1e-4);
    expect(r.rounds).toBe(3); // mul 1 + trunc 2
  });

  test('row-broadcast product opens one element per row for the multiplier', async () => {
    const rows = 4,
      cols = 50;
    const x = rng.floats(rows * cols, -3, 3),
      s = rng.floats(rows, -2, 2);
    const prog: Program = async (P, [a, b]) => [await P.mul(a!, b!)];
    const r = await runInProcess(prog, [inp(x, [rows, cols]), inp(s, [rows, 1])]);
    expect(r.secure[0]!.data).toEqual(r.clear[0]!.data);
    const got = decodeArray(r.secure[0]!.data, 2 * F);
    for (let i = 0; i < rows * cols; i++) expect(got[i]).toBeCloseTo(x[i]! * s[Math.floor(i / cols)]!, 3);
    const sent = r.meters[0].labels['mul.open']!.sentBytes;
    expect(sent).toBeLessThan(8 * (rows * cols + rows) + 64);
  });

  test('square', async () => {
    const x = rng.floats(100, -50, 50);
    const prog: Program = async (P, [a]) => [await P.square(a!)];
    const r = await runInProcess(prog, [inp(x, [100])]);
    expect(r.secure[0]!.data).toEqual(r.clear[0]!.data);
  });

  test('truncation is exact floor at every width, across sign and magnitude edges', async () => {
    const vals = rng.floats(200, -(2 ** 20), 2 ** 20);
    vals.set([0, -(2 ** -40), 2 ** -40, -1, 1, 2 ** 20 - 1, -(2 ** 20), 1.5, -1.5, -(2 ** -17)]);
    for (const s of [1, 7, 8, 9, 16, 24, 32, 40]) {
      const prog: Program = async (P, [a]) => [await P.trunc(a!, s)];
      const r = await runInProcess(prog, [inp(vals, [vals.length], 40)]);
      expect(r.secure[0]!.data).toEqual(r.clear[0]!.data);
      const input = new BigInt64Array(Float64Array.from(vals).length);
      vals.forEach((v, i) => {
        input[i] = BigInt(Math.round(v * 2 ** 40));
      });
      const got = new BigInt64Array(r.secure[0]!.data.buffer);
      for (let i = 0; i < vals.length; i++) expect(got[i]).toBe(input[i]! >> BigInt(s)); // floor
    }
  });

  test('sign test with fused select is exact, including 0, ±1 ulp and ring extremes', async () => {
    const x = rng.floats(500, -1e6, 1e6);
    x.set([0, 2 ** -16, -(2 ** -16), 1e9, -1e9, 2 ** 46, -(2 ** 46)]);
    const y = rng.floats(500, -10, 10);
    const prog: Program = async (P, [a, b]) => {
      const { bit, prods } = await P.cmpMul(a!, [a!, b!]);
      return [bit, prods[0]!, prods[1]!];
    };
    const r = await runInProcess(prog, [inp(x, [500]), inp(y, [500])]);
    for (let k = 0; k < 3; k++) expect(r.secure[k]!.data).toEqual(r.clear[k]!.data);
    const bit = r.secure[0]!.data,
      relu = decodeArray(r.secure[1]!.data),
      sel = decodeArray(r.secure[2]!.data);
    for (let i = 0; i < 500; i++) {
      expect(bit[i]).toBe(x[i]! >= 0 ? 1n : 0n);
      expect(relu[i]).toBeCloseTo(Math.max(0, x[i]!), 4);
      expect(sel[i]).toBeCloseTo(x[i]! >= 0 ? y[i]! : 0, 4);
    }
    expect(r.rounds).toBe(4);
  });
});

describe('lean truncation (bulk: n ≥ 4096, s ≤ 16)', () => {
  test('exact floor like the fast variant, 3 rounds, a third of the dealer bytes', async () => {
    const rng = seeded();
    const n = 5000;
    const vals = rng.floats(n, -(2 ** 20), 2 ** 20);
    vals.set([0, -(2 ** -40), 2 ** -40, -1, 1, 2 ** 20 - 1, -(2 ** 20), 1.5, -1.5, -(2 ** -17)]);
    for (const s of [1, 3, 4, 9, 16]) {
      const prog: Program = async (P, [a]) => [await P.trunc(a!, s)];
      const r = await runInProcess(prog, [inp(vals, [n], 40)]);
      expect(r.secure[0]!.data).toEqual(r.clear[0]!.data);
      const got = new BigInt64Array(r.secure[0]!.data.buffer);
      vals.forEach((v, i) => expect(got[i]).toBe(BigInt(Math.round(v * 2 ** 40)) >> BigInt(s)));
      expect(r.rounds).toBe(3);
      if (s === 16) expect(r.dealerBytes).toBe(36 * n);
    }
  });
});
