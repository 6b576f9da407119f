/**
 * fixedSelect: products with the rows a secret one-hot selection picks from a fixed-mask matrix,
 * without gathering them (KV-cache eviction: attention over chosen clusters). Exact; scale x's +
 * W's (the one-hot adds none).
 *
 * fixedSelect(x, sel, W, layout, {offset, block}): W_g's rows offset .. offset + n·block as n items
 * of `block` rows, W_g [n, block·cols] = Ŵ + M (M the mask the dealer knows); sel [G, k, n] one-hot
 * (integers; G = groups, or 1 shared by all groups) picks Y = sel·W_g [k, block·cols].
 * 'nt': x [groups, K, cols] → x·Yᵀ [groups, K, k·block] (scores against the chosen rows);
 * 'nn': x [groups, K, k·block] → x·Y [groups, K, cols] (mixing them).
 *
 * Kind `fixed.select`: with x = x̂ + r and sel = ŝ + R, every term that is not public·share is dealt:
 *   both:  RM = R·M                                 [k, block·cols]   (shares of Y: ŝ·W_i + R_i·Ŵ + RM_i)
 *   'nt':  U = r·Mᵀ                                 [K, n·block]      (r·(ŝ·W)ᵀ = ŝ ⋅ (r_i·Ŵᵀ + U))
 *          T[c][a][i][d] = r[a, d]·R[i, c]           [n, K, k, cols]   (r·(R·Ŵ)ᵀ = Σ_c T_c·Ŵ_cᵀ)
 *          O = r·RMᵀ                                 [K, k·block]
 *   'nn':  V[c][a][i][d] = Σ_s r[a, i, s]·M[c, s, d]  [n, K, k, cols]   (r·(ŝ·W) = Σ_{i,c} ŝ[i, c]·(r_i⊛Ŵ + V))
 *          Q[a][c][s] = Σ_i r[a, i, s]·R[i, c]       [K, n·block]      (r·(R·Ŵ) = Q·Ŵ)
 *          O = Q·M                                   [K, cols]
 * Rounds: 1. Online per party: 8·(groups·K·inLen + G·k·n) bytes, the one-hot over items and the
 * input only, as for a product with the whole matrix. Dealer bytes per group: 8·(k·block·cols +
 * K·n·block + K·cols·k·n + K·k·block) ('nt') or 8·(k·block·cols + K·k·n·cols + K·n·block + K·cols).
 *  1. Open x̂ = x − r and ŝ = sel − R together (uniform: r, R fresh).
 *  2. Y_i = ŝ·W_i + R_i·Ŵ + RM_i (this party's share of sel·W, never opened).
 *  3. 'nt': x̂·Y_iᵀ + ŝ ⋅ (r_i·Ŵᵀ + U_i) + Σ_c T_i,c·Ŵ_cᵀ + O_i;
 *     'nn': x̂·Y_i + Σ_{i,c} ŝ[i, c]·(r_i⊛Ŵ + V_i)[c, i] + Q_i·Ŵ + O_i.
 */
import { z } from 'zod';
import { invariant } from '../../util/errors.js';
import { Material, defineKind, ring } from '../../corr/kind.js';
import type { Kernels, Region } from '../../ring/kernels.js';
import { matmulAddInto, regionNN, regionNT, transpose, viewRegion } from '../../ring/matrix.js';
import { numel } from '../../ring/tensor.js';
import { subInto } from '../../ring/u64.js';
import type { FixedHandle } from '../fixed-mask.js';
import { definePrimitive, differs, uniformInput, type Dealt } from '../primitive.js';
import { openRing } from '../open.js';

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
export interface SelectView {
  readonly offset: number;
  readonly block: number;
}
export interface FixedSelectOpts {
  readonly layout: 'nt' | 'nn';
  readonly view: SelectView;
}

/** Input / output lengths per group and the groups the selection spans. */
function selectDims(p: FixedSelectParams): { inLen: number; outLen: number; selGroups: number } {
  const kb = p.k * p.block;
  return {
    inLen: p.layout === 'nt' ? p.cols : kb,
    outLen: p.layout === 'nt' ? kb : p.cols,
    selGroups: p.shared ? 1 : p.groups,
  };
}

