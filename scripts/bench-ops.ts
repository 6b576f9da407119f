/**
 * `npm run bench:ops [-- --n 1,1024,65536] [--ops gelu,softmax]`
 *
 * Measures every non-linear op (and the core primitives) at n = 1, 1024 and 65536 with the
 * dealer and both parties in this process (runtime/inprocess.ts): online bytes each party sends
 * (metered frames, and the declared payload), rounds, dealer bytes to party 1, wall time. Each
 * run also checks secure == emulation and cost == meter. Timings are in-process (both parties
 * and the dealer share one core), not a network measurement.
 */
import { z } from 'zod';
import { commandFlags } from '../shared/config/index.js';
import { MpcError } from '../shared/util/index.js';
import { runInProcess } from '../shared/runtime/inprocess.js';
import type { Program, ProgramInput } from '../shared/runtime/program.js';
import { declaredCost, type Cost } from '../shared/protocol/cost.js';
import { FRAC_BITS } from '../shared/ring/fixed.js';
import { shapeOnly } from '../shared/ring/tensor.js';
import * as NL from '../shared/protocol/nonlinear/index.js';

const F = FRAC_BITS;

interface Case {
  name: string;
  /** What one "unit" of the per-unit columns is. */
  per: string;
  shape: number[];
  units: number;
  inputs: ProgramInput[];
  prog: Program;
  /** One-off set-up (e.g. opening a weight matrix's mask) done first under phase 'setup'; excluded from the figures. */
  setup?: Program;
}

const lcg = (seed: number) => () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const rnd = lcg(7);
const vals = (n: number, lo: number, hi: number) =>
  Float64Array.from({ length: n }, () => Math.round((lo + (hi - lo) * rnd()) * 2 ** F) / 2 ** F);
const input = (shape: number[], lo: number, hi: number, fracBits = F): ProgramInput => ({
  shape,
  fracBits,
  values: vals(
    shape.reduce((a, b) => a * b, 1),
    lo,
    hi,
  ),
});
const rowsOf = (n: number, len = 1024): number[] => (n <= len ? [1, n] : [n / len, len]);

/** An elementwise case over n inputs in [lo, hi]. */
const elementwise = (n: number, name: string, lo: number, hi: number, f: Program, per = 'elem'): Case => ({
  name,
  per,
  shape: [n],
  units: n,
  inputs: [input([n], lo, hi)],
  prog: f,
});
/** A case over rows of `shape`, inputs in [lo, hi]. */
const rowwise = (name: string, shape: number[], lo: number, hi: number, f: Program, per = 'elem'): Case => ({
  name,
  per,
  shape,
  units: shape.reduce((a, b) => a * b, 1),
  inputs: [input(shape, lo, hi)],
  prog: f,
});
/** Secret indices in the one-hot and gather cases. */
const INDICES = 4;
/** INDICES secret indices in [0, dom). */
const indices = (dom: number): ProgramInput => ({
  shape: [INDICES],
  fracBits: 0,
  values: Float64Array.from({ length: INDICES }, () => Math.floor(rnd() * dom)),
});

/** The core primitives (the lead's protocols), for reference. */
function coreCases(n: number): Case[] {
  return [
    {
      name: 'mul+trunc',
      per: 'elem',
      shape: [n],
      units: n,
      inputs: [input([n], -100, 100), input([n], -100, 100)],
      prog: async (P, [a, b]) => [await P.trunc(await P.mul(a!, b!), F)],
    },
    elementwise(n, 'square', -100, 100, async (P, [a]) => [await P.square(a!)]),
    {
      name: 'trunc16',
      per: 'elem',
      shape: [n],
      units: n,
      inputs: [input([n], -100, 100, 2 * F)],
      prog: async (P, [a]) => [await P.trunc(a!, F)],
    },
    elementwise(n, 'cmp (core)', -100, 100, async (P, [a]) => [(await P.cmpMul(a!, [a!])).prods[0]!]),
  ];
}

/** Comparison-based ops (exact). */
function comparisonCases(n: number): Case[] {
  return [
    elementwise(n, 'drelu w32', -1000, 1000, async (P, [a]) => [await NL.drelu(P, a!, { width: 32 })]),
    elementwise(n, 'drelu w64', -1000, 1000, async (P, [a]) => [await NL.drelu(P, a!)]),
    elementwise(n, 'relu w32', -1000, 1000, async (P, [a]) => [await NL.relu(P, a!, { width: 32 })]),
    elementwise(n, 'eq w32', -3, 3, async (P, [a]) => [await NL.eq(P, a!, 1, { width: 32 })]),
    rowwise('max', [1, n], -100, 100, async (P, [a]) => [await NL.maxLast(P, a!, { width: 32 })]),
    rowwise('argmax', [1, n], -100, 100, async (P, [a]) => [(await NL.argmaxLast(P, a!, { width: 32 })).index]),
    {
      name: 'onehot',
      per: 'index',
      shape: [INDICES, n],
      units: INDICES,
      inputs: [indices(n)],
      prog: async (P, [i]) => [await NL.onehot(P, i!, Math.max(2, n))],
    },
    gatherCase(n),
    rowwise('topk k=16', [1, n], -100, 100, async (P, [a]) => [
      (await NL.topk(P, a!, Math.min(16, n), { width: 32, onehots: false, khot: true })).khot!,
    ]),
  ];
}

