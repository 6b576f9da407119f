/**
 * Top-k (rank and bitonic networks), secret index → one-hot, oblivious gathers: exact agreement
 * with plaintext (descending order, ties to the lowest index), secure == emulation, cost == meter.
 */
import type { Program } from '../../../shared/runtime/program.js';
import { gatherFixed, gatherIndexFixed, gatherSecret, onehot, topk } from '../../../shared/protocol/nonlinear/index.js';
import { seeded } from '../../util/rng.js';
import { inp, q, runChecked } from '../../util/nl.js';

const rng = seeded();

/** Plaintext top-k indices, descending by value then ascending by index. */
function refTop(row: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: row.length }, (_, i) => i)
    .sort((a, b) => row[b]! - row[a]! || a - b)
    .slice(0, k);
}

function withTies(rows: number, n: number): Float64Array {
  const x = Float64Array.from({ length: rows * n }, () => q(rng.uniform(-30, 30)));
  for (let i = 0; i < rows * n; i += 3) x[i] = q(Math.round(x[i]!)); // many equal values
  x.fill(1, 0, n); // an all-equal row
  return x;
}

describe(`top-k, one-hot, gather (seed ${rng.seed})`, () => {
  test.each([
    ['rank', 3, 10, 4],
    ['rank', 2, 33, 1],
    ['rank', 2, 7, 7],
    ['bitonic', 3, 50, 5],
    ['bitonic', 2, 64, 8],
    ['bitonic', 1, 37, 37],
    ['bitonic', 2, 100, 1],
  ] as const)('%s network: rows=%i n=%i k=%i', async (method, rows, n, k) => {
    const x = withTies(rows, n);
    const prog: Program = async (P, [a]) => {
      const o = await topk(P, a!, k, { width: 32, method, onehots: true, khot: true, indices: true });
      return [o.onehots!, o.khot!, o.indices!];
    };
    const { out, cost } = await runChecked(prog, [inp(x, [rows, n])]);
    for (let r = 0; r < rows; r++) {
      const want = refTop(x.subarray(r * n, (r + 1) * n), k);
      for (let t = 0; t < k; t++) {
        expect(out[2]![r * k + t]).toBe(want[t]);
        for (let i = 0; i < n; i++) expect(out[0]![(r * k + t) * n + i]).toBe(i === want[t] ? 1 : 0);
      }
      for (let i = 0; i < n; i++) expect(out[1]![r * n + i]).toBe(want.includes(i) ? 1 : 0);
    }
    if (method === 'rank') expect(cost.rounds).toBe(5);
  });

  test('bitonic k-hot without one-hots uses one threshold comparison', async () => {
    const rows = 2,
      n = 300,
      k = 16,
      x = withTies(rows, n);
    const prog: Program = async (P, [a]) => [
      (await topk(P, a!, k, { width: 32, method: 'bitonic', onehots: false, khot: true })).khot!,
    ];
    const { out } = await runChecked(prog, [inp(x, [rows, n])]);
    for (let r = 0; r < rows; r++) {
      const want = refTop(x.subarray(r * n, (r + 1) * n), k);
      for (let i = 0; i < n; i++) expect(out[0]![r * n + i]).toBe(want.includes(i) ? 1 : 0);
    }
  });

  test('secret index → one-hot, and gathers from fixed-mask and secret matrices', async () => {
    const n = 13,
      d = 5,
      m = 6;
    const idx = Float64Array.from({ length: m }, () => rng.int(0, n));
    idx[0] = 0;
    idx[1] = n - 1;
    const M = Float64Array.from({ length: n * d }, () => q(rng.uniform(-4, 4)));
    const prog: Program = async (P, [ix, mat]) => {
      const oh = await onehot(P, ix!, n);
      const W = await P.fixedAlloc('nl.gather', 1, n, d, 16);
      await P.fixedAppend(W, mat!);
      const g1 = await gatherFixed(P, oh, W),
        g2 = await gatherIndexFixed(P, ix!, W, n),
        g3 = await gatherSecret(P, oh, mat!);
      P.fixedFree(W);
      return [oh, g1, g2, g3];
    };
    const { out } = await runChecked(prog, [inp(idx, [m], 0), inp(M, [n, d])]);
    for (let j = 0; j < m; j++) {
      for (let i = 0; i < n; i++) expect(out[0]![j * n + i]).toBe(i === idx[j] ? 1 : 0);
      for (let c = 0; c < d; c++) for (const g of [1, 2, 3]) expect(out[g]![j * d + c]).toBe(M[idx[j]! * d + c]);
    }
  });
});