function params(
  w: FixedHandle,
  xShape: readonly number[],
  selShape: readonly number[],
  { layout, view: v }: FixedSelectOpts,
): FixedSelectParams {
  invariant(
    selShape.length === 3 && (selShape[0] === 1 || selShape[0] === w.groups) && selShape[1]! > 0,
    'E_SHAPE',
    () => `fixed.select: selection [${selShape.join(', ')}] for ${w.groups} groups`,
  );
  const [G, k, n] = selShape as [number, number, number];
  invariant(
    Number.isInteger(v.block) &&
      v.block >= 1 &&
      Number.isInteger(v.offset) &&
      v.offset >= 0 &&
      v.offset + n * v.block <= w.rowsUsed,
    'E_SHAPE',
    () => `fixed.select '${w.id}': ${n} blocks of ${v.block} rows from ${v.offset} (${w.rowsUsed} rows)`,
  );
  const inLen = layout === 'nt' ? w.cols : k * v.block,
    K = numel(xShape) / (w.groups * inLen);
  invariant(
    Number.isInteger(K) && K > 0,
    'E_SHAPE',
    () => `fixed.select: input [${xShape.join(', ')}] does not fit ${w.groups} groups × ${inLen}`,
  );
  return {
    id: w.id,
    layout,
    groups: w.groups,
    K,
    k,
    n,
    block: v.block,
    offset: v.offset,
    cols: w.cols,
    ...(G === 1 && w.groups > 1 ? { shared: true } : {}),
  };
}

interface Items {
  mine: Region;
  pub: Region;
  rowsCap: number;
}
interface Part {
  xh: BigUint64Array;
  r: BigUint64Array;
  s: BigUint64Array;
  R: BigUint64Array;
  RM: BigUint64Array;
}

/** Step 2: this party's share of Y = sel·W [k, block·cols]: ŝ·W_i + R_i·Ŵ + RM_i. */
function shareOfY(kernels: Kernels, p: FixedSelectParams, g: number, it: Items, part: Part): BigUint64Array {
  const m = p.block * p.cols;
  const y = regionNN(kernels, part.s, viewRegion(it.mine, it.rowsCap, p.cols, g, p.offset, p.n * p.block), p.k, p.n, m);
  const t = regionNN(kernels, part.R, viewRegion(it.pub, it.rowsCap, p.cols, g, p.offset, p.n * p.block), p.k, p.n, m);
  for (let i = 0; i < y.length; i++) y[i] = y[i]! + t[i]! + part.RM[i]!;
  return y;
}

function selectNT(
  kernels: Kernels,
  p: FixedSelectParams,
  g: number,
  it: Items,
  part: Part,
  d: { U: BigUint64Array; T: BigUint64Array; O: BigUint64Array },
  out: BigUint64Array,
): void {
  const { K, k, n, block: S, cols } = p,
    kb = k * S;
  const y = shareOfY(kernels, p, g, it, part);
  matmulAddInto(out, part.xh, transpose(y, kb, cols), { batch: 1, m: K, k: cols, n: kb }); // x̂·Y_iᵀ
  const z = regionNT(kernels, part.r, viewRegion(it.pub, it.rowsCap, cols, g, p.offset, n * S), K, n * S, cols); // r_i·Ŵᵀ + U_i  [K, n·S]
  for (let i = 0; i < z.length; i++) z[i] = z[i]! + d.U[i]!;
  for (let a = 0; a < K; a++)
    matmulAddInto(out.subarray(a * kb, (a + 1) * kb), part.s, z.subarray(a * n * S, (a + 1) * n * S), {
      batch: 1,
      m: k,
      k: n,
      n: S,
    });
  for (let c = 0; c < n; c++) {
    // Σ_c T_c·Ŵ_cᵀ
    const tc = regionNT(
      kernels,
      d.T.subarray(c * K * k * cols, (c + 1) * K * k * cols),
      viewRegion(it.pub, it.rowsCap, cols, g, p.offset + c * S, S),
      K * k,
      S,
      cols,
    );
    for (let i = 0; i < tc.length; i++) out[i] = out[i]! + tc[i]!;
  }
  for (let i = 0; i < out.length; i++) out[i] = out[i]! + d.O[i]!;
}

