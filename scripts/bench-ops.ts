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
import { declaredCost } from '../shared/protocol/cost.js';
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

function cases(n: number): Case[] {
  const el = (name: string, lo: number, hi: number, f: Program, per = 'elem'): Case => ({
    name,
    per,
    shape: [n],
    units: n,
    inputs: [input([n], lo, hi)],
    prog: f,
  });
  const rows = rowsOf(n);
  const row = (name: string, shape: number[], lo: number, hi: number, f: Program, per = 'elem'): Case => ({
    name,
    per,
    shape,
    units: shape.reduce((a, b) => a * b, 1),
    inputs: [input(shape, lo, hi)],
    prog: f,
  });
  const m = 4;
  const idx = (dom: number): ProgramInput => ({
    shape: [m],
    fracBits: 0,
    values: Float64Array.from({ length: m }, () => Math.floor(rnd() * dom)),
  });
  return [
    // core primitives (the lead's protocols), for reference
    {
      name: 'mul+trunc',
      per: 'elem',
      shape: [n],
      units: n,
      inputs: [input([n], -100, 100), input([n], -100, 100)],
      prog: async (P, [a, b]) => [await P.trunc(await P.mul(a!, b!), F)],
    },
    el('square', -100, 100, async (P, [a]) => [await P.square(a!)]),
    {
      name: 'trunc16',
      per: 'elem',
      shape: [n],
      units: n,
      inputs: [input([n], -100, 100, 2 * F)],
      prog: async (P, [a]) => [await P.trunc(a!, F)],
    },
    el('cmp (core)', -100, 100, async (P, [a]) => [(await P.cmpMul(a!, [a!])).prods[0]!]),
    // comparison-based (exact)
    el('drelu w32', -1000, 1000, async (P, [a]) => [await NL.drelu(P, a!, { width: 32 })]),
    el('drelu w64', -1000, 1000, async (P, [a]) => [await NL.drelu(P, a!)]),
    el('relu w32', -1000, 1000, async (P, [a]) => [await NL.relu(P, a!, { width: 32 })]),
    el('eq w32', -3, 3, async (P, [a]) => [await NL.eq(P, a!, 1, { width: 32 })]),
    row('max', [1, n], -100, 100, async (P, [a]) => [await NL.maxLast(P, a!, { width: 32 })]),
    row('argmax', [1, n], -100, 100, async (P, [a]) => [(await NL.argmaxLast(P, a!, { width: 32 })).index]),
    {
      name: 'onehot',
      per: 'index',
      shape: [m, n],
      units: m,
      inputs: [idx(n)],
      prog: async (P, [i]) => [await NL.onehot(P, i!, Math.max(2, n))],
    },
    {
      name: 'gather',
      per: 'row',
      shape: [m, n, 16],
      units: m,
      inputs: [input([Math.max(2, n), 16], -4, 4), idx(n)],
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
    },
    row('topk k=16', [1, n], -100, 100, async (P, [a]) => [
      (await NL.topk(P, a!, Math.min(16, n), { width: 32, onehots: false, khot: true })).khot!,
    ]),
    // approximations
    el('exp', -20, 0, async (P, [a]) => [await NL.expNeg(P, a!, { nonPositive: true })]),
    el('reciprocal', 1, 16000, async (P, [a]) => [await NL.reciprocal(P, a!, { lo: 0, hi: 14 })]),
    el('rsqrt', 1, 16000, async (P, [a]) => [await NL.rsqrt(P, a!, { lo: 0, hi: 14 })]),
    el('gelu', -8, 8, async (P, [a]) => [await NL.gelu(P, a!)]),
    el('silu', -20, 20, async (P, [a]) => [await NL.siluAct(P, a!)]),
    row('softmax', rows, -10, 10, async (P, [a]) => [await NL.softmax(P, a!)], 'score'),
    row('layernorm', rows, -100, 100, async (P, [a]) => [await NL.layerNorm(P, a!)]),
    row('rmsnorm', rows, -100, 100, async (P, [a]) => [await NL.rmsNorm(P, a!)]),
  ];
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
      const r = await runInProcess(c.prog, c.inputs);
      const same = r.secure.every((s, k) =>
        Buffer.from(s.data.buffer, s.data.byteOffset, s.data.byteLength).equals(
          Buffer.from(r.clear[k]!.data.buffer, r.clear[k]!.data.byteOffset, r.clear[k]!.data.byteLength),
        ),
      );
      const cost = await declaredCost((P) =>
        c.prog(
          P,
          c.inputs.map((i) => shapeOnly(i.shape, i.fracBits)),
        ),
      );
      const ok =
        same &&
        r.meters[0].links.peer.sentBytes === cost.frameBytes &&
        r.rounds === cost.rounds &&
        r.dealerBytes === cost.dealerBytes;
      const setup = c.setup
        ? await declaredCost((P) =>
            c.setup!(
              P,
              c.inputs.map((i) => shapeOnly(i.shape, i.fracBits)),
            ),
          )
        : undefined;
      const online = r.meters[0].phases['online']!;
      const sent = online.sentBytes,
        rounds = online.rounds,
        payload = cost.payloadBytes - (setup?.payloadBytes ?? 0);
      const u = c.units,
        f = (v: number) => (v / u).toFixed(v / u < 100 ? 2 : 0);
      line([
        c.name + (ok ? '' : ' (MISMATCH)'),
        n,
        c.shape.join('x'),
        c.per,
        f(sent),
        f(payload),
        rounds,
        f(r.dealerBytes),
        r.ms.toFixed(0),
      ]);
    }
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof MpcError ? e.message : e);
  process.exitCode = 1;
});
