/**
 * Fixed-mask correlations (DESIGN §4): a matrix W is held as a public Ŵ = W − B with B secret
 * shared; B is generated once (`fixed.append`, free randomness, no correction bytes) and opened
 * into Ŵ once by the parties. Each product with a fresh activation x then takes `fixed.product`:
 * a fresh mask r for x and shares of B·r, so only x − r is ever opened.
 *
 * Layout: `groups` independent matrices (e.g. one per attention head), each `rowsCap` rows of
 * `cols` elements (row-major, stride `cols`). 'nt' multiplies x (K×cols) by the first `rows` rows
 * transposed → K×rows; 'nn' multiplies x (K×rows) by the first `rows` rows → K×cols.
 *
 * Views (optional, additive): a product may take part of the matrix only — public row segments
 * (e.g. the sinks and the recent window of a KV cache, or a region of clusters), with `block`
 * consecutive rows acting as one row of block·cols elements (a one-hot over clusters of `block`
 * tokens then gathers whole clusters: 'nn' with x [k, clusters] → [k, block·cols]); and one input
 * may serve every group (`shared`, opened once: a selection common to all heads). The dealer's
 * c = B_view·r is computed on the same view, so only x − r is opened, as for a whole matrix.
 */
import { z } from 'zod';
import { invariant } from '../../util/errors.js';
import { Material, defineKind, ring } from '../kind.js';
import type { Kernels, Region } from '../../ring/kernels.js';

export const FIXED_ALLOC = defineKind({
  name: 'fixed.alloc',
  params: z.object({ id: z.string(), groups: z.number().int().positive(), rowsCap: z.number().int().positive(), cols: z.number().int().positive() }),
  fields: () => [],
  derive(_free, p, env) {
    env.alloc(p.id, p.groups, p.rowsCap, p.cols);
    return new Material();
  },
});

export const FIXED_APPEND = defineKind({
  name: 'fixed.append',
  params: z.object({ id: z.string(), groups: z.number().int().positive(), rows: z.number().int().positive(), cols: z.number().int().positive() }),
  fields: (p) => [ring('b', p.groups * p.rows * p.cols)],
  derive(free, p, env) {
    const m = env.get(p.id);
    invariant(m.groups === p.groups && m.cols === p.cols && m.rowsUsed + p.rows <= m.rowsCap, 'E_CORR_MISMATCH',
      `fixed.append '${p.id}': ${p.rows} rows do not fit (${m.rowsUsed}/${m.rowsCap} used)`);
    const b = free.ring('b');
    for (let g = 0; g < p.groups; g++) {
      env.kernels.u64(m.region, (g * m.rowsCap + m.rowsUsed) * m.cols, p.rows * m.cols).set(b.subarray(g * p.rows * p.cols, (g + 1) * p.rows * p.cols));
    }
    m.rowsUsed += p.rows;
    return new Material();
  },
});

/**
 * `fixed.copy`: appends rows of one fixed matrix, at public positions, to another (a KV cache that
 * keeps public rows, e.g. sinks and a recent window). The parties copy Ŵ and their shares, the dealer
 * copies the mask rows: no randomness, no bytes, no round — only the schedule records it.
 */
export const FIXED_COPY = defineKind({
  name: 'fixed.copy',
  params: z.object({
    src: z.string(), dst: z.string(), groups: z.number().int().positive(), cols: z.number().int().positive(),
    segs: z.array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])).min(1),
  }),
  fields: () => [],
  derive(_free, p, env) {
    const a = env.get(p.src), b = env.get(p.dst);
    const rows = p.segs.reduce((t, [s, e]) => t + e - s, 0);
    invariant(a.groups === p.groups && b.groups === p.groups && a.cols === p.cols && b.cols === p.cols && b.rowsUsed + rows <= b.rowsCap
      && p.segs.every(([s, e]) => s <= e && e <= a.rowsUsed), 'E_CORR_MISMATCH', `fixed.copy '${p.src}' → '${p.dst}': rows do not fit`);
    copyRows(env.kernels, a, b, p.segs);
    b.rowsUsed += rows;
    return new Material();
  },
});

/** Appends src's rows at the segments to dst (every group; dst.rowsUsed is not changed here). */
export function copyRows(kernels: Kernels, src: { region: Region; rowsCap: number; cols: number; groups: number }, dst: { region: Region; rowsCap: number; rowsUsed: number }, segs: readonly (readonly [number, number])[]): void {
  const cols = src.cols;
  for (let g = 0; g < src.groups; g++) {
    let at = dst.rowsUsed;
    for (const [s, e] of segs) {
      const from = kernels.u64(src.region, (g * src.rowsCap + s) * cols, (e - s) * cols).slice();
      kernels.u64(dst.region, (g * dst.rowsCap + at) * cols, (e - s) * cols).set(from);
      at += e - s;
    }
  }
}

export const FixedProductParams = z.object({
  id: z.string(),
  layout: z.enum(['nt', 'nn']),
  groups: z.number().int().positive(),
  K: z.number().int().positive(),
  /** Rows of the view taking part (items of `block` rows when a block is given). */
  rows: z.number().int().nonnegative(),
  cols: z.number().int().positive(),
  /** View: the matrix rows [start, end) of each segment, back to back (default: [0, rows)). */
  segs: z.array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])).min(1).optional(),
  /** View: `block` consecutive rows act as one row of block·cols elements (default 1). */
  block: z.number().int().positive().optional(),
  /** One input [K, inLen] multiplies every group (opened once) instead of one per group. */
  shared: z.boolean().optional(),
  /** A client-assisted product: the client, not the peer, opens the input (protocol/fixed-mask.ts). */
  client: z.boolean().optional(),
  /** Also shares of r∘r (the one-hot check of a client's input: protocol/client-check.ts). */
  squares: z.boolean().optional(),
});
export type FixedProductParams = z.infer<typeof FixedProductParams>;

