/**
 * Comparison-based ops for `npm run op`: drelu, relu, eq, max, argmax, onehot, gather, topk.
 * All exact: the check is equality with the plaintext answer on every element. Random inputs
 * cover the op's range plus edge values (0, ±1 ulp, range limits, ties).
 */
import { z } from 'zod';
import { FRAC_BITS } from '../../ring/fixed-point.js';
import {
  argmaxLast,
  drelu,
  eq,
  gatherIndexFixed,
  maxLast,
  onehot,
  relu,
  topk,
} from '../../protocol/nonlinear/index.js';
import type { InputRng } from './types.js';
import { defineOp } from './types.js';

const F = FRAC_BITS,
  ULP = 2 ** -F;
const q = (x: number): number => Math.round(x * 2 ** F) / 2 ** F;
/** Values in ±range (fixed-point grid) with edges first. */
function edgy(n: number, range: number, rng: InputRng): Float64Array {
  const x = Float64Array.from({ length: n }, () => q(rng.uniform(-range, range)));
  x.set([0, ULP, -ULP, q(range) - ULP, -q(range), 1, -1].slice(0, n));
  return x;
}
/** Row-structured values with ties (a third of entries rounded to integers, one all-equal row). */
function rowsWithTies(rows: number, n: number, range: number, rng: InputRng): Float64Array {
  const x = Float64Array.from({ length: rows * n }, () => q(rng.uniform(-range, range)));
  for (let i = 0; i < x.length; i += 3) x[i] = Math.round(x[i]!);
  if (rows > 1) x.fill(1, 0, n);
  return x;
}
const byRow = (x: Float64Array, n: number) =>
  Array.from({ length: x.length / n }, (_, r) => Array.from(x.subarray(r * n, (r + 1) * n)));
const width = z
  .number()
  .int()
  .min(8)
  .max(64)
  .default(32)
  .describe('bits of the bounded comparison (64 = the core sign test)');

export const DRELU_OP = defineOp({
  name: 'drelu',
  summary: 'exact [x ≥ 0] (bounded comparison: --width bits opened; 64 = core sign test)',
  params: z.object({
    n: z.number().int().positive().default(1024).describe('elements'),
    width,
    range: z.number().positive().default(1000).describe('inputs in ±range'),
  }),
  shape: (p) => `${p.n}`,
  inputs: (p, rng) => [
    { shape: [p.n], fracBits: F, values: edgy(p.n, Math.min(p.range, 2 ** (p.width - 2 - F)), rng) },
  ],
  program:
    (p) =>
    async (P, [x]) => [await drelu(P, x!, { width: p.width })],
  reference: (_p, [x]) => [x!.map((v) => (v >= 0 ? 1 : 0))],
  check: () => ({ mode: 'exact' }),
});

export const RELU_OP = defineOp({
  name: 'relu',
  summary: 'exact max(x, 0) (comparison with its fused product)',
  params: DRELU_OP.params,
  shape: (p) => `${p.n}`,
  inputs: DRELU_OP.inputs,
  program:
    (p) =>
    async (P, [x]) => [await relu(P, x!, { width: p.width })],
  reference: (_p, [x]) => [x!.map((v) => Math.max(0, v))],
  check: () => ({ mode: 'exact' }),
});

export const EQ_OP = defineOp({
  name: 'eq',
  summary: 'exact [x = y] for secret x, y (equality tree on x − y)',
  params: DRELU_OP.params,
  shape: (p) => `${p.n}`,
  inputs: (p, rng) => {
    const x = edgy(p.n, Math.min(p.range, 2 ** (p.width - 3 - F)), rng);
    const y = Float64Array.from(x, (v, i) =>
      i % 3 === 0 ? v : i % 3 === 1 ? v + ULP : q(rng.uniform(-p.range, p.range)),
    );
    return [
      { shape: [p.n], fracBits: F, values: x },
      { shape: [p.n], fracBits: F, values: y },
    ];
  },
  program:
    (p) =>
    async (P, [x, y]) => [await eq(P, x!, y!, { width: p.width })],
  reference: (_p, [x, y]) => [x!.map((v, i) => (v === y![i] ? 1 : 0))],
  check: () => ({ mode: 'exact' }),
});

const rowParams = z.object({
  n: z.number().int().positive().default(1024).describe('row length'),
  rows: z.number().int().positive().default(1).describe('rows'),
  width,
  range: z.number().positive().default(100).describe('inputs in ±range'),
});

export const MAX_OP = defineOp({
  name: 'max',
  summary: 'exact row max over the last axis (tournament, one batched comparison per level)',
  params: rowParams,
  shape: (p) => `${p.rows}x${p.n}`,
  inputs: (p, rng) => [{ shape: [p.rows, p.n], fracBits: F, values: rowsWithTies(p.rows, p.n, p.range, rng) }],
  program:
    (p) =>
    async (P, [x]) => [await maxLast(P, x!, { width: p.width })],
  reference: (p, [x]) => [Float64Array.from(byRow(x!, p.n), (r) => Math.max(...r))],
  check: () => ({ mode: 'exact' }),
});

