/**
 * fixedMatmul: x · W for a fresh secret input x and a fixed-mask matrix W (DESIGN §4): weights and
 * the KV cache. Exact; scale x's + W's.
 *
 * Kind `fixed.product`: a fresh mask r for x and shares of c = B·r for the matrix's mask B (the
 * dealer's registry, corr/env.ts), so only x − r is ever opened. Rounds: 1. Online: 8 bytes per
 * input element per party, independent of the matrix size; dealer: 8 per output element (+8 per
 * input element with `squares`, the client check's r∘r: fixed-client.ts, whose products are
 * marked `client` and declare only the check's round).
 *  1. Open x̂ = x − r (uniform).
 *  2. W·x = W·x̂ + W·r = W_i·x̂ + Ŵ·r_i + (B·r)_i (shares; the last from the dealer).
 * Layouts: x [groups, K, in] ('nt': in = cols → [groups, K, rows]; 'nn': in = rows →
 * [groups, K, cols]). Views change only which rows take part, the same formula on the view: public
 * row segments (e.g. the sinks and the recent window of a KV cache), `block` consecutive rows as
 * one row of block·cols elements (a one-hot over clusters gathers whole clusters), and one input
 * `shared` by every group (opened once). The dealer computes c on the same view.
 */
import { z } from 'zod';
import { invariant } from '../../util/errors.js';
import { Material, defineKind, ring } from '../../corr/kind.js';
import type { Kernels, Region } from '../../ring/kernels.js';
import { numel } from '../../ring/tensor.js';
import { mulInto, subInto } from '../../ring/u64.js';
import { CLIENT_CHECK_REPS } from '../client-check.js';
import type { FixedHandle } from '../fixed-mask.js';
import { definePrimitive, differs, uniformInput, type Dealt, type Meta } from '../primitive.js';
import { openRing } from '../open.js';

export const FixedProductParams = z.object({
  id: z.string(),
  layout: z.enum(['nt', 'nn']),
  groups: z.number().int().positive(),
  K: z.number().int().positive(),
  /** Rows of the view taking part (items of `block` rows when a block is given). */
  rows: z.number().int().nonnegative(),
  cols: z.number().int().positive(),
  /** View: the matrix rows [start, end) of each segment, back to back (default: [0, rows)). */
  segs: z
    .array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]))
    .min(1)
    .optional(),
  /** View: `block` consecutive rows act as one row of block·cols elements (default 1). */
  block: z.number().int().positive().optional(),
  /** One input [K, inLen] multiplies every group (opened once) instead of one per group. */
  shared: z.boolean().optional(),
  /** A client-assisted product: the client, not the peer, opens the input (fixed-client.ts). */
  client: z.boolean().optional(),
  /** Also shares of r∘r (the one-hot check of a client's input: fixed-client.ts). */
  squares: z.boolean().optional(),
});
export type FixedProductParams = z.infer<typeof FixedProductParams>;

/** A view of a fixed matrix: public row segments, `block` rows per view row, one input for all groups. */
export interface FixedView {
  readonly segs?: readonly (readonly [number, number])[];
  readonly block?: number;
  readonly shared?: boolean;
}
export interface FixedProductOpts {
  readonly layout: 'nt' | 'nn';
  readonly rows: number | FixedView;
}

/**
 * Parameters of a product with `rows` view rows (a count: the first rows; or a view). Built in one
 * place so that the dealer and the parties hash identical parameters (defaults are left out).
 */
export function fixedProductParams(
  w: { id: string; groups: number; cols: number },
  layout: 'nt' | 'nn',
  K: number,
  rows: number,
  view: FixedView = {},
): FixedProductParams {
  const block = view.block ?? 1,
    segs = view.segs?.map(([a, b]) => [a, b] as [number, number]);
  const items = segs ? segs.reduce((t, [a, b]) => t + (b - a) / block, 0) : rows;
  invariant(
    !segs || segs.every(([a, b]) => a <= b && (b - a) % block === 0),
    'E_SHAPE',
    () => `fixed view of '${w.id}': segments ${JSON.stringify(segs)} are not whole blocks of ${block} rows`,
  );
  return {
    id: w.id,
    layout,
    groups: w.groups,
    K,
    rows: items,
    cols: w.cols,
    ...(segs ? { segs } : {}),
    ...(block !== 1 ? { block } : {}),
    ...(view.shared ? { shared: true } : {}),
  };
}

/** Segments (matrix rows), row length of the view and input groups of a product. */
export function fixedLayout(p: FixedProductParams): {
  segs: Array<[number, number]>;
  block: number;
  rowLen: number;
  inGroups: number;
} {
  const block = p.block ?? 1;
  return { segs: p.segs ?? [[0, p.rows * block]], block, rowLen: block * p.cols, inGroups: p.shared ? 1 : p.groups };
}

/** Input and output lengths per group of a fixed product. */
export function fixedDims(p: FixedProductParams): { inLen: number; outLen: number } {
  const rowLen = (p.block ?? 1) * p.cols;
  return p.layout === 'nt' ? { inLen: rowLen, outLen: p.rows } : { inLen: p.rows, outLen: rowLen };
}