/** A view of a fixed matrix: public row segments, `block` rows per view row. */
export interface FixedView {
  readonly segs?: readonly (readonly [number, number])[];
  readonly block?: number;
  readonly shared?: boolean;
}

/**
 * Parameters of a product with `rows` view rows (a count: the first rows; or a view). Built in one
 * place so that the dealer and the parties hash identical parameters (defaults are left out).
 */
export function fixedProductParams(
  w: { id: string; groups: number; cols: number }, layout: 'nt' | 'nn', K: number, rows: number, view: FixedView = {},
): FixedProductParams {
  const block = view.block ?? 1;
  const segs = view.segs?.map(([a, b]) => [a, b] as [number, number]);
  const items = segs ? segs.reduce((t, [a, b]) => t + (b - a) / block, 0) : rows;
  invariant(!segs || segs.every(([a, b]) => a <= b && (b - a) % block === 0), 'E_SHAPE', () => `fixed view of '${w.id}': segments ${JSON.stringify(segs)} are not whole blocks of ${block} rows`);
  return {
    id: w.id, layout, groups: w.groups, K, rows: items, cols: w.cols,
    ...(segs ? { segs } : {}), ...(block !== 1 ? { block } : {}), ...(view.shared ? { shared: true } : {}),
  };
}

/** Segments (matrix rows), row length of the view and input groups of a product. */
export function fixedLayout(p: FixedProductParams): { segs: Array<[number, number]>; block: number; rowLen: number; inGroups: number } {
  const block = p.block ?? 1;
  return { segs: p.segs ?? [[0, p.rows * block]], block, rowLen: block * p.cols, inGroups: p.shared ? 1 : p.groups };
}

/** Input and output lengths per group of a fixed product. */
export function fixedDims(p: FixedProductParams): { inLen: number; outLen: number } {
  const rowLen = (p.block ?? 1) * p.cols;
  return p.layout === 'nt' ? { inLen: rowLen, outLen: p.rows } : { inLen: p.rows, outLen: rowLen };
}

/**
 * out = x · viewᵀ ('nt': x [K, rowLen] → [K, rows]) or x · view ('nn': x [K, rows] → [K, rowLen]) for
 * group g of a matrix stored at `base` (rowsCap rows of cols per group, row-major): the kernel runs
 * on each segment in place (a segment of whole blocks is a [n, rowLen] matrix with stride rowLen).
 */
export function viewProduct(kernels: Kernels, base: Region, rowsCap: number, p: FixedProductParams, g: number, x: BigUint64Array, out: BigUint64Array): void {
  const { segs, block, rowLen } = fixedLayout(p);
  const { K } = p;
  const region = (a: number, b: number): Region => ({ offset: base.offset + (g * rowsCap + a) * p.cols * 8, length: (b - a) * p.cols });
  if (segs.length === 1) {
    const [a, b] = segs[0]!, n = (b - a) / block;
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
      const xs = new BigUint64Array(K * n), tmp = new BigUint64Array(K * rowLen);
      for (let k = 0; k < K; k++) xs.set(x.subarray(k * p.rows + at, k * p.rows + at + n), k * n);
      kernels.matmulNN(tmp, xs, region(a, b), K, rowLen, n, rowLen);
      for (let i = 0; i < out.length; i++) out[i] = out[i]! + tmp[i]!;
    }
    at += n;
  }
}

/** Checks a product's view against a matrix with `rowsUsed` rows. */
export function viewFits(p: FixedProductParams, m: { groups: number; cols: number; rowsUsed: number }): boolean {
  const { segs, block } = fixedLayout(p);
  const items = segs.reduce((t, [a, b]) => t + (b - a) / block, 0);
  return m.groups === p.groups && m.cols === p.cols && items === p.rows
    && segs.every(([a, b]) => a <= b && b <= m.rowsUsed && (b - a) % block === 0);
}

export const FIXED_PRODUCT = defineKind({
  name: 'fixed.product',
  params: FixedProductParams,
  fields: (p) => {
    const { inLen, outLen } = fixedDims(p);
    const n = fixedLayout(p).inGroups * p.K * inLen;
    return [ring('r', n), ring('c', p.groups * p.K * outLen, true), ...(p.squares ? [ring('r2', n, true)] : [])];
  },
  derive(free, p, env) {
    const m = env.get(p.id);
    invariant(viewFits(p, m), 'E_CORR_MISMATCH',
      `fixed.product '${p.id}': a view of ${p.groups}x${p.rows}x${p.cols} (segments ${JSON.stringify(p.segs ?? [[0, p.rows]])}) does not fit the mask (${m.groups}x${m.rowsUsed}x${m.cols})`);
    const { inLen, outLen } = fixedDims(p);
    const shared = fixedLayout(p).inGroups === 1;
    const r = free.ring('r'), c = new BigUint64Array(p.groups * p.K * outLen);
    for (let g = 0; g < p.groups; g++) {
      const rg = shared ? r : r.subarray(g * p.K * inLen, (g + 1) * p.K * inLen);
      viewProduct(env.kernels, m.region, m.rowsCap, p, g, rg, c.subarray(g * p.K * outLen, (g + 1) * p.K * outLen));
    }
    const out = new Material().set('c', c);
    if (p.squares) out.set('r2', r.map((x) => x * x));
    return out;
  },
});
