/**
 * Softmax (dense, causal lengths, general public mask) and LayerNorm / RMSNorm against float64 of
 * the encoded inputs, masked entries exactly zero and free, secure == emulation, cost == meter.
 */
import type { Program } from '../../../shared/runtime/program.js';
import { layerNorm, rmsNorm, softmax } from '../../../shared/protocol/nonlinear/index.js';
import { declaredCost } from '../../../shared/protocol/cost.js';
import { shapeOnly } from '../../../shared/ring/tensor.js';
import { seeded } from '../../util/rng.js';
import { inp, maxAbsErr, q, runChecked } from '../../util/nl.js';

const rng = seeded();

function refSoftmax(x: Float64Array, rows: number, n: number, keep: (r: number, j: number) => boolean): Float64Array {
  const out = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity,
      s = 0;
    for (let j = 0; j < n; j++) if (keep(r, j)) m = Math.max(m, x[r * n + j]!);
    for (let j = 0; j < n; j++) if (keep(r, j)) s += Math.exp(x[r * n + j]! - m);
    for (let j = 0; j < n; j++) out[r * n + j] = keep(r, j) ? Math.exp(x[r * n + j]! - m) / s : 0;
  }
  return out;
}

function refNorm(x: Float64Array, rows: number, d: number, center: boolean, eps = 1e-5): Float64Array {
  const out = new Float64Array(rows * d);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * d, (r + 1) * d);
    const mu = center ? row.reduce((a, b) => a + b, 0) / d : 0;
    const v = row.reduce((a, b) => a + (b - mu) ** 2, 0) / d;
    for (let j = 0; j < d; j++) out[r * d + j] = (row[j]! - mu) / Math.sqrt(v + eps);
  }
  return out;
}

describe(`softmax and norms (seed ${rng.seed})`, () => {
  test('softmax rows of 1024 scores: max abs error ≤ 1e-3 per probability (bound 5e-4), ≤ 64 B per score', async () => {
    const rows = 4,
      n = 1024,
      scales = [0.01, 3, 30, 300];
    const x = Float64Array.from({ length: rows * n }, (_, i) => q(rng.normal() * scales[Math.floor(i / n)]!));
    x[3 * n + 7] = q(2000); // one dominant score
    const { out, cost } = await runChecked(async (P, [a]) => [await softmax(P, a!)], [inp(x, [rows, n])]);
    const { err } = maxAbsErr(
      out[0]!,
      refSoftmax(x, rows, n, () => true),
    );
    expect(err).toBeLessThanOrEqual(5e-4);
    expect(cost.payloadBytes / (rows * n)).toBeLessThanOrEqual(64);
  });

  test('causal lengths and a general mask: masked entries are exactly 0 and cost nothing', async () => {
    const T = 24,
      n = 24,
      x = Float64Array.from({ length: T * n }, () => q(rng.uniform(-8, 8)));
    const lengths = Array.from({ length: T }, (_, r) => r + 1);
    lengths[5] = 0; // an empty row
    const mask = Uint8Array.from({ length: T * n }, () => (rng.float() < 0.6 ? 1 : 0));
    const prog: Program = async (P, [a]) => [await softmax(P, a!, { lengths }), await softmax(P, a!, { mask })];
    const { out } = await runChecked(prog, [inp(x, [T, n])]);
    const keepL = (r: number, j: number) => j < lengths[r]!,
      keepM = (r: number, j: number) => mask[r * n + j] === 1;
    expect(maxAbsErr(out[0]!, refSoftmax(x, T, n, keepL)).err).toBeLessThanOrEqual(5e-4);
    expect(maxAbsErr(out[1]!, refSoftmax(x, T, n, keepM)).err).toBeLessThanOrEqual(5e-4);
    for (let r = 0; r < T; r++)
      for (let j = 0; j < n; j++) {
        if (!keepL(r, j)) expect(out[0]![r * n + j]).toBe(0);
        if (!keepM(r, j)) expect(out[1]![r * n + j]).toBe(0);
      }
    // a row with half its entries masked costs what a dense row of half the length costs
    const half = await declaredCost((P) => softmax(P, shapeOnly([2, 64], 16), { lengths: [32, 32] }));
    const dense = await declaredCost((P) => softmax(P, shapeOnly([2, 32], 16)));
    expect(half).toEqual(dense);
  });

  test('LayerNorm over 768 values of scale up to 100: relative error ≤ 1e-2; γ/β; RMSNorm', async () => {
    const rows = 4,
      d = 768,
      scales = [100, 1, 0.05, 30],
      offsets = [0, 5, -3, 50];
    const x = Float64Array.from({ length: rows * d }, (_, i) =>
      q(rng.normal() * scales[Math.floor(i / d)]! + offsets[Math.floor(i / d)]!),
    );
    const gamma = Float64Array.from({ length: d }, () => rng.uniform(0.5, 1.5)),
      beta = Float64Array.from({ length: d }, () => rng.uniform(-1, 1));
    const prog: Program = async (P, [a]) => [
      await layerNorm(P, a!),
      await layerNorm(P, a!, { gamma, beta }),
      await rmsNorm(P, a!),
      await layerNorm(P, a!, { outFrac: 32 }),
    ];
    const { out, r } = await runChecked(prog, [inp(x, [rows, d])]);
    expect(r.secure[3]!.fracBits).toBe(32);
    const ln = refNorm(x, rows, d, true),
      rms = refNorm(x, rows, d, false);
    const lnGB = ln.map((v, i) => v * gamma[i % d]! + beta[i % d]!);
    for (const [got, want] of [
      [out[0]!, ln],
      [out[1]!, lnGB],
      [out[2]!, rms],
    ] as const) {
      const scale = Math.max(...want.map(Math.abs));
      expect(maxAbsErr(got, want).err / scale).toBeLessThanOrEqual(1e-3);
    }
    // outFrac 2f keeps 1/σ at f bits: relative error up to 2^−17·σ (σ ≤ 100·1.1 here)
    expect(maxAbsErr(out[3]!, ln).err / Math.max(...ln.map(Math.abs))).toBeLessThanOrEqual(2e-3);
  });
});
