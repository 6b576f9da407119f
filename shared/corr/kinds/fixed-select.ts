/**
 * `fixed.select`: a product of a fresh input x with the rows a secret one-hot selection picks from a
 * fixed-mask matrix, opening only x − r and the selection sel − R (protocol/fixed-select.ts).
 *
 * The view: n items of `block` consecutive rows from row `offset` of each group, W_g [n, block·cols]
 * = Ŵ + M (M the fixed mask the dealer knows). The selection sel [k, n] (one per group, or one
 * `shared` by all groups) picks Y = sel·W_g [k, block·cols]. Layouts: 'nt' x [K, cols] → x·Yᵀ
 * [K, k·block] (scores against the chosen rows); 'nn' x [K, k·block] → x·Y [K, cols] (mixing
 * them). With x = x̂ + r and sel = ŝ + R, every term that is not public·share is dealt:
 *   both:  RM = R·M                                 [k, block·cols]   (shares of Y: ŝ·W_i + R_i·Ŵ + RM_i)
 *   'nt':  U = r·Mᵀ                                 [K, n·block]      (r·(ŝ·W)ᵀ = ŝ ⋅ (r_i·Ŵᵀ + U))
 *          T[c][a][i][d] = r[a, d]·R[i, c]           [n, K, k, cols]   (r·(R·Ŵ)ᵀ = Σ_c T_c·Ŵ_cᵀ)
 *          O = r·RMᵀ                                 [K, k·block]
 *   'nn':  V[c][a][i][d] = Σ_s r[a, i, s]·M[c, s, d]  [n, K, k, cols]   (r·(ŝ·W) = Σ_{i,c} ŝ[i, c]·(r_i⊛Ŵ + V))
 *          Q[a][c][s] = Σ_i r[a, i, s]·R[i, c]       [K, n·block]      (r·(R·Ŵ) = Q·Ŵ)
 *          O = Q·M                                   [K, cols]
 * Dealer bytes per group: 8·(k·block·cols + K·n·block + K·cols·k·n + K·k·block) ('nt') or
 * 8·(k·block·cols + K·k·n·cols + K·n·block + K·cols) ('nn'); the relation test checks each field.
 */
import { z } from 'zod';
import { invariant } from '../../util/errors.js';
import type { Kernels, Region } from '../../ring/kernels.js';
import { Material, defineKind, ring } from '../kind.js';
import { matmulAddInto } from './products.js';

export const FixedSelectParams = z.object({
  id: z.string(),
  layout: z.enum(['nt', 'nn']),
  groups: z.number().int().positive(),
  K: z.number().int().positive(),
  k: z.number().int().positive(),
  n: z.number().int().positive(),
  block: z.number().int().positive(),
  offset: z.number().int().nonnegative(),
  cols: z.number().int().positive(),
  shared: z.boolean().optional(),
});
export type FixedSelectParams = z.infer<typeof FixedSelectParams>;

/** Input / output lengths per group and the groups the selection spans. */
export function selectDims(p: FixedSelectParams): { inLen: number; outLen: number; selGroups: number } {
  const kb = p.k * p.block;
  return { inLen: p.layout === 'nt' ? p.cols : kb, outLen: p.layout === 'nt' ? kb : p.cols, selGroups: p.shared ? 1 : p.groups };
}

/** Rows of group g's view as a [rows, cols] region of a matrix stored at `base` with rowsCap rows per group. */
export function viewRegion(base: Region, rowsCap: number, cols: number, g: number, firstRow: number, rows: number): Region {
  return { offset: base.offset + (g * rowsCap + firstRow) * cols * 8, length: rows * cols };
}

/** out [m, q] = a [m, n] · region [n, q] (the region's rows contiguous, stride q). */
export function regionNN(kernels: Kernels, a: BigUint64Array, region: Region, m: number, n: number, q: number): BigUint64Array {
  const out = new BigUint64Array(m * q);
  if (m > 0 && n > 0) kernels.matmulNN(out, a, region, m, q, n, q);
  return out;
}

/** out [m, rows] = a [m, cols] · region [rows, cols]ᵀ. */
export function regionNT(kernels: Kernels, a: BigUint64Array, region: Region, m: number, rows: number, cols: number): BigUint64Array {
  const out = new BigUint64Array(m * rows);
  if (m > 0 && rows > 0) kernels.matmulNT(out, a, region, m, rows, cols, cols);
  return out;
}

