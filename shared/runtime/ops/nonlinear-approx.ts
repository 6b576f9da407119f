/**
 * Approximate non-linear ops for `npm run op`: exp, reciprocal, rsqrt, gelu, silu, softmax,
 * layernorm, rmsnorm. Each checks max |secure − float64| against its documented bound
 * (protocol/nonlinear/*.ts headers, docs/protocols.md) on random inputs over its range plus edges.
 */
import { z } from 'zod';
import { FRAC_BITS } from '../../ring/fixed-point.js';
import {
  expNeg,
  gelu,
  geluTanh,
  layerNorm,
  reciprocal,
  rmsNorm,
  rsqrt,
  silu,
  siluAct,
  softmax,
} from '../../protocol/nonlinear/index.js';
import type { InputRng } from './types.js';
import { defineOp } from './types.js';

const F = FRAC_BITS,
  ULP = 2 ** -F;
const q = (x: number): number => Math.round(x * 2 ** F) / 2 ** F;
const grid = (n: number, lo: number, hi: number, edges: number[], rng: InputRng) => {
  const x = Float64Array.from({ length: n }, () => q(rng.uniform(lo, hi)));
  x.set(edges.slice(0, n).map(q));
  return x;
};
const count = z.object({ n: z.number().int().positive().default(1024).describe('elements') });

export const EXP_OP = defineOp({
  name: 'exp',
  summary: 'e^x for x ≤ 0 (clip at −16, two digit tables from one opening, one product); |err| ≤ 1.25e-4·e^x + 1.5 ulp',
  params: count,
  shape: (p) => `${p.n}`,
  inputs: (p, rng) => [
    { shape: [p.n], fracBits: F, values: grid(p.n, -20, 0, [0, -ULP, -16, -16 - ULP, -1000, -Math.LN2], rng) },
  ],
  program:
    () =>
    async (P, [x]) => [await expNeg(P, x!, { nonPositive: true })],
  reference: (_p, [x]) => [x!.map((v) => Math.exp(Math.max(v, -16)))],
  check: () => ({ mode: 'abs', tol: 1.25e-4 + 1.5 * ULP }),
});

const octave = (d: number, what: string) => z.number().int().default(d).describe(`inputs in [2^lo, 2^hi): ${what}`);
const powParams = z.object({
  n: z.number().int().positive().default(1024).describe('elements'),
  lo: octave(0, 'lo'),
  hi: octave(14, 'hi'),
});
const logUniform = (p: { n: number; lo: number; hi: number }, rng: InputRng) => {
  const x = Float64Array.from({ length: p.n }, () => q(2 ** rng.uniform(p.lo, p.hi)));
  x.set([2 ** p.lo, 2 ** p.lo + ULP, 2 ** p.hi - ULP, 1.5].slice(0, p.n));
  return x;
};

export const RECIPROCAL_OP = defineOp({
  name: 'reciprocal',
  summary: '1/x on [2^lo, 2^hi) (octave thermometer, one product, 64-segment spline, one product); relative err ≤ 1e-4',
  params: powParams,
  shape: (p) => `${p.n}`,
  inputs: (p, rng) => [{ shape: [p.n], fracBits: F, values: logUniform(p, rng) }],
  program:
    (p) =>
    async (P, [x]) => [await reciprocal(P, x!, { lo: p.lo, hi: p.hi })],
  reference: (_p, [x]) => [x!.map((v) => 1 / v)],
  check: (p) => ({ mode: 'abs', tol: 1e-4 * 2 ** -p.lo + ULP }),
});

export const RSQRT_OP = defineOp({
  name: 'rsqrt',
  summary: '1/√x on [2^lo, 2^hi) (lo, hi even; double-octave thermometer, 128-segment spline); relative err ≤ 1.5e-4',
  params: powParams
    .extend({ hi: octave(16, 'hi (even)') })
    .refine((p) => p.lo % 2 === 0 && p.hi % 2 === 0, 'lo and hi must be even'),
  shape: (p) => `${p.n}`,
  inputs: (p, rng) => [{ shape: [p.n], fracBits: F, values: logUniform(p, rng) }],
  program:
    (p) =>
    async (P, [x]) => [await rsqrt(P, x!, { lo: p.lo, hi: p.hi })],
  reference: (_p, [x]) => [x!.map((v) => 1 / Math.sqrt(v))],
  check: (p) => ({ mode: 'abs', tol: 1.5e-4 * 2 ** (-p.lo / 2) + ULP }),
});

const actEdges = [0, ULP, -ULP, 4, -4, 8, -8, 40, -40, 1000, -1000];
export const GELU_OP = defineOp({
  name: 'gelu',
  summary: "GPT-2's gelu_new: relu(x) − spline(min(|x|, 4)) from one comparison opening; |err| ≤ 9e-4",
  params: count,
  shape: (p) => `${p.n}`,
  inputs: (p, rng) => [{ shape: [p.n], fracBits: F, values: grid(p.n, -8, 8, actEdges, rng) }],
  program:
    () =>
    async (P, [x]) => [await gelu(P, x!)],
  reference: (_p, [x]) => [x!.map(geluTanh)],
  check: () => ({ mode: 'abs', tol: 9e-4 }),
});

