/** Linear-algebra ops for `npm run op`: mul, matvec, matmul, trunc. */
import { z } from 'zod';
import { FRAC_BITS } from '../../ring/fixed-point.js';
import { defineOp } from './types.js';

const F = FRAC_BITS;

/** x·y element-wise, then exact truncation. */
export const MUL_OP = defineOp({
  name: 'mul',
  summary: 'element-wise secret × secret product with exact truncation',
  params: z.object({
    n: z.number().int().positive().default(1024).describe('elements'),
    range: z.number().positive().default(100).describe('inputs uniform in ±range'),
  }),
  shape: (p) => `${p.n}`,
  inputs: (p, rng) =>
    [0, 1].map(() => ({
      shape: [p.n],
      fracBits: F,
      values: Float64Array.from({ length: p.n }, () => rng.uniform(-p.range, p.range)),
    })),
  program:
    () =>
    async (P, [x, y]) => [await P.trunc(await P.mul(x!, y!), F)],
  reference: (_p, [x, y]) => [x!.map((v, i) => v * y![i]!)],
  check: (p) => ({ mode: 'abs', tol: 2 ** -F * (1 + 2 * p.range) }),
});

/** W·x with W held under a fixed mask (opened once), repeated for `repeat` fresh inputs. */
export const MATVEC_OP = defineOp({
  name: 'matvec',
  summary: 'fixed-mask matrix × fresh vector; the weight mask is opened once, each product opens only the input',
  params: z.object({
    rows: z.number().int().positive().default(768).describe('matrix rows'),
    cols: z.number().int().positive().default(3072).describe('matrix columns'),
    repeat: z.number().int().positive().default(1).describe('fresh vectors, one product each'),
    range: z.number().positive().default(1).describe('weights uniform in ±range/√cols'),
  }),
  shape: (p) => `${p.rows}x${p.cols}${p.repeat > 1 ? `x${p.repeat}` : ''}`,
  inputs: (p, rng) => [
    {
      shape: [p.rows, p.cols],
      fracBits: F,
      values: Float64Array.from({ length: p.rows * p.cols }, () => rng.uniform(-p.range, p.range) / Math.sqrt(p.cols)),
    },
    {
      shape: [p.repeat, p.cols],
      fracBits: F,
      values: Float64Array.from({ length: p.repeat * p.cols }, () => rng.uniform(-4, 4)),
    },
  ],
  program:
    (p) =>
    async (P, [w, xs]) => {
      P.phase('setup'); // the weight's mask is opened once, outside the per-product cost
      const m = await P.fixedAlloc('op.w', 1, p.rows, p.cols, F);
      await P.fixedAppend(m, w!);
      P.phase('online');
      const outs = [];
      for (let k = 0; k < p.repeat; k++) {
        outs.push(await P.trunc(await P.fixedMatmul(P.sliceFirst(xs!, k, k + 1), m, 'nt'), F));
      }
      P.fixedFree(m);
      return [P.concatFirst(outs)];
    },
  reference: (p, [w, xs]) => {
    const out = new Float64Array(p.repeat * p.rows);
    for (let k = 0; k < p.repeat; k++)
      for (let j = 0; j < p.rows; j++) {
        let s = 0;
        for (let i = 0; i < p.cols; i++) s += w![j * p.cols + i]! * xs![k * p.cols + i]!;
        out[k * p.rows + j] = s;
      }
    return [out];
  },
  // each product sums `cols` terms with ≤ 2^-17 encoding error on each operand, plus one truncation ulp
  check: (p) => ({ mode: 'abs', tol: 2 ** -F * (1 + 4 * Math.sqrt(p.cols) * p.range) }),
});

/** X·W for a batch of K vectors against a fixed-mask matrix in one product. */
export const MATMUL_OP = defineOp({
  name: 'matmul',
  summary: 'batch of K fresh vectors × fixed-mask matrix in one round',
  params: z.object({
    k: z.number().int().positive().default(16).describe('vectors in the batch'),
    rows: z.number().int().positive().default(768).describe('matrix rows'),
    cols: z.number().int().positive().default(768).describe('matrix columns'),
  }),
  shape: (p) => `${p.k}x${p.cols}·${p.cols}x${p.rows}`,
  inputs: (p, rng) => [
    {
      shape: [p.rows, p.cols],
      fracBits: F,
      values: Float64Array.from({ length: p.rows * p.cols }, () => rng.uniform(-1, 1) / Math.sqrt(p.cols)),
    },
    {
      shape: [p.k, p.cols],
      fracBits: F,
      values: Float64Array.from({ length: p.k * p.cols }, () => rng.uniform(-4, 4)),
    },
  ],
  program:
    (p) =>
    async (P, [w, xs]) => {
      P.phase('setup');
      const m = await P.fixedAlloc('op.w', 1, p.rows, p.cols, F);
      await P.fixedAppend(m, w!);
      P.phase('online');
      const y = await P.trunc(await P.fixedMatmul(xs!, m, 'nt'), F);
      P.fixedFree(m);
      return [y];
    },
  reference: (p, [w, xs]) => MATVEC_OP.reference({ rows: p.rows, cols: p.cols, repeat: p.k, range: 1 }, [w!, xs!]),
  check: (p) => ({ mode: 'abs', tol: 2 ** -F * (1 + 4 * Math.sqrt(p.cols)) }),
});

/** Exact truncation of values with 2f fractional bits to f. */
export const TRUNC_OP = defineOp({
  name: 'trunc',
  summary: 'exact truncation (floor) from 2f to f fractional bits',
  params: z.object({
    n: z.number().int().positive().default(1024).describe('elements'),
    range: z.number().positive().default(1000).describe('inputs uniform in ±range'),
  }),
  shape: (p) => `${p.n}`,
  inputs: (p, rng) => [
    { shape: [p.n], fracBits: 2 * F, values: Float64Array.from({ length: p.n }, () => rng.uniform(-p.range, p.range)) },
  ],
  program:
    () =>
    async (P, [x]) => [await P.trunc(x!, F)],
  reference: (_p, [x]) => [x!.map((v) => Math.floor(Math.round(v * 2 ** (2 * F)) / 2 ** F) / 2 ** F)],
  check: () => ({ mode: 'exact' }),
});