export const FIXED_SELECT = defineKind({
  name: 'fixed.select',
  params: FixedSelectParams,
  fields: (p) => {
    const { inLen, selGroups } = selectDims(p), G = p.groups, kb = p.k * p.block;
    const own = p.layout === 'nt'
      ? [ring('U', G * p.K * p.n * p.block, true), ring('T', G * p.n * p.K * p.k * p.cols, true), ring('O', G * p.K * kb, true)]
      : [ring('V', G * p.n * p.K * p.k * p.cols, true), ring('Q', G * p.K * p.n * p.block, true), ring('O', G * p.K * p.cols, true)];
    return [ring('R', selGroups * p.k * p.n), ring('r', G * p.K * inLen), ring('RM', G * kb * p.cols, true), ...own];
  },
  derive(free, p, env) {
    const m = env.get(p.id);
    invariant(m.groups === p.groups && m.cols === p.cols && p.offset + p.n * p.block <= m.rowsUsed, 'E_CORR_MISMATCH',
      `fixed.select '${p.id}': ${p.n} blocks of ${p.block} rows from ${p.offset} do not fit the mask (${m.groups}x${m.rowsUsed}x${m.cols})`);
    const { inLen } = selectDims(p), { K, k, n, block: S, cols } = p, kb = k * S, G = p.groups;
    const R = free.ring('R'), r = free.ring('r');
    const RM = new BigUint64Array(G * kb * cols), A = new BigUint64Array(G * n * K * k * cols);
    const B = new BigUint64Array(G * K * n * S), O = new BigUint64Array(G * K * (p.layout === 'nt' ? kb : cols));
    for (let g = 0; g < G; g++) {
      const Rg = p.shared ? R : R.subarray(g * k * n, (g + 1) * k * n), rg = r.subarray(g * K * inLen, (g + 1) * K * inLen);
      const view = viewRegion(m.region, m.rowsCap, cols, g, p.offset, n * S);
      const rm = regionNN(env.kernels, Rg, view, k, n, S * cols); // R·M [k, S·cols]
      RM.set(rm, g * kb * cols);
      const Ag = A.subarray(g * n * K * k * cols, (g + 1) * n * K * k * cols);
      if (p.layout === 'nt') {
        B.set(regionNT(env.kernels, rg, view, K, n * S, cols), g * K * n * S); // U = r·Mᵀ
        for (let c = 0; c < n; c++) for (let a = 0; a < K; a++) for (let i = 0; i < k; i++) {
          const rc = Rg[i * n + c]!, at = ((c * K + a) * k + i) * cols;
          for (let d = 0; d < cols; d++) Ag[at + d] = rg[a * cols + d]! * rc; // T
        }
        matmulAddInto(O.subarray(g * K * kb, (g + 1) * K * kb), rg, transpose(rm, kb, cols), { batch: 1, m: K, k: cols, n: kb });
      } else {
        for (let c = 0; c < n; c++) Ag.set(regionNN(env.kernels, rg, viewRegion(m.region, m.rowsCap, cols, g, p.offset + c * S, S), K * k, S, cols), c * K * k * cols); // V
        const Q = B.subarray(g * K * n * S, (g + 1) * K * n * S);
        for (let a = 0; a < K; a++) for (let i = 0; i < k; i++) for (let c = 0; c < n; c++) {
          const rc = Rg[i * n + c]!;
          if (rc === 0n) continue;
          for (let s = 0; s < S; s++) Q[(a * n + c) * S + s] = Q[(a * n + c) * S + s]! + r[g * K * inLen + (a * k + i) * S + s]! * rc;
        }
        O.set(regionNN(env.kernels, Q, view, K, n * S, cols), g * K * cols);
      }
    }
    const out = new Material().set('RM', RM).set('O', O);
    return p.layout === 'nt' ? out.set('U', B).set('T', A) : out.set('V', A).set('Q', B);
  },
});

/** [rows, cols] → [cols, rows]. */
export function transpose(x: BigUint64Array, rows: number, cols: number): BigUint64Array {
  const out = new BigUint64Array(x.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j]!;
  return out;
}