/** Gather of INDICES rows of a fixed-mask table of n rows by secret index; the table's set-up is excluded. */
function gatherCase(n: number): Case {
  return {
    name: 'gather',
    per: 'row',
    shape: [INDICES, n, 16],
    units: INDICES,
    inputs: [input([Math.max(2, n), 16], -4, 4), indices(n)],
    setup: async (P, [w]) => {
      const M = await P.fixedAlloc('bench.gather', 1, Math.max(2, n), 16, F);
      await P.fixedAppend(M, w!);
      return [];
    },
    prog: async (P, [w, i]) => {
      P.phase('setup');
      const M = await P.fixedAlloc('bench.gather', 1, Math.max(2, n), 16, F);
      await P.fixedAppend(M, w!);
      P.phase('online');
      const g = await NL.gatherIndexFixed(P, i!, M, Math.max(2, n));
      P.fixedFree(M);
      return [g];
    },
  };
}

/** Approximations. */
function approximationCases(n: number): Case[] {
  const rows = rowsOf(n);
  return [
    elementwise(n, 'exp', -20, 0, async (P, [a]) => [await NL.expNeg(P, a!, { nonPositive: true })]),
    elementwise(n, 'reciprocal', 1, 16000, async (P, [a]) => [await NL.reciprocal(P, a!, { lo: 0, hi: 14 })]),
    elementwise(n, 'rsqrt', 1, 16000, async (P, [a]) => [await NL.rsqrt(P, a!, { lo: 0, hi: 14 })]),
    elementwise(n, 'gelu', -8, 8, async (P, [a]) => [await NL.gelu(P, a!)]),
    elementwise(n, 'silu', -20, 20, async (P, [a]) => [await NL.siluAct(P, a!)]),
    rowwise('softmax', rows, -10, 10, async (P, [a]) => [await NL.softmax(P, a!)], 'score'),
    rowwise('layernorm', rows, -100, 100, async (P, [a]) => [await NL.layerNorm(P, a!)]),
    rowwise('rmsnorm', rows, -100, 100, async (P, [a]) => [await NL.rmsNorm(P, a!)]),
  ];
}

/** Every case at size n, in the order printed (inputs are drawn in this order from the seeded generator). */
function cases(n: number): Case[] {
  return [...coreCases(n), ...comparisonCases(n), ...approximationCases(n)];
}

const BENCH_OPS = {
  usage: 'npm run bench:ops [-- --n 1,1024,65536] [--ops gelu,softmax]',
  summary:
    'Online bytes, rounds, dealer bytes and in-process wall time of every non-linear op and the core primitives; ' +
    'each run also checks secure == emulation and cost == meter.',
  flags: z.object({
    n: z.array(z.number().int().positive()).default([1, 1024, 65536]).describe('sizes (elements, or row length)'),
    ops: z.array(z.string()).optional().describe('only the cases whose names start with one of these (default: all)'),
  }),
};

/** The declared cost of running `prog` on the case's input shapes. */
function declaredCostOf(prog: Program, c: Case): Promise<Cost> {
  return declaredCost((P) =>
    prog(
      P,
      c.inputs.map((i) => shapeOnly(i.shape, i.fracBits)),
    ),
  );
}

/**
 * Runs one case in process and returns its table row: per unit, the online bytes party 0 sends,
 * the declared payload, rounds, dealer bytes; and the time. MISMATCH when secure ≠ emulation or metered ≠ declared.
 */
async function measure(c: Case, n: number): Promise<Array<string | number>> {
  const r = await runInProcess(c.prog, c.inputs);
  const same = r.secure.every((s, k) =>
    Buffer.from(s.data.buffer, s.data.byteOffset, s.data.byteLength).equals(
      Buffer.from(r.clear[k]!.data.buffer, r.clear[k]!.data.byteOffset, r.clear[k]!.data.byteLength),
    ),
  );
  const cost = await declaredCostOf(c.prog, c);
  const ok =
    same &&
    r.meters[0].links.peer.sentBytes === cost.frameBytes &&
    r.rounds === cost.rounds &&
    r.dealerBytes === cost.dealerBytes;
  const setup = c.setup ? await declaredCostOf(c.setup, c) : undefined;
  const online = r.meters[0].phases['online']!;
  const sent = online.sentBytes,
    rounds = online.rounds,
    payload = cost.payloadBytes - (setup?.payloadBytes ?? 0);
  const u = c.units,
    f = (v: number) => (v / u).toFixed(v / u < 100 ? 2 : 0);
  return [
    c.name + (ok ? '' : ' (MISMATCH)'),
    n,
    c.shape.join('x'),
    c.per,
    f(sent),
    f(payload),
    rounds,
    f(r.dealerBytes),
    r.ms.toFixed(0),
  ];
}

async function main(): Promise<void> {
  const { n: sizes, ops: only } = commandFlags(BENCH_OPS).flags;
  console.log(
    '# bench:ops — dealer, party 0 and party 1 in one process (in-process timings: both parties and the dealer share one core)',
  );
  console.log(
    '# online = bytes party 0 sends (metered frames; payload = declared bytes opened), per unit; dealer = correction bytes to party 1 per unit',
  );
  const W = [12, 6, 11, 6, 10, 10, 7, 10, 7];
  const line = (cells: Array<string | number>) =>
    console.log(cells.map((c, i) => (i < 4 ? String(c).padEnd(W[i]!) : String(c).padStart(W[i]!))).join(' '));
  line(['op', 'n', 'shape', 'per', 'online B', 'payload B', 'rounds', 'dealer B', 'ms']);
  for (const n of sizes) {
    for (const c of cases(n)) {
      if (only && !only.some((o) => c.name.startsWith(o))) continue;
      line(await measure(c, n));
    }
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof MpcError ? e.message : e);
  process.exitCode = 1;
});
