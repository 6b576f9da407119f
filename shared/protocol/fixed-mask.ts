/**
 * Products with fixed-mask matrices (DESIGN §4): weights and KV-cache rows.
 *
 * A matrix W is stored as Ŵ = W − B (public, opened once by `fixedAppendS`) and B (secret
 * shared, known to the dealer, never used for anything but product correlations). Each party
 * keeps Ŵ and its online share W_i (party 0: Ŵ + B₀, party 1: B₁), both in the kernel arena.
 *
 * fixedMatmulS(x, W): kinds: fixed.product. 1 round. Opens x̂ = x − r only: 8 bytes per input
 * element per party, independent of the matrix size. Dealer bytes to party 1: 8 per output.
 * A view (row segments, blocks of rows, one input shared by all groups) changes only which rows
 * take part: the same formula on the view, the opening is the view's input.
 *   W·x = W·x̂ + W·r = W_i·x̂ + Ŵ·r_i + (B·r)_i   (shares; the last from the dealer).
 * fixedAppendS(W, rows): kinds: fixed.append (free randomness only, no dealer bytes). 1 round;
 *   opens rows − B_rows (8 bytes per element per party), once per row for the matrix's lifetime.
 * Layouts: `groups` matrices of `rowsCap` rows × `cols`; 'nt': x (K×cols) → K×rows (rows = rows
 * in use, e.g. keys in the cache); 'nn': x (K×rows) → K×cols (e.g. values, or [in,out] weights).
 */
import { invariant } from '../util/errors.js';
import { FIXED_ALLOC, FIXED_APPEND, FIXED_COPY, FIXED_PRODUCT, copyRows, fixedDims, fixedLayout, fixedProductParams, viewFits, viewProduct, type FixedProductParams, type FixedView } from '../corr/kinds/index.js';
import { numel, share, type Share } from '../ring/tensor.js';
import type { Region } from '../ring/kernels.js';
import type { PartyCtx } from './ctx.js';
import { openRing } from './open.js';
import { checkOneHotRowsS } from './client-check.js';

export interface FixedMatrix {
  readonly kind: 'fixed';
  readonly id: string;
  readonly groups: number;
  readonly rowsCap: number;
  readonly cols: number;
  readonly fracBits: number;
  /** Ŵ (public) and this party's online share W_i. */
  readonly pub: Region;
  readonly mine: Region;
  rowsUsed: number;
}

export async function fixedAllocS(ctx: PartyCtx, id: string, groups: number, rowsCap: number, cols: number, fracBits: number): Promise<FixedMatrix> {
  await ctx.corr.take(FIXED_ALLOC, { id, groups, rowsCap, cols });
  const len = groups * rowsCap * cols;
  return { kind: 'fixed', id, groups, rowsCap, cols, fracBits, pub: ctx.kernels.alloc(len), mine: ctx.kernels.alloc(len), rowsUsed: 0 };
}

/** Appends rows (shape [groups, k, cols] or [k, cols] for one group) to a fixed matrix. */
export async function fixedAppendS(ctx: PartyCtx, w: FixedMatrix, rows: Share): Promise<void> {
  const k = numel(rows.shape) / (w.groups * w.cols);
  invariant(Number.isInteger(k) && k > 0 && w.rowsUsed + k <= w.rowsCap, 'E_SHAPE',
    `cannot append [${rows.shape.join(', ')}] to fixed matrix '${w.id}' (${w.groups}x${w.rowsUsed}/${w.rowsCap}x${w.cols})`);
  invariant(rows.fracBits === w.fracBits, 'E_INTERNAL', `scale ${rows.fracBits} appended to a fixed matrix of scale ${w.fracBits}`);
  const mat = await ctx.corr.take(FIXED_APPEND, { id: w.id, groups: w.groups, rows: k, cols: w.cols });
  const b = mat.ring('b');
  const masked = new BigUint64Array(rows.data.length);
  for (let i = 0; i < masked.length; i++) masked[i] = rows.data[i]! - b[i]!;
  const [hat] = await openRing(ctx, 'fixed.append', [masked]);
  const blk = k * w.cols;
  for (let g = 0; g < w.groups; g++) {
    const at = (g * w.rowsCap + w.rowsUsed) * w.cols;
    const pub = ctx.kernels.u64(w.pub, at, blk), mine = ctx.kernels.u64(w.mine, at, blk);
    const h = hat!.subarray(g * blk, (g + 1) * blk), bg = b.subarray(g * blk, (g + 1) * blk);
    pub.set(h);
    if (ctx.me === 0) for (let i = 0; i < blk; i++) mine[i] = h[i]! + bg[i]!;
    else mine.set(bg);
  }
  w.rowsUsed += k;
}