/** Checks a product's view against a matrix with `rowsUsed` rows. */
export function viewFits(p: FixedProductParams, m: { groups: number; cols: number; rowsUsed: number }): boolean {
  const { segs, block } = fixedLayout(p),
    items = segs.reduce((t, [a, b]) => t + (b - a) / block, 0);
  return (
    m.groups === p.groups &&
    m.cols === p.cols &&
    items === p.rows &&
    segs.every(([a, b]) => a <= b && b <= m.rowsUsed && (b - a) % block === 0)
  );
}

/**
 * out = x · viewᵀ ('nt': x [K, rowLen] → [K, rows]) or x · view ('nn': x [K, rows] → [K, rowLen]) for
 * group g of a matrix stored at `base` (rowsCap rows of cols per group, row-major): the kernel runs
 * on each segment in place (a segment of whole blocks is a [n, rowLen] matrix with stride rowLen).
 */
export function viewProduct(
  kernels: Kernels,
  base: Region,
  rowsCap: number,
  p: FixedProductParams,
  g: number,
  x: BigUint64Array,
  out: BigUint64Array,
): void {
  const { segs, block, rowLen } = fixedLayout(p),
    { K } = p;
  const region = (a: number, b: number): Region => ({
    offset: base.offset + (g * rowsCap + a) * p.cols * 8,
    length: (b - a) * p.cols,
  });
  if (segs.length === 1) {
    const [a, b] = segs[0]!,
      n = (b - a) / block;
    if (p.layout === 'nt') kernels.matmulNT(out, x, region(a, b), K, n, rowLen, rowLen);
    else kernels.matmulNN(out, x, region(a, b), K, rowLen, n, rowLen);
    return;
  }
  if (p.layout === 'nn') out.fill(0n);
  let at = 0;
  for (const [a, b] of segs) {
    const n = (b - a) / block;
    if (n === 0) continue;
    if (p.layout === 'nt') {
      const tmp = new BigUint64Array(K * n);
      kernels.matmulNT(tmp, x, region(a, b), K, n, rowLen, rowLen);
      for (let k = 0; k < K; k++) out.set(tmp.subarray(k * n, (k + 1) * n), k * p.rows + at);
    } else {
      const xs = new BigUint64Array(K * n),
        tmp = new BigUint64Array(K * rowLen);
      for (let k = 0; k < K; k++) xs.set(x.subarray(k * p.rows + at, k * p.rows + at + n), k * n);
      kernels.matmulNN(tmp, xs, region(a, b), K, rowLen, n, rowLen);
      for (let i = 0; i < out.length; i++) out[i] = out[i]! + tmp[i]!;
    }
    at += n;
  }
}

/** Every group's view product of a matrix in `base` with x (one input per group, or one shared) → [groups·K·outLen]. */
export function groupProducts(
  kernels: Kernels,
  base: Region,
  rowsCap: number,
  p: FixedProductParams,
  x: BigUint64Array,
): BigUint64Array {
  const { inLen, outLen } = fixedDims(p),
    shared = fixedLayout(p).inGroups === 1,
    out = new BigUint64Array(p.groups * p.K * outLen);
  for (let g = 0; g < p.groups; g++) {
    const at = shared ? 0 : g * p.K * inLen;
    viewProduct(
      kernels,
      base,
      rowsCap,
      p,
      g,
      x.subarray(at, at + p.K * inLen),
      out.subarray(g * p.K * outLen, (g + 1) * p.K * outLen),
    );
  }
  return out;
}

/** The product's parameters from the input's shape and the rows or view asked for. @throws MpcError E_SHAPE */
function productOf(w: FixedHandle, xShape: readonly number[], o: FixedProductOpts): FixedProductParams {
  const view = typeof o.rows === 'number' ? {} : o.rows,
    count = typeof o.rows === 'number' ? o.rows : w.rowsUsed;
  const probe = fixedProductParams(w, o.layout, 1, count, view),
    inLen = fixedDims(probe).inLen,
    inGroups = fixedLayout(probe).inGroups;
  const K = numel(xShape) / (inGroups * inLen);
  invariant(
    Number.isInteger(K) && K > 0,
    'E_SHAPE',
    `input [${xShape.join(', ')}] does not fit fixed matrix '${w.id}' (${inGroups} groups × ${inLen})`,
  );
  const p = fixedProductParams(w, o.layout, K, count, view);
  invariant(
    viewFits(p, w),
    'E_SHAPE',
    `fixed matrix '${w.id}' has ${w.rowsUsed} rows; the product asks for ${JSON.stringify(p.segs ?? [[0, p.rows]])}`,
  );
  return p;
}

