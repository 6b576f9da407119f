/**
 * Products with the rows a secret one-hot selection picks from a fixed-mask matrix, without
 * gathering them (KV-cache eviction: attention over chosen clusters). Kind: fixed.select
 * (corr/kinds/fixed-select.ts, which states the algebra and the dealer's fields).
 *
 * fixedSelectS(x, sel, W, layout, {offset, block}): W_g's rows offset .. offset + n·block as n items
 * of `block` rows; sel [G, k, n] one-hot (integers; G = groups, or 1 shared by all groups);
 * 'nt': x [groups, K, cols] → x·(sel·W)ᵀ [groups, K, k·block]; 'nn': x [groups, K, k·block] →
 * x·(sel·W) [groups, K, cols]. Scale: x's + W's (the one-hot adds none).
 *   1. Take the item; open x̂ = x − r and ŝ = sel − R together (1 round).
 *   2. Y_i = ŝ·W_i + R_i·Ŵ + RM_i (this party's share of sel·W, never opened).
 *   3. 'nt': x̂·Y_iᵀ + ŝ ⋅ (r_i·Ŵᵀ + U_i) + Σ_c T_i,c·Ŵ_cᵀ + O_i;
 *      'nn': x̂·Y_i + Σ_{i,c} ŝ[i, c]·(r_i⊛Ŵ + V_i)[c, i] + Q_i·Ŵ + O_i.
 * Online per party: 8·(groups·K·inLen + G·k·n) bytes, 1 round — the one-hot over items and the
 * input only, as for a product with the whole matrix; what is opened is masked by fresh dealer
 * randomness (r, R). Exact (ring arithmetic).
 */
import { invariant } from '../util/errors.js';
import { FIXED_SELECT, matmulAddInto, regionNN, regionNT, selectDims, transpose, viewRegion, type FixedSelectParams } from '../corr/kinds/index.js';
import { share, type Share } from '../ring/tensor.js';
import type { Kernels, Region } from '../ring/kernels.js';
import type { PartyCtx } from './ctx.js';
import type { FixedMatrix } from './fixed-mask.js';
import { openRing } from './open.js';

export interface SelectView { readonly offset: number; readonly block: number }

/** Parameters from shapes (shared by the three Prims so that every role takes the same item). */
export function selectParams(w: { id: string; groups: number; cols: number; rowsUsed: number }, layout: 'nt' | 'nn',
  xShape: readonly number[], selShape: readonly number[], v: SelectView): FixedSelectParams {
  invariant(selShape.length === 3 && (selShape[0] === 1 || selShape[0] === w.groups) && selShape[1]! > 0, 'E_SHAPE',
    () => `fixed.select: selection [${selShape.join(', ')}] for ${w.groups} groups`);
  const [G, k, n] = selShape as [number, number, number];
  invariant(Number.isInteger(v.block) && v.block >= 1 && Number.isInteger(v.offset) && v.offset >= 0 && v.offset + n * v.block <= w.rowsUsed, 'E_SHAPE',
    () => `fixed.select '${w.id}': ${n} blocks of ${v.block} rows from ${v.offset} (${w.rowsUsed} rows)`);
  const inLen = layout === 'nt' ? w.cols : k * v.block, K = xShape.reduce((a, b) => a * b, 1) / (w.groups * inLen);
  invariant(Number.isInteger(K) && K > 0, 'E_SHAPE', () => `fixed.select: input [${xShape.join(', ')}] does not fit ${w.groups} groups × ${inLen}`);
  return { id: w.id, layout, groups: w.groups, K, k, n, block: v.block, offset: v.offset, cols: w.cols, ...(G === 1 && w.groups > 1 ? { shared: true } : {}) };
}

/** Output shape of a selected product. */
export function selectShape(p: FixedSelectParams): number[] {
  return [p.groups, p.K, selectDims(p).outLen];
}

export async function fixedSelectS(ctx: PartyCtx, x: Share, sel: Share, w: FixedMatrix, layout: 'nt' | 'nn', v: SelectView): Promise<Share> {
  const p = selectParams(w, layout, x.shape, sel.shape, v);
  const mat = await ctx.corr.take(FIXED_SELECT, p);
  const R = mat.ring('R'), r = mat.ring('r');
  const xm = new BigUint64Array(x.data.length), sm = new BigUint64Array(sel.data.length);
  for (let i = 0; i < xm.length; i++) xm[i] = x.data[i]! - r[i]!;
  for (let i = 0; i < sm.length; i++) sm[i] = sel.data[i]! - R[i]!;
  const [xh, sh] = await openRing(ctx, 'fixed.select', [xm, sm]);
  const { inLen, outLen } = selectDims(p), { K, k, n, groups } = p;
  const out = new BigUint64Array(groups * K * outLen);
  for (let g = 0; g < groups; g++) {
    const at = (len: number) => [g * len, (g + 1) * len] as const;
    const sg = p.shared ? sh! : sh!.subarray(...at(k * n)), Rg = p.shared ? R : R.subarray(...at(k * n));
    const og = out.subarray(...at(K * outLen));
    const part = { xh: xh!.subarray(...at(K * inLen)), r: r.subarray(...at(K * inLen)), s: sg, R: Rg, RM: mat.ring('RM').subarray(...at(k * p.block * p.cols)) };
    const items = { mine: w.mine, pub: w.pub, rowsCap: w.rowsCap };
    if (layout === 'nt') selectNT(ctx.kernels, p, g, items, part, { U: mat.ring('U').subarray(...at(K * n * p.block)), T: mat.ring('T').subarray(...at(n * K * k * p.cols)), O: mat.ring('O').subarray(...at(K * outLen)) }, og);
    else selectNN(ctx.kernels, p, g, items, part, { V: mat.ring('V').subarray(...at(n * K * k * p.cols)), Q: mat.ring('Q').subarray(...at(K * n * p.block)), O: mat.ring('O').subarray(...at(K * outLen)) }, og);
  }
  return share(selectShape(p), out, x.fracBits + w.fracBits);
}