function selectNN(
  kernels: Kernels,
  p: FixedSelectParams,
  g: number,
  it: Items,
  part: Part,
  d: { V: BigUint64Array; Q: BigUint64Array; O: BigUint64Array },
  out: BigUint64Array,
): void {
  const { K, k, n, block: S, cols } = p,
    kb = k * S;
  const y = shareOfY(kernels, p, g, it, part);
  matmulAddInto(out, part.xh, y, { batch: 1, m: K, k: kb, n: cols }); // x̂·Y_i
  for (let c = 0; c < n; c++) {
    // Σ_{i,c} ŝ[i,c]·(r_i⊛Ŵ + V)[c, a, i]
    const rw = regionNN(kernels, part.r, viewRegion(it.pub, it.rowsCap, cols, g, p.offset + c * S, S), K * k, S, cols);
    const vc = d.V.subarray(c * K * k * cols, (c + 1) * K * k * cols);
    for (let a = 0; a < K; a++)
      for (let i = 0; i < k; i++) {
        const sv = part.s[i * n + c]!;
        if (sv === 0n) continue;
        const at = (a * k + i) * cols;
        for (let e = 0; e < cols; e++) out[a * cols + e] = out[a * cols + e]! + sv * (rw[at + e]! + vc[at + e]!);
      }
  }
  const q = regionNN(kernels, d.Q, viewRegion(it.pub, it.rowsCap, cols, g, p.offset, n * S), K, n * S, cols); // Q_i·Ŵ
  for (let i = 0; i < out.length; i++) out[i] = out[i]! + q[i]! + d.O[i]!;
}

/** The dealer's fields for one group g (RM, O and the layout's pair U, T or V, Q), written into the whole-item arrays. */
function deriveGroup(
  kernels: Kernels,
  m: { region: Region; rowsCap: number },
  p: FixedSelectParams,
  g: number,
  R: BigUint64Array,
  r: BigUint64Array,
  out: { RM: BigUint64Array; A: BigUint64Array; B: BigUint64Array; O: BigUint64Array },
): void {
  const { inLen } = selectDims(p),
    { K, k, n, block: S, cols } = p,
    kb = k * S;
  const Rg = p.shared ? R : R.subarray(g * k * n, (g + 1) * k * n),
    rg = r.subarray(g * K * inLen, (g + 1) * K * inLen);
  const view = viewRegion(m.region, m.rowsCap, cols, g, p.offset, n * S);
  const rm = regionNN(kernels, Rg, view, k, n, S * cols); // R·M [k, S·cols]
  out.RM.set(rm, g * kb * cols);
  const Ag = out.A.subarray(g * n * K * k * cols, (g + 1) * n * K * k * cols);
  if (p.layout === 'nt') {
    out.B.set(regionNT(kernels, rg, view, K, n * S, cols), g * K * n * S); // U = r·Mᵀ
    for (let c = 0; c < n; c++)
      for (let a = 0; a < K; a++)
        for (let i = 0; i < k; i++) {
          const rc = Rg[i * n + c]!,
            at = ((c * K + a) * k + i) * cols;
          for (let d = 0; d < cols; d++) Ag[at + d] = rg[a * cols + d]! * rc; // T
        }
    matmulAddInto(out.O.subarray(g * K * kb, (g + 1) * K * kb), rg, transpose(rm, kb, cols), {
      batch: 1,
      m: K,
      k: cols,
      n: kb,
    });
    return;
  }
  for (let c = 0; c < n; c++)
    Ag.set(
      regionNN(kernels, rg, viewRegion(m.region, m.rowsCap, cols, g, p.offset + c * S, S), K * k, S, cols),
      c * K * k * cols,
    ); // V
  const Q = out.B.subarray(g * K * n * S, (g + 1) * K * n * S);
  for (let a = 0; a < K; a++)
    for (let i = 0; i < k; i++)
      for (let c = 0; c < n; c++) {
        const rc = Rg[i * n + c]!;
        if (rc === 0n) continue;
        for (let s = 0; s < S; s++) Q[(a * n + c) * S + s] = Q[(a * n + c) * S + s]! + rg[(a * k + i) * S + s]! * rc;
      }
  out.O.set(regionNN(kernels, Q, view, K, n * S, cols), g * K * cols);
}