export const SILU_OP = defineOp({
  name: 'silu',
  summary: 'x·σ(x): relu(x) − spline(min(|x|, 16)); |err| ≤ 2.3e-3',
  params: count,
  shape: (p) => `${p.n}`,
  inputs: (p, rng) => [{ shape: [p.n], fracBits: F, values: grid(p.n, -20, 20, actEdges, rng) }],
  program:
    () =>
    async (P, [x]) => [await siluAct(P, x!)],
  reference: (_p, [x]) => [x!.map(silu)],
  check: () => ({ mode: 'abs', tol: 2.3e-3 }),
});

export const SOFTMAX_OP = defineOp({
  name: 'softmax',
  summary:
    'row softmax (max tree, exp, 1/Σ per row, one product); --causal masks row r to its first r+1 entries for free; |err| ≤ 5e-4',
  params: z.object({
    n: z.number().int().positive().default(1024).describe('row length'),
    rows: z.number().int().positive().default(4).describe('rows'),
    scale: z.number().positive().default(5).describe('standard deviation of the inputs'),
    causal: z.boolean().default(false).describe('causal lengths (the last rows of an attention matrix)'),
  }),
  shape: (p) => `${p.rows}x${p.n}${p.causal ? ' causal' : ''}`,
  inputs: (p, rng) => [
    {
      shape: [p.rows, p.n],
      fracBits: F,
      values: Float64Array.from({ length: p.rows * p.n }, () => q(rng.normal() * p.scale)),
    },
  ],
  program:
    (p) =>
    async (P, [x]) => [await softmax(P, x!, p.causal ? { lengths: causal(p) } : {})],
  reference: (p, [x]) => {
    const out = new Float64Array(p.rows * p.n),
      lens = p.causal ? causal(p) : Array<number>(p.rows).fill(p.n);
    for (let r = 0; r < p.rows; r++) {
      const row = Array.from(x!.subarray(r * p.n, r * p.n + lens[r]!)),
        m = Math.max(...row);
      const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
      row.forEach((v, j) => {
        out[r * p.n + j] = Math.exp(v - m) / s;
      });
    }
    return [out];
  },
  check: () => ({ mode: 'abs', tol: 5e-4 }),
});
const causal = (p: { rows: number; n: number }) =>
  Array.from({ length: p.rows }, (_, r) => Math.min(p.n, p.n - p.rows + r + 1));

const normParams = z.object({
  n: z.number().int().positive().default(768).describe('row length'),
  rows: z.number().int().positive().default(4).describe('rows'),
  scale: z.number().positive().default(100).describe('scale of the inputs'),
});
const normInputs = (p: { n: number; rows: number; scale: number }, rng: InputRng) => [
  {
    shape: [p.rows, p.n],
    fracBits: F,
    values: Float64Array.from({ length: p.rows * p.n }, (_, i) =>
      q((rng.normal() * p.scale * (1 + (i % 7))) / 4 + (i % p.n === 0 ? p.scale : 0)),
    ),
  },
];
function normRef(p: { n: number; rows: number }, x: Float64Array, center: boolean): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < p.rows; r++) {
    const row = x.subarray(r * p.n, (r + 1) * p.n),
      mu = center ? row.reduce((a, b) => a + b, 0) / p.n : 0;
    const v = row.reduce((a, b) => a + (b - mu) ** 2, 0) / p.n;
    row.forEach((b, j) => {
      out[r * p.n + j] = (b - mu) / Math.sqrt(v + 1e-5);
    });
  }
  return out;
}

export const LAYERNORM_OP = defineOp({
  name: 'layernorm',
  summary: 'LayerNorm over rows (biased variance, eps 1e-5 inside the root; 1/σ per row by rsqrt); relative err ≤ 1e-3',
  params: normParams,
  shape: (p) => `${p.rows}x${p.n}`,
  inputs: normInputs,
  program:
    () =>
    async (P, [x]) => [await layerNorm(P, x!)],
  reference: (p, [x]) => [normRef(p, x!, true)],
  check: (p) => ({ mode: 'abs', tol: 1e-3 * Math.sqrt(p.n) }),
});

export const RMSNORM_OP = defineOp({
  name: 'rmsnorm',
  summary: 'RMSNorm over rows (eps 1e-5 inside the root); relative err ≤ 1e-3',
  params: normParams,
  shape: (p) => `${p.rows}x${p.n}`,
  inputs: normInputs,
  program:
    () =>
    async (P, [x]) => [await rmsNorm(P, x!)],
  reference: (p, [x]) => [normRef(p, x!, false)],
  check: (p) => ({ mode: 'abs', tol: 1e-3 * Math.sqrt(p.n) }),
});