/**
 * x: [groups, K, inLen] (or [K, inLen] for one group, or for every group with a `shared` view).
 * 'nt' → [groups, K, rows]; 'nn' → [groups, K, rowLen]. `rows` = rows of the matrix taking part
 * (default: all rows in use), or a view (kinds/fixed.ts): row segments, blocks, a shared input.
 */
export async function fixedMatmulS(ctx: PartyCtx, x: Share, w: FixedMatrix, layout: 'nt' | 'nn', rows: number | FixedView = w.rowsUsed): Promise<Share> {
  const p = productOf(w, layout, x.shape, rows);
  invariant(viewFits(p, w), 'E_SHAPE', `fixed matrix '${w.id}' has ${w.rowsUsed} rows; the product asks for ${JSON.stringify(p.segs ?? [[0, p.rows]])}`);
  const { inLen, outLen } = fixedDims(p);
  const mat = await ctx.corr.take(FIXED_PRODUCT, p);
  const r = mat.ring('r'), c = mat.ring('c');
  const masked = new BigUint64Array(x.data.length);
  for (let i = 0; i < masked.length; i++) masked[i] = x.data[i]! - r[i]!;
  const [xh] = await openRing(ctx, 'fixed.matmul', [masked]);
  const K = p.K, shared = fixedLayout(p).inGroups === 1;
  const out = new BigUint64Array(w.groups * K * outLen), tmp = new BigUint64Array(K * outLen);
  for (let g = 0; g < w.groups; g++) {
    const inAt = shared ? 0 : g * K * inLen;
    const xg = xh!.subarray(inAt, inAt + K * inLen), rg = r.subarray(inAt, inAt + K * inLen);
    const og = out.subarray(g * K * outLen, (g + 1) * K * outLen);
    viewProduct(ctx.kernels, w.mine, w.rowsCap, p, g, xg, og);   // W_i · x̂
    viewProduct(ctx.kernels, w.pub, w.rowsCap, p, g, rg, tmp);   // Ŵ · r_i
    const cg = c.subarray(g * K * outLen, (g + 1) * K * outLen);
    for (let i = 0; i < og.length; i++) og[i] = og[i]! + tmp[i]! + cg[i]!;
  }
  return share(productShape(x.shape, w.groups, p), out, x.fracBits + w.fracBits);
}

/**
 * The product's parameters from the input's shape and the rows or view asked for (shared by the
 * three Prims so that every role takes the same correlation).
 * @throws MpcError E_SHAPE if the input does not fit.
 */
export function productOf(w: { id: string; groups: number; cols: number; rowsUsed: number }, layout: 'nt' | 'nn', xShape: readonly number[], rows: number | FixedView): FixedProductParams {
  const view = typeof rows === 'number' ? {} : rows;
  const count = typeof rows === 'number' ? rows : w.rowsUsed;
  const probe = fixedProductParams(w, layout, 1, count, view);
  const inLen = fixedDims(probe).inLen, inGroups = fixedLayout(probe).inGroups;
  const K = numel(xShape) / (inGroups * inLen);
  invariant(Number.isInteger(K) && K > 0, 'E_SHAPE', `input [${xShape.join(', ')}] does not fit fixed matrix '${w.id}' (${inGroups} groups × ${inLen})`);
  return fixedProductParams(w, layout, K, count, view);
}

/** Output shape: [K, outLen] for a one-group product with a 2-D input, else [groups, K, outLen]. */
export function productShape(xShape: readonly number[], groups: number, p: FixedProductParams): number[] {
  const outLen = fixedDims(p).outLen;
  return xShape.length === 2 && groups === 1 ? [p.K, outLen] : [groups, p.K, outLen];
}

/** Shares of rows at public indices (party 0 also adds Ŵ: its online share is Ŵ + B₀). Local. */
export function fixedRowsS(ctx: PartyCtx, w: FixedMatrix, rows: readonly number[]): Share {
  const out = new BigUint64Array(w.groups * rows.length * w.cols);
  for (let g = 0; g < w.groups; g++) {
    rows.forEach((r, k) => {
      invariant(Number.isInteger(r) && r >= 0 && r < w.rowsUsed, 'E_SHAPE', `row ${r} of fixed matrix '${w.id}' (${w.rowsUsed} rows)`);
      out.set(ctx.kernels.u64(w.mine, (g * w.rowsCap + r) * w.cols, w.cols), (g * rows.length + k) * w.cols);
    });
  }
  return share([w.groups, rows.length, w.cols], out, w.fracBits);
}

/** Parameters of a client-assisted product (shared by the Prims that take its correlation). */
export function clientProductParams(w: { id: string; groups: number; cols: number; rowsUsed: number }, layout: 'nt' | 'nn', K: number, oneHotRows: boolean): FixedProductParams {
  return { ...fixedProductParams(w, layout, K, w.rowsUsed), client: true, ...(oneHotRows ? { squares: true } : {}) };
}