export const FIXED_SELECT = definePrimitive<FixedSelectOpts, FixedSelectParams>({
  name: 'fixedSelect',
  alwaysSecure: true,
  kind: defineKind({
    name: 'fixed.select',
    params: FixedSelectParams,
    rounds: (p) => [{ u64: [p.groups * p.K * selectDims(p).inLen, selectDims(p).selGroups * p.k * p.n] }],
    fields: (p) => {
      const { inLen, selGroups } = selectDims(p),
        G = p.groups,
        kb = p.k * p.block;
      const own =
        p.layout === 'nt'
          ? [
              ring('U', G * p.K * p.n * p.block, true),
              ring('T', G * p.n * p.K * p.k * p.cols, true),
              ring('O', G * p.K * kb, true),
            ]
          : [
              ring('V', G * p.n * p.K * p.k * p.cols, true),
              ring('Q', G * p.K * p.n * p.block, true),
              ring('O', G * p.K * p.cols, true),
            ];
      return [ring('R', selGroups * p.k * p.n), ring('r', G * p.K * inLen), ring('RM', G * kb * p.cols, true), ...own];
    },
    derive(free, p, env) {
      const m = env.get(p.id),
        { K, k, n, block: S, cols, groups: G } = p;
      invariant(
        m.groups === G && m.cols === cols && p.offset + n * S <= m.rowsUsed,
        'E_CORR_MISMATCH',
        `fixed.select '${p.id}': ${n} blocks of ${S} rows from ${p.offset} do not fit the mask (${m.groups}x${m.rowsUsed}x${m.cols})`,
      );
      const out = {
        RM: new BigUint64Array(G * k * S * cols),
        A: new BigUint64Array(G * n * K * k * cols),
        B: new BigUint64Array(G * K * n * S),
        O: new BigUint64Array(G * K * (p.layout === 'nt' ? k * S : cols)),
      };
      for (let g = 0; g < G; g++) deriveGroup(env.kernels, m, p, g, free.ring('R'), free.ring('r'), out);
      const mat = new Material().set('RM', out.RM).set('O', out.O);
      return p.layout === 'nt' ? mat.set('U', out.B).set('T', out.A) : mat.set('V', out.A).set('Q', out.B);
    },
  }),
  params: ([x, sel], o, [w]) => params(w!, x!.shape, sel!.shape, o),
  outputs: (p, [x], _o, [w]) => [{ shape: [p.groups, p.K, selectDims(p).outLen], fracBits: x!.fracBits + w!.fracBits }],
  clear({ p, xs: [x, sel], ws: [w] }, kernels) {
    const { inLen, outLen } = selectDims(p),
      { K, k, n, block: S, cols } = p,
      kb = k * S,
      out = new BigUint64Array(p.groups * K * outLen);
    for (let g = 0; g < p.groups; g++) {
      const sg = p.shared ? sel!.data : sel!.data.subarray(g * k * n, (g + 1) * k * n);
      const y = regionNN(kernels, sg, viewRegion(w!.data, w!.rowsCap, cols, g, p.offset, n * S), k, n, S * cols); // sel·W [k, S·cols]
      const xg = x!.data.subarray(g * K * inLen, (g + 1) * K * inLen),
        og = out.subarray(g * K * outLen, (g + 1) * K * outLen);
      if (p.layout === 'nt') matmulAddInto(og, xg, transpose(y, kb, cols), { batch: 1, m: K, k: cols, n: kb });
      else matmulAddInto(og, xg, y, { batch: 1, m: K, k: kb, n: cols });
    }
    return [out];
  },
  async secure(ctx, mat, { p, xs: [x, sel], ws: [w] }) {
    const R = mat.ring('R'),
      r = mat.ring('r');
    // 1. open x̂ = x − r and ŝ = sel − R
    const [xh, sh] = await openRing(ctx, 'fixed.select', [
      subInto(new BigUint64Array(r.length), x!.data, r),
      subInto(new BigUint64Array(R.length), sel!.data, R),
    ]);
    const { inLen, outLen } = selectDims(p),
      { K, k, n, groups } = p,
      out = new BigUint64Array(groups * K * outLen);
    // 2-3. per group
    for (let g = 0; g < groups; g++) {
      const at = (len: number) => [g * len, (g + 1) * len] as const;
      const sg = p.shared ? sh! : sh!.subarray(...at(k * n)),
        Rg = p.shared ? R : R.subarray(...at(k * n)),
        og = out.subarray(...at(K * outLen));
      const part = {
        xh: xh!.subarray(...at(K * inLen)),
        r: r.subarray(...at(K * inLen)),
        s: sg,
        R: Rg,
        RM: mat.ring('RM').subarray(...at(k * p.block * p.cols)),
      };
      const items = { mine: w!.mine, pub: w!.pub, rowsCap: w!.rowsCap };
      if (p.layout === 'nt')
        selectNT(
          ctx.kernels,
          p,
          g,
          items,
          part,
          {
            U: mat.ring('U').subarray(...at(K * n * p.block)),
            T: mat.ring('T').subarray(...at(n * K * k * p.cols)),
            O: mat.ring('O').subarray(...at(K * outLen)),
          },
          og,
        );
      else
        selectNN(
          ctx.kernels,
          p,
          g,
          items,
          part,
          {
            V: mat.ring('V').subarray(...at(n * K * k * p.cols)),
            Q: mat.ring('Q').subarray(...at(K * n * p.block)),
            O: mat.ring('O').subarray(...at(K * outLen)),
          },
          og,
        );
    }
    return [out];
  },
  relation,
  example: (rng) => {
    const onehot = (G: number, k: number, n: number) =>
      Float64Array.from({ length: G * k * n }, (_, e) => (e % n === (Math.floor(e / n) * 7 + 3) % n ? 1 : 0));
    return {
      inputs: [
        uniformInput(rng, [2, 9, 2], -2, 2),
        uniformInput(rng, [2, 2, 2], -2, 2),
        { shape: [2, 2, 3], fracBits: 0, values: onehot(2, 2, 3) },
        uniformInput(rng, [2, 2, 4], -2, 2),
        { shape: [1, 2, 3], fracBits: 0, values: onehot(1, 2, 3) },
      ],
      program: async (P, [rows, xnt, sel, xnn, shared]) => {
        const w = await P.fixedAlloc('ex', 2, 9, 2, 16);
        await P.fixedAppend(w, rows!);
        const view = { offset: 1, block: 2 };
        return [
          await P.fixedSelect(xnt!, sel!, w, 'nt', view),
          await P.fixedSelect(xnn!, sel!, w, 'nn', view),
          await P.fixedSelect(xnt!, shared!, w, 'nt', view),
          await P.fixedSelect(xnn!, shared!, w, 'nn', view),
        ];
      },
    };
  },
});

