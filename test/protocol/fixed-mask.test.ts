import { runInProcess } from '../../shared/runtime/inprocess.js';
import type { Program } from '../../shared/runtime/program.js';
import { decodeArray, FRAC_BITS } from '../../shared/ring/fixed-point.js';
import { seeded } from '../util/rng.js';

const F = FRAC_BITS;

describe('fixed-mask matrix products', () => {
  const rng = seeded();

  test(`matvec with a fixed mask opens only the activation (seed ${rng.seed})`, async () => {
    const rows = 24,
      cols = 40;
    const W = rng.floats(rows * cols, -1, 1),
      x = rng.floats(cols, -4, 4);
    const prog: Program = async (P, [w, v]) => {
      const m = await P.fixedAlloc('w', 1, rows, cols, F);
      await P.fixedAppend(m, w!);
      return [await P.trunc(await P.fixedMatmul(P.reshape(v!, [1, cols]), m, 'nt'), F)];
    };
    const r = await runInProcess(prog, [
      { values: W, shape: [rows, cols], fracBits: F },
      { values: x, shape: [cols], fracBits: F },
    ]);
    expect(r.secure[0]!.data).toEqual(r.clear[0]!.data);
    const got = decodeArray(r.secure[0]!.data);
    for (let j = 0; j < rows; j++) {
      let ref = 0;
      for (let i = 0; i < cols; i++) ref += W[j * cols + i]! * x[i]!;
      expect(Math.abs(got[j]! - ref)).toBeLessThan(cols * 2 ** -15);
    }
    expect(r.meters[0].labels['fixed.matmul']!.sentBytes).toBeLessThan(8 * cols + 64);
  });

  test('grouped nt/nn products over a growing matrix (attention-like use)', async () => {
    const G = 3,
      cap = 10,
      d = 4,
      T = 7,
      K = 2;
    const keys = rng.floats(G * T * d, -2, 2),
      q = rng.floats(G * K * d, -2, 2),
      p = rng.floats(G * K * T, 0, 1);
    const prog: Program = async (P, [k, qq, pp]) => {
      const m = await P.fixedAlloc('kv', G, cap, d, F);
      await P.fixedAppend(m, P.reshape(P.sliceFirst(P.reshape(k!, [G * T, d]), 0, G * T), [G, T, d]));
      const s = await P.fixedMatmul(qq!, m, 'nt'); // [G, K, T]
      const o = await P.fixedMatmul(pp!, m, 'nn'); // [G, K, d]
      return [s, o];
    };
    const r = await runInProcess(prog, [
      { values: keys, shape: [G, T, d], fracBits: F },
      { values: q, shape: [G, K, d], fracBits: F },
      { values: p, shape: [G, K, T], fracBits: F },
    ]);
    expect(r.secure[0]!.data).toEqual(r.clear[0]!.data);
    expect(r.secure[1]!.data).toEqual(r.clear[1]!.data);
    const s = decodeArray(r.secure[0]!.data, 2 * F),
      o = decodeArray(r.secure[1]!.data, 2 * F);
    for (let g = 0; g < G; g++)
      for (let k = 0; k < K; k++) {
        for (let t = 0; t < T; t++) {
          let ref = 0;
          for (let i = 0; i < d; i++) ref += q[(g * K + k) * d + i]! * keys[(g * T + t) * d + i]!;
          expect(s[(g * K + k) * T + t]).toBeCloseTo(ref, 3);
        }
        for (let i = 0; i < d; i++) {
          let ref = 0;
          for (let t = 0; t < T; t++) ref += p[(g * K + k) * T + t]! * keys[(g * T + t) * d + i]!;
          expect(o[(g * K + k) * d + i]).toBeCloseTo(ref, 3);
        }
      }
  });
});