/** c = B_view · r (and r∘r with `squares`), by a naive sum over the view's rows. */
function relation(
  v: Dealt,
  p: FixedProductParams,
  env: { kernels: Kernels; get(id: string): { region: Region; rowsCap: number } },
): string | undefined {
  const m = env.get(p.id),
    B = env.kernels.u64(m.region),
    { segs, block, rowLen, inGroups } = fixedLayout(p),
    { inLen, outLen } = fixedDims(p);
  const viewRows = segs.flatMap(([a, e]) => Array.from({ length: (e - a) / block }, (_, i) => a + i * block));
  const W = (g: number, item: number, e: number): bigint =>
    B[(g * m.rowsCap + viewRows[item]! + Math.floor(e / p.cols)) * p.cols + (e % p.cols)]!;
  const r = v.ring('r'),
    want = new BigUint64Array(p.groups * p.K * outLen);
  for (let g = 0; g < p.groups; g++)
    for (let k = 0; k < p.K; k++)
      for (let o = 0; o < outLen; o++) {
        const rg = (i: number): bigint => r[((inGroups === 1 ? 0 : g) * p.K + k) * inLen + i]!;
        let t = 0n;
        if (p.layout === 'nt') for (let e = 0; e < rowLen; e++) t += rg(e) * W(g, o, e);
        else for (let item = 0; item < p.rows; item++) t += rg(item) * W(g, item, o);
        want[(g * p.K + k) * outLen + o] = t;
      }
  return (
    differs('c', v.ring('c'), want) ??
    (p.squares
      ? differs(
          'r2',
          v.ring('r2'),
          r.map((x) => x * x),
        )
      : undefined)
  );
}

export const FIXED_PRODUCT = definePrimitive<FixedProductOpts, FixedProductParams>({
  name: 'fixedMatmul',
  alwaysSecure: true,
  kind: defineKind({
    name: 'fixed.product',
    params: FixedProductParams,
    // a client-assisted product opens nothing between the parties but the one-hot check (fixed-client.ts)
    rounds: (p) =>
      p.client
        ? p.squares
          ? [{ u64: [CLIENT_CHECK_REPS] }]
          : []
        : [{ u64: [fixedLayout(p).inGroups * p.K * fixedDims(p).inLen] }],
    fields: (p) => {
      const { inLen, outLen } = fixedDims(p),
        n = fixedLayout(p).inGroups * p.K * inLen;
      return [ring('r', n), ring('c', p.groups * p.K * outLen, true), ...(p.squares ? [ring('r2', n, true)] : [])];
    },
    derive(free, p, env) {
      const m = env.get(p.id),
        r = free.ring('r');
      invariant(
        viewFits(p, m),
        'E_CORR_MISMATCH',
        `fixed.product '${p.id}': a view of ${p.groups}x${p.rows}x${p.cols} (segments ${JSON.stringify(p.segs ?? [[0, p.rows]])}) does not fit the mask (${m.groups}x${m.rowsUsed}x${m.cols})`,
      );
      const out = new Material().set('c', groupProducts(env.kernels, m.region, m.rowsCap, p, r));
      return p.squares ? out.set('r2', mulInto(new BigUint64Array(r.length), r, r)) : out;
    },
  }),
  params: ([x], o, [w]) => productOf(w!, x!.shape, o),
  outputs: (p, [x], _o, [w]): Meta[] => [
    {
      shape:
        x!.shape.length === 2 && w!.groups === 1 ? [p.K, fixedDims(p).outLen] : [w!.groups, p.K, fixedDims(p).outLen],
      fracBits: x!.fracBits + w!.fracBits,
    },
  ],
  clear: ({ p, xs: [x], ws: [w] }, kernels) => [groupProducts(kernels, w!.data, w!.rowsCap, p, x!.data)],
  async secure(ctx, mat, { p, xs: [x], ws: [w] }) {
    const r = mat.ring('r'),
      c = mat.ring('c');
    // 1. open x̂ = x − r
    const [xh] = await openRing(ctx, 'fixed.matmul', [subInto(new BigUint64Array(r.length), x!.data, r)]);
    // 2. W_i · x̂ + Ŵ · r_i + c_i
    const out = groupProducts(ctx.kernels, w!.mine, w!.rowsCap, p, xh!),
      pub = groupProducts(ctx.kernels, w!.pub, w!.rowsCap, p, r);
    for (let i = 0; i < out.length; i++) out[i] = out[i]! + pub[i]! + c[i]!;
    return [out];
  },
  relation,
  example: (rng) => ({
    inputs: [
      uniformInput(rng, [2, 10, 3], -2, 2),
      uniformInput(rng, [2, 1, 3], -2, 2),
      uniformInput(rng, [2, 1, 5], -2, 2),
      uniformInput(rng, [3, 4], -2, 2),
    ],
    program: async (P, [rows, q, p, s]) => {
      const w = await P.fixedAlloc('ex', 2, 12, 3, 16);
      await P.fixedAppend(w, rows!);
      return [
        await P.fixedMatmul(q!, w, 'nt'),
        await P.fixedMatmul(p!, w, 'nn', 5),
        await P.fixedMatmul(q!, w, 'nt', {
          segs: [
            [1, 3],
            [6, 9],
          ],
        }),
        await P.fixedMatmul(s!, w, 'nn', { segs: [[2, 10]], block: 2, shared: true }),
      ];
    },
  }),
});