/**
 * Product with an input only the client knows. Kinds: fixed.product (same as fixedMatmulS; with
 * `squares` when the input must be one-hot rows). The client receives r (both shares) and returns
 * x̂ = x − r: no party↔party bytes, client bytes 8·K·in per party each way. The client learns r, a
 * one-time mask independent of W: nothing. With `oneHotRows` the parties check in one round that x
 * is one token per row (protocol/client-check.ts) before using it.
 */
export async function fixedMatmulClientS(ctx: PartyCtx, w: FixedMatrix, K: number, layout: 'nt' | 'nn', fracBits: number, oneHotRows: boolean): Promise<Share> {
  invariant(ctx.client !== undefined, 'E_INTERNAL', 'client-assisted product without a client');
  invariant(w.groups === 1, 'E_SHAPE', 'client-assisted products use one group');
  const rows = w.rowsUsed, inLen = layout === 'nt' ? w.cols : rows, outLen = layout === 'nt' ? rows : w.cols;
  const mat = await ctx.corr.take(FIXED_PRODUCT, clientProductParams(w, layout, K, oneHotRows));
  const r = mat.ring('r'), c = mat.ring('c');
  ctx.client.sendMask(r);
  const xh = await ctx.client.receiveMasked(K * inLen);
  invariant(xh.length === K * inLen, 'E_SHAPE', `client sent ${xh.length} masked elements, expected ${K * inLen}`);
  if (oneHotRows) await checkOneHotRowsS(ctx, ctx.client.challenges, xh, r, mat.ring('r2'), K, inLen);
  const out = new BigUint64Array(K * outLen), tmp = new BigUint64Array(K * outLen);
  const reg = (x: Region): Region => ({ offset: x.offset, length: w.rowsCap * w.cols });
  if (layout === 'nt') { ctx.kernels.matmulNT(out, xh, reg(w.mine), K, rows, w.cols, w.cols); ctx.kernels.matmulNT(tmp, r, reg(w.pub), K, rows, w.cols, w.cols); }
  else { ctx.kernels.matmulNN(out, xh, reg(w.mine), K, w.cols, rows, w.cols); ctx.kernels.matmulNN(tmp, r, reg(w.pub), K, w.cols, rows, w.cols); }
  for (let i = 0; i < out.length; i++) out[i] = out[i]! + tmp[i]! + c[i]!;
  return share([K, outLen], out, fracBits + w.fracBits);
}

/** Appends src's rows at public segments to dst: Ŵ and this party's share are copied; kind fixed.copy (no bytes). */
export async function fixedCopyS(ctx: PartyCtx, dst: FixedMatrix, src: FixedMatrix, segs: readonly (readonly [number, number])[]): Promise<void> {
  const p = fixedCopyParams(dst, src, segs);
  await ctx.corr.take(FIXED_COPY, p);
  for (const r of ['pub', 'mine'] as const) copyRows(ctx.kernels, { region: src[r], rowsCap: src.rowsCap, cols: src.cols, groups: src.groups }, { region: dst[r], rowsCap: dst.rowsCap, rowsUsed: dst.rowsUsed }, p.segs);
  dst.rowsUsed += p.segs.reduce((t, [a, b]) => t + b - a, 0);
}

/** Parameters of a copy, checked (shared by the three Prims). */
export function fixedCopyParams(dst: { id: string; groups: number; cols: number; rowsUsed: number; rowsCap: number; fracBits: number },
  src: { id: string; groups: number; cols: number; rowsUsed: number; fracBits: number }, segs: readonly (readonly [number, number])[]) {
  const rows = segs.reduce((t, [a, b]) => t + b - a, 0);
  invariant(segs.length > 0 && src.groups === dst.groups && src.cols === dst.cols && src.fracBits === dst.fracBits && dst.rowsUsed + rows <= dst.rowsCap
    && segs.every(([a, b]) => Number.isInteger(a) && Number.isInteger(b) && 0 <= a && a <= b && b <= src.rowsUsed), 'E_SHAPE',
  () => `fixed copy of rows ${JSON.stringify(segs)} from '${src.id}' (${src.rowsUsed} rows) to '${dst.id}' (${dst.rowsUsed}/${dst.rowsCap})`);
  return { src: src.id, dst: dst.id, groups: dst.groups, cols: dst.cols, segs: segs.map(([a, b]) => [a, b] as [number, number]) };
}

/** Frees a fixed matrix's arena memory (session end for KV caches). */
export function fixedFreeS(ctx: PartyCtx, w: FixedMatrix): void {
  ctx.kernels.release(w.pub);
  ctx.kernels.release(w.mine);
}