/** RM = R·M, and U, T, O ('nt') / V, Q, O ('nn') as stated in the header, by naive sums. */
function relation(
  v: Dealt,
  p: FixedSelectParams,
  env: { kernels: Kernels; get(id: string): { region: Region; rowsCap: number } },
): string | undefined {
  const m = env.get(p.id),
    M = env.kernels.u64(m.region),
    { K, k, n, block: S, cols } = p,
    { inLen } = selectDims(p),
    R = v.ring('R'),
    r = v.ring('r');
  const sum = (len: number, f: (t: number) => bigint): bigint => {
    let t = 0n;
    for (let i = 0; i < len; i++) t += f(i);
    return t;
  };
  const want: Record<string, bigint[]> = { RM: [], O: [], U: [], T: [], V: [], Q: [] };
  for (let g = 0; g < p.groups; g++) {
    const Rg = (i: number, c: number) => R[(p.shared ? 0 : g) * k * n + i * n + c]!,
      rg = (a: number, e: number) => r[(g * K + a) * inLen + e]!;
    const Mv = (c: number, s: number, d: number) => M[(g * m.rowsCap + p.offset + c * S + s) * cols + d]!;
    const rm = (i: number, s: number, d: number) => sum(n, (c) => Rg(i, c) * Mv(c, s, d));
    for (let i = 0; i < k; i++) for (let s = 0; s < S; s++) for (let d = 0; d < cols; d++) want.RM!.push(rm(i, s, d));
    if (p.layout === 'nt') {
      for (let a = 0; a < K; a++)
        for (let c = 0; c < n; c++) for (let s = 0; s < S; s++) want.U!.push(sum(cols, (d) => rg(a, d) * Mv(c, s, d)));
      for (let c = 0; c < n; c++)
        for (let a = 0; a < K; a++)
          for (let i = 0; i < k; i++) for (let d = 0; d < cols; d++) want.T!.push(rg(a, d) * Rg(i, c));
      for (let a = 0; a < K; a++)
        for (let i = 0; i < k; i++) for (let s = 0; s < S; s++) want.O!.push(sum(cols, (d) => rg(a, d) * rm(i, s, d)));
    } else {
      const q = (a: number, c: number, s: number) => sum(k, (i) => rg(a, i * S + s) * Rg(i, c));
      for (let c = 0; c < n; c++)
        for (let a = 0; a < K; a++)
          for (let i = 0; i < k; i++)
            for (let d = 0; d < cols; d++) want.V!.push(sum(S, (s) => rg(a, i * S + s) * Mv(c, s, d)));
      for (let a = 0; a < K; a++) for (let c = 0; c < n; c++) for (let s = 0; s < S; s++) want.Q!.push(q(a, c, s));
      for (let a = 0; a < K; a++)
        for (let d = 0; d < cols; d++)
          want.O!.push(sum(n * S, (cs) => q(a, Math.floor(cs / S), cs % S) * Mv(Math.floor(cs / S), cs % S, d)));
    }
  }
  return Object.entries(want)
    .filter(([, w]) => w.length > 0)
    .map(([name, w]) => differs(name, v.ring(name), w))
    .find((e) => e);
}
