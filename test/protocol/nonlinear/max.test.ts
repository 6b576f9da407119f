/**
 * Max and argmax (tournament tree): exact agreement with plaintext, ties resolved to the lowest
 * index, ragged rows, secure == emulation and cost == meter.
 */
import type { Program } from '../../../shared/runtime/program.js';
import { argmaxLast, max2, maxLast } from '../../../shared/protocol/nonlinear/index.js';
import { seeded } from '../../util/rng.js';
import { inp, q, runChecked } from '../../util/nl.js';

const rng = seeded();

describe(`max / argmax (seed ${rng.seed})`, () => {
  test('element-wise max and row max (dense and ragged) are exact; one batched call per level', async () => {
    const rows = 5,
      n = 37;
    const x = Float64Array.from({ length: rows * n }, () => q(rng.uniform(-500, 500)));
    x.fill(-7, n, 2 * n); // a row of equal elements
    x[2 * n + 36] = q(499.99);
    x[3 * n] = -500; // extremes at the ends of rows
    const y = Float64Array.from({ length: rows * n }, () => q(rng.uniform(-500, 500)));
    const lengths = [37, 1, 0, 20, 36];
    const prog: Program = async (P, [a, b]) => [
      await max2(P, a!, b!, { width: 32 }),
      await maxLast(P, a!, { width: 32 }),
      await maxLast(P, a!, { width: 32, lengths }),
    ];
    const { out, cost } = await runChecked(prog, [inp(x, [rows, n]), inp(y, [rows, n])]);
    for (let i = 0; i < rows * n; i++) expect(out[0]![i]).toBe(Math.max(x[i]!, y[i]!));
    for (let r = 0; r < rows; r++) {
      const row = Array.from(x.subarray(r * n, (r + 1) * n));
      expect(out[1]![r]).toBe(Math.max(...row));
      expect(out[2]![r]).toBe(lengths[r] ? Math.max(...row.slice(0, lengths[r])) : 0);
    }
    expect(cost.rounds).toBe(3 + 3 * 6 + 3 * 6); // ⌈log2 37⌉ = 6 levels of one-node comparisons (width 32)
  });

  test('argmax returns the first maximum (index, value, one-hot)', async () => {
    const rows = 6,
      n = 20;
    const x = Float64Array.from({ length: rows * n }, () => q(rng.uniform(-50, 50)));
    x.fill(3, 0, n); // all equal → index 0
    x[n + 4] = 60;
    x[n + 17] = 60; // tie → 4
    x[2 * n + 19] = 70; // last element
    x[3 * n + 5] = 2 ** -16;
    x.fill(0, 3 * n + 6, 4 * n);
    x.fill(0, 3 * n, 3 * n + 5); // 1 ulp above zeros
    x[4 * n + 9] = -(2 ** -16);
    x.fill(-(2 ** -16), 4 * n, 5 * n);
    x[4 * n + 12] = 0; // 1 ulp
    const prog: Program = async (P, [a]) => {
      const o = await argmaxLast(P, a!, { width: 32, onehot: true });
      return [o.max, o.index, o.onehot!];
    };
    const { out } = await runChecked(prog, [inp(x, [rows, n])]);
    for (let r = 0; r < rows; r++) {
      const row = Array.from(x.subarray(r * n, (r + 1) * n)),
        m = Math.max(...row),
        idx = row.indexOf(m);
      expect([out[0]![r], out[1]![r]]).toEqual([m, idx]);
      for (let i = 0; i < n; i++) expect(out[2]![r * n + i]).toBe(i === idx ? 1 : 0);
    }
    expect([out[1]![0], out[1]![1], out[1]![2], out[1]![3], out[1]![4]]).toEqual([0, 4, 19, 5, 12]);
  });
});