export const ARGMAX_OP = defineOp({
  name: 'argmax',
  summary: 'exact argmax over the last axis, lowest index on ties (index; --onehot adds the one-hot)',
  params: rowParams.extend({ onehot: z.boolean().default(false).describe('also output the one-hot') }),
  shape: (p) => `${p.rows}x${p.n}`,
  inputs: (p, rng) => MAX_OP.inputs(p, rng),
  program:
    (p) =>
    async (P, [x]) => {
      const o = await argmaxLast(P, x!, { width: p.width, onehot: p.onehot });
      return p.onehot ? [o.index, o.onehot!] : [o.index];
    },
  reference: (p, [x]) => {
    const idx = byRow(x!, p.n).map((r) => r.indexOf(Math.max(...r)));
    const oh = new Float64Array(p.rows * p.n);
    idx.forEach((i, r) => {
      oh[r * p.n + i] = 1;
    });
    return p.onehot ? [Float64Array.from(idx), oh] : [Float64Array.from(idx)];
  },
  check: () => ({ mode: 'exact' }),
});

export const ONEHOT_OP = defineOp({
  name: 'onehot',
  summary: 'secret index → secret one-hot of length n (opens w = ⌈log2 n⌉ bits per index)',
  params: z.object({
    n: z.number().int().min(2).default(1024).describe('one-hot length'),
    m: z.number().int().positive().default(16).describe('indices'),
  }),
  shape: (p) => `${p.m}→${p.n}`,
  inputs: (p, rng) => {
    const idx = Float64Array.from({ length: p.m }, () => rng.int(0, p.n));
    idx.set([0, p.n - 1].slice(0, p.m));
    return [{ shape: [p.m], fracBits: 0, values: idx }];
  },
  program:
    (p) =>
    async (P, [i]) => [await onehot(P, i!, p.n)],
  reference: (p, [i]) => {
    const oh = new Float64Array(p.m * p.n);
    i!.forEach((v, j) => {
      oh[j * p.n + v] = 1;
    });
    return [oh];
  },
  check: () => ({ mode: 'exact' }),
});

export const GATHER_OP = defineOp({
  name: 'gather',
  summary: 'oblivious gather of m rows of a fixed-mask n×d matrix by secret indices (one-hot + fixed product)',
  params: z.object({
    n: z.number().int().min(2).default(1024).describe('matrix rows'),
    d: z.number().int().positive().default(64).describe('matrix columns'),
    m: z.number().int().positive().default(8).describe('rows gathered'),
  }),
  shape: (p) => `${p.m} of ${p.n}x${p.d}`,
  inputs: (p, rng) => [
    { shape: [p.n, p.d], fracBits: F, values: Float64Array.from({ length: p.n * p.d }, () => q(rng.uniform(-8, 8))) },
    { shape: [p.m], fracBits: 0, values: ONEHOT_OP.inputs({ n: p.n, m: p.m }, rng)[0]!.values },
  ],
  program:
    (p) =>
    async (P, [w, i]) => {
      P.phase('setup'); // the matrix's mask is opened once, outside the per-gather cost
      const M = await P.fixedAlloc('op.gather', 1, p.n, p.d, F);
      await P.fixedAppend(M, w!);
      P.phase('online');
      const g = await gatherIndexFixed(P, i!, M, p.n);
      P.fixedFree(M);
      return [g];
    },
  reference: (p, [w, i]) => [
    Float64Array.from({ length: p.m * p.d }, (_, e) => w![i![Math.floor(e / p.d)]! * p.d + (e % p.d)]!),
  ],
  check: () => ({ mode: 'exact' }),
});

export const TOPK_OP = defineOp({
  name: 'topk',
  summary:
    'exact top-k over the last axis (k-hot mask; --onehots adds k one-hots and indices), ties to the lowest index',
  params: rowParams
    .extend({
      k: z.number().int().positive().default(16).describe('entries kept per row'),
      method: z
        .enum(['auto', 'rank', 'bitonic'])
        .default('auto')
        .describe('auto, rank (all pairs) or bitonic (sorting network)'),
      onehots: z.boolean().default(false).describe('also output k one-hots and the indices'),
    })
    .refine((p) => p.k <= p.n, 'k must not exceed n'),
  shape: (p) => `${p.rows}x${p.n} k=${p.k}`,
  inputs: (p, rng) => MAX_OP.inputs(p, rng),
  program:
    (p) =>
    async (P, [x]) => {
      const o = await topk(P, x!, p.k, {
        width: p.width,
        method: p.method,
        khot: true,
        onehots: p.onehots,
        indices: p.onehots,
      });
      return p.onehots ? [o.khot!, o.indices!, o.onehots!] : [o.khot!];
    },
  reference: (p, [x]) => {
    const tops = byRow(x!, p.n).map((r) =>
      r
        .map((_, i) => i)
        .sort((a, b) => r[b]! - r[a]! || a - b)
        .slice(0, p.k),
    );
    const khot = new Float64Array(p.rows * p.n),
      oh = new Float64Array(p.rows * p.k * p.n);
    tops.forEach((t, r) =>
      t.forEach((i, j) => {
        khot[r * p.n + i] = 1;
        oh[(r * p.k + j) * p.n + i] = 1;
      }),
    );
    return p.onehots ? [khot, Float64Array.from(tops.flat()), oh] : [khot];
  },
  check: () => ({ mode: 'exact' }),
});