interface Items { mine: Region; pub: Region; rowsCap: number }
interface Part { xh: BigUint64Array; r: BigUint64Array; s: BigUint64Array; R: BigUint64Array; RM: BigUint64Array }

/** This party's share of Y = sel·W [k, block·cols]: ŝ·W_i + R_i·Ŵ + RM_i. */
function shareOfY(kernels: Kernels, p: FixedSelectParams, g: number, it: Items, part: Part): BigUint64Array {
  const m = p.block * p.cols;
  const y = regionNN(kernels, part.s, viewRegion(it.mine, it.rowsCap, p.cols, g, p.offset, p.n * p.block), p.k, p.n, m);
  const t = regionNN(kernels, part.R, viewRegion(it.pub, it.rowsCap, p.cols, g, p.offset, p.n * p.block), p.k, p.n, m);
  for (let i = 0; i < y.length; i++) y[i] = y[i]! + t[i]! + part.RM[i]!;
  return y;
}

function selectNT(kernels: Kernels, p: FixedSelectParams, g: number, it: Items, part: Part, d: { U: BigUint64Array; T: BigUint64Array; O: BigUint64Array }, out: BigUint64Array): void {
  const { K, k, n, block: S, cols } = p, kb = k * S;
  const view = viewRegion(it.pub, it.rowsCap, cols, g, p.offset, n * S);
  const y = shareOfY(kernels, p, g, it, part);
  matmulAddInto(out, part.xh, transpose(y, kb, cols), { batch: 1, m: K, k: cols, n: kb });    // x̂·Y_iᵀ
  const z = regionNT(kernels, part.r, view, K, n * S, cols);                                   // r_i·Ŵᵀ + U_i  [K, n·S]
  for (let i = 0; i < z.length; i++) z[i] = z[i]! + d.U[i]!;
  for (let a = 0; a < K; a++) matmulAddInto(out.subarray(a * kb, (a + 1) * kb), part.s, z.subarray(a * n * S, (a + 1) * n * S), { batch: 1, m: k, k: n, n: S });
  for (let c = 0; c < n; c++) {                                                                // Σ_c T_c·Ŵ_cᵀ
    const tc = regionNT(kernels, d.T.subarray(c * K * k * cols, (c + 1) * K * k * cols), viewRegion(it.pub, it.rowsCap, cols, g, p.offset + c * S, S), K * k, S, cols);
    for (let i = 0; i < tc.length; i++) out[i] = out[i]! + tc[i]!;
  }
  for (let i = 0; i < out.length; i++) out[i] = out[i]! + d.O[i]!;
}

function selectNN(kernels: Kernels, p: FixedSelectParams, g: number, it: Items, part: Part, d: { V: BigUint64Array; Q: BigUint64Array; O: BigUint64Array }, out: BigUint64Array): void {
  const { K, k, n, block: S, cols } = p, kb = k * S;
  const y = shareOfY(kernels, p, g, it, part);
  matmulAddInto(out, part.xh, y, { batch: 1, m: K, k: kb, n: cols });                          // x̂·Y_i
  for (let c = 0; c < n; c++) {                                                                // Σ_{i,c} ŝ[i,c]·(r_i⊛Ŵ + V)[c, a, i]
    const rw = regionNN(kernels, part.r, viewRegion(it.pub, it.rowsCap, cols, g, p.offset + c * S, S), K * k, S, cols);
    const vc = d.V.subarray(c * K * k * cols, (c + 1) * K * k * cols);
    for (let a = 0; a < K; a++) for (let i = 0; i < k; i++) {
      const sv = part.s[i * n + c]!;
      if (sv === 0n) continue;
      const at = (a * k + i) * cols;
      for (let e = 0; e < cols; e++) out[a * cols + e] = out[a * cols + e]! + sv * (rw[at + e]! + vc[at + e]!);
    }
  }
  const q = regionNN(kernels, d.Q, viewRegion(it.pub, it.rowsCap, cols, g, p.offset, n * S), K, n * S, cols); // Q_i·Ŵ
  for (let i = 0; i < out.length; i++) out[i] = out[i]! + q[i]! + d.O[i]!;
}
