/**
 * lut: digit look-up tables, piecewise-linear splines and secret index → one-hot, exact.
 *
 * For x read as an integer mod 2^k and each field (s, w): d = ⌊(x mod 2^k)/2^s⌋ mod 2^w and
 * c = x mod 2^s. The field returns either the one-hot e_d (shape [..., 2^w], fracBits 0) or
 * a[d] + b[d]·c for public integer tables a, b (a spline whose segment is the digit d and whose
 * offset is the lower part c), or with `times` a[d] · (another field's output). `clear` below is
 * the exact function, for every input; callers clip x into [0, 2^k) first so that d and c mean
 * what they want.
 *
 * Kind `lut`: x ∈ [0, 2^k) is opened as x̂ = x + r mod 2^k. The digit d equals (x̂_h − r_h − β) mod
 * 2^w with β = [x̂ mod 2^s < r mod 2^s] (the borrow), and x mod 2^s = x̂_l − r_l + 2^s·β. The parties
 * get β as XOR shares (4-bit blocks of r_l, at most one prefix node: block-tree.ts), open
 * β̂ = β ⊕ s', and then use the dealer's one-hot f_β̂ = e[(r_h + β) mod 2^w]; both branches are
 * dealt, because β = β̂ ⊕ s' is secret: f0 = e[r_h + s'], f1 = e[r_h + 1 − s'] (mod 2^w), and for a
 * slope g_α = K_α·f_α with K_α = r_l − 2^s·(α ⊕ s'); for a product field h_α = f_α·ry.
 * Fields per element and field q: mon_q (2 bytes per 4-bit block of r_l), m_q / mm_q (node mask
 * byte, u32 mask monomials; only when s > 4), sp_q (s'), f0_q, f1_q (2^w ring each; f1 only when
 * s > 0), g0_q, g1_q (with a slope), ry_q, h0_q, h1_q (with `times`). Dealer bytes to party 1 per
 * element: 8·2^w per one-hot, ×2 when s > 0, ×2 again with a slope, +2·8·2^w for a product field
 * (+ 2⌈s/4⌉ + 4 for the borrow).
 * Rounds: 1 when every field has s = 0 (one-hot of a secret index), 2 when s ≤ 4, else 3; +1 when
 * a field multiplies another field's output. Online bytes per element per party: k/8
 * + Σ_fields (2⌈s/4⌉ − 1)/8 [if s > 4] + 1/8 [if s > 0] + 8 per product field.
 *
 * Protocol:
 *  1. Open x̂ = x + r mod 2^k (k bits; uniform r hides x).
 *  2. For s > 0: XOR shares of the borrow β (for s > 4 one prefix node whose inputs are opened
 *     under fresh mask bits, as in trunc.ts).
 *  3. Open β̂ = β ⊕ s' (uniform). Then e_d[j] = f_β̂[(x̂_h − j) mod 2^w] and c = x̂_l − K_β̂, so
 *     output = Σ_j f_β̂[x̂_h − j]·(a[j] + b[j]·x̂_l) − Σ_j b[j]·g_β̂[x̂_h − j]  (local, linear).
 *  4. Product fields: open y + ry for the multiplied outputs (masked by fresh ry), then
 *     a[d]·y = Σ_j a[j]·(f_β̂·ŷ − h_β̂)[x̂_h − j].
 * Reference: the rotated one-hot is the standard dealer-assisted LUT (as in FSS-free 2PC LUTs);
 * deriving several digits and the borrow from one opening is this project's (docs/protocols.md).
 */
import { z } from 'zod';
import { invariant } from '../../util/errors.js';
import type { WireRound } from '../../net/frame.js';
import { Material, defineKind, ring, type FieldSpec } from '../../corr/kind.js';
import { addInto, maskLowInto, mulInto } from '../../ring/u64.js';
import { numel } from '../../ring/tensor.js';
import type { PartyCtx } from '../ctx.js';
import { definePrimitive, differs, type Dealt } from '../primitive.js';
import { open, openBits, openRing } from '../open.js';
import { borrowFields, borrowNodeBits, borrowRelation, borrows, deriveBorrow, maskDigits } from './borrow.js';

export interface LutTable {
  /** Intercepts per digit value (2^w ring integers). */
  a: BigInt64Array;
  /** Slopes per digit value, multiplied by x mod 2^s (optional). */
  b?: BigInt64Array;
  /** Scale label of the output. */
  fracBits: number;
}

export interface LutField {
  /** Bits below the digit (0 ≤ s ≤ 16). */
  s: number;
  /** Digit width (1 ≤ w ≤ 16). */
  w: number;
  /** Absent: the field returns the one-hot of the digit. */
  table?: LutTable;
  /** Index of another (plain) field: this field returns a[d] · (that field's output), at the sum of both scales. */
  times?: number;
}

export interface LutOpts {
  readonly k: number;
  readonly fields: readonly LutField[];
}

const LutFieldParams = z.object({
  s: z.number().int().min(0).max(16),
  w: z.number().int().min(1).max(16),
  lin: z.boolean(),
  /** The field's table value multiplies the output of field `times` (opened once more, masked). */
  times: z.number().int().nonnegative().optional(),
});

export const LutParams = z
  .object({
    n: z.number().int().nonnegative(),
    k: z.number().int().min(1).max(64),
    f: z.array(LutFieldParams).min(1).max(8),
  })
  .refine(
    (p) => p.f.every((f) => f.s + f.w <= p.k && (!f.lin || f.s > 0)),
    'each digit must fit in k bits; a slope needs s > 0',
  )
  .refine(
    (p) =>
      p.f.every(
        (f, q) =>
          f.times === undefined ||
          (!f.lin && f.times !== q && f.times < p.f.length && p.f[f.times]!.times === undefined),
      ),
    'a product field has no slope and multiplies another, plain field',
  );
export type LutParams = z.infer<typeof LutParams>;

/** Output scale of field q (0 for a one-hot). */
export function lutOutFrac(fields: readonly LutField[], q: number): number {
  const f = fields[q]!;
  if (!f.table) return 0;
  return f.times === undefined ? f.table.fracBits : f.table.fracBits + fields[f.times]!.table!.fracBits;
}

function params(n: number, { k, fields }: LutOpts): LutParams {
  for (const f of fields) {
    invariant(
      !f.table || (f.table.a.length === 1 << f.w && (!f.table.b || f.table.b.length === 1 << f.w)),
      'E_SHAPE',
      `lut table must have 2^${f.w} entries`,
    );
    invariant(
      f.times === undefined ||
        (f.table && !f.table.b && fields[f.times]?.table && fields[f.times]!.times === undefined),
      'E_INTERNAL',
      'a lut product field needs a plain table and must multiply another plain table field',
    );
  }
  return {
    n,
    k,
    f: fields.map((f) => ({
      s: f.s,
      w: f.w,
      lin: f.table?.b !== undefined,
      ...(f.times !== undefined ? { times: f.times } : {}),
    })),
  };
}

function fields(p: LutParams): FieldSpec[] {
  const f: FieldSpec[] = [ring('r', p.n)];
  p.f.forEach((fd, q) => {
    const W = 1 << fd.w;
    f.push(...borrowFields(q, p.n, fd.s));
    f.push(ring(`f0_${q}`, p.n * W, true));
    if (fd.s > 0) f.push(ring(`f1_${q}`, p.n * W, true));
    if (fd.lin) f.push(ring(`g0_${q}`, p.n * W, true), ring(`g1_${q}`, p.n * W, true));
    if (fd.times !== undefined) {
      f.push(ring(`ry${q}`, p.n), ring(`h0_${q}`, p.n * W, true));
      if (fd.s > 0) f.push(ring(`h1_${q}`, p.n * W, true));
    }
  });
  return f;
}

/** The dealer's material of field q: borrow monomials, both branches of the rotated one-hot (and their slopes / products). */
function deriveField(free: Material, p: LutParams, q: number, out: Material): void {
  const fd = p.f[q]!,
    W = 1 << fd.w,
    S = BigInt(fd.s),
    md = maskDigits(free, p.n, p.k, fd.s, fd.w, q);
  deriveBorrow(free, q, p.n, fd.s, out);
  const f0 = new BigUint64Array(p.n * W),
    f1 = new BigUint64Array(fd.s > 0 ? p.n * W : 0);
  const g0 = new BigUint64Array(fd.lin ? p.n * W : 0),
    g1 = new BigUint64Array(fd.lin ? p.n * W : 0);
  for (let i = 0; i < p.n; i++) {
    const { rho0, rho1, s1, rl } = md;
    f0[i * W + rho0[i]!] = 1n;
    if (fd.s > 0) f1[i * W + rho1[i]!] = 1n;
    if (fd.lin) {
      g0[i * W + rho0[i]!] = BigInt.asUintN(64, rl[i]! - (BigInt(s1[i]!) << S));
      g1[i * W + rho1[i]!] = BigInt.asUintN(64, rl[i]! - (BigInt(1 - s1[i]!) << S));
    }
  }
  if (fd.s > 0) out.set(`f1_${q}`, f1);
  out.set(`f0_${q}`, f0);
  if (fd.lin) out.set(`g0_${q}`, g0).set(`g1_${q}`, g1);
  if (fd.times !== undefined) {
    const ry = free.ring(`ry${q}`);
    const h0 = new BigUint64Array(p.n * W),
      h1 = new BigUint64Array(fd.s > 0 ? p.n * W : 0);
    for (let i = 0; i < p.n * W; i++) {
      h0[i] = f0[i]! * ry[Math.floor(i / W)]!;
      if (fd.s > 0) h1[i] = f1[i]! * ry[Math.floor(i / W)]!;
    }
    out.set(`h0_${q}`, h0);
    if (fd.s > 0) out.set(`h1_${q}`, h1);
  }
}

function rounds(p: LutParams): WireRound[] {
  const out: WireRound[] = [p.k === 64 ? { u64: [p.n] } : { bits: [p.n * p.k] }];
  const nodeBits = p.f.reduce((t, f) => t + borrowNodeBits(f.s), 0);
  const withS = p.f.filter((f) => f.s > 0).length,
    products = p.f.filter((f) => f.times !== undefined).length;
  if (nodeBits > 0) out.push({ bits: [p.n * nodeBits] });
  if (withS > 0) out.push({ bits: [p.n * withS] });
  if (products > 0) out.push({ u64: Array<number>(products).fill(p.n) });
  return out;
}

/** The exact ring function: per field, the one-hot of d or a[d] + b[d]·c (n·2^w or n values), then the products. */
export function lutClear(x: BigUint64Array, k: number, fs: readonly LutField[]): BigUint64Array[] {
  const xm = maskLowInto(x.slice(), k);
  const outs = fs.map((f) => {
    const W = 1 << f.w,
      S = BigInt(f.s),
      out = new BigUint64Array(f.table ? x.length : x.length * W);
    for (let i = 0; i < x.length; i++) {
      const d = Number((xm[i]! >> S) & BigInt(W - 1)),
        c = xm[i]! & ((1n << S) - 1n);
      if (!f.table) out[i * W + d] = 1n;
      else out[i] = BigInt(f.table.a[d]!) + (f.table.b ? BigInt(f.table.b[d]!) * c : 0n);
    }
    return out;
  });
  fs.forEach((f, q) => {
    if (f.times !== undefined) mulInto(outs[q]!, outs[q]!, outs[f.times]!);
  });
  return outs;
}

/** Step 3, locally: field q's output from the branch α = β̂ the dealer's one-hots take. */
function evaluate(
  mat: Material,
  q: number,
  f: LutField,
  xh: BigUint64Array,
  alpha: Uint8Array | undefined,
): BigUint64Array {
  const n = xh.length,
    W = 1 << f.w,
    S = BigInt(f.s),
    lowMask = (1n << S) - 1n,
    wMask = BigInt(W - 1);
  const f0 = mat.ring(`f0_${q}`),
    f1 = f.s > 0 ? mat.ring(`f1_${q}`) : f0;
  const lin = f.table?.b !== undefined,
    g0 = lin ? mat.ring(`g0_${q}`) : f0,
    g1 = lin ? mat.ring(`g1_${q}`) : f0;
  const out = new BigUint64Array(f.table ? n : n * W),
    coef = new BigUint64Array(W),
    slope = new BigUint64Array(W);
  for (let i = 0; i < n; i++) {
    const a = alpha ? alpha[i]! : 0,
      fa = a ? f1 : f0,
      ga = a ? g1 : g0,
      base = i * W;
    const xl = xh[i]! & lowMask,
      xhi = Number((xh[i]! >> S) & wMask);
    if (!f.table) {
      for (let j = 0; j < W; j++) out[base + j] = fa[base + ((xhi - j) & (W - 1))]!;
      continue;
    }
    for (let j = 0; j < W; j++) {
      const bj = lin ? BigInt(f.table.b![j]!) : 0n;
      coef[(xhi - j) & (W - 1)] = BigInt(f.table.a[j]!) + bj * xl;
      slope[(xhi - j) & (W - 1)] = bj;
    }
    out[i] = 0n;
    for (let u = 0; u < W; u++) out[i] = out[i]! + coef[u]! * fa[base + u]!;
    if (lin) for (let u = 0; u < W; u++) out[i] = out[i]! - slope[u]! * ga[base + u]!;
  }
  return out;
}

/** Step 4, locally: a[d]·y for field q from ŷ = y + ry. */
function product(
  mat: Material,
  q: number,
  f: LutField,
  xh: BigUint64Array,
  alpha: Uint8Array | undefined,
  yh: BigUint64Array,
): BigUint64Array {
  const n = xh.length,
    W = 1 << f.w,
    S = BigInt(f.s),
    wMask = BigInt(W - 1);
  const f0 = mat.ring(`f0_${q}`),
    f1 = f.s > 0 ? mat.ring(`f1_${q}`) : f0,
    h0 = mat.ring(`h0_${q}`),
    h1 = f.s > 0 ? mat.ring(`h1_${q}`) : h0;
  const out = new BigUint64Array(n),
    coef = new BigUint64Array(W);
  for (let i = 0; i < n; i++) {
    const a = alpha ? alpha[i]! : 0,
      fa = a ? f1 : f0,
      ha = a ? h1 : h0,
      base = i * W,
      y = yh[i]!;
    const xhi = Number((xh[i]! >> S) & wMask);
    for (let j = 0; j < W; j++) coef[(xhi - j) & (W - 1)] = BigInt(f.table!.a[j]!);
    out[i] = 0n;
    for (let u = 0; u < W; u++) out[i] = out[i]! + coef[u]! * (fa[base + u]! * y - ha[base + u]!);
  }
  return out;
}

async function secure(
  ctx: PartyCtx,
  mat: Material,
  x: BigUint64Array,
  { k, fields: fs }: LutOpts,
): Promise<BigUint64Array[]> {
  const n = x.length,
    r = mat.ring('r');
  // 1. open x̂ = x + r mod 2^k
  const [xh] = await open(ctx, 'lut.open', [{ low: addInto(new BigUint64Array(n), x, r), k }]);
  // 2. borrow shares per field with s > 0
  const withS = fs.map((f, q) => ({ f, q })).filter(({ f }) => f.s > 0),
    beta = await borrows(
      ctx,
      mat,
      xh,
      withS.map(({ f, q }) => ({ s: f.s, q })),
      'lut.borrow',
    );
  // 3. open β̂ = β ⊕ s', pick the dealer's branch, evaluate
  let alpha: Uint8Array[] = [];
  if (withS.length > 0) {
    const bm = new Uint8Array(n * withS.length);
    withS.forEach(({ q }, t) => {
      const sp = mat.xor(`sp${q}`);
      for (let i = 0; i < n; i++) bm[i * withS.length + t] = (beta[t]![i]! ^ sp[i]!) & 1;
    });
    const [bh] = await openBits(ctx, 'lut.select', [bm]);
    alpha = withS.map((_, t) => Uint8Array.from({ length: n }, (_, i) => bh![i * withS.length + t]!));
  }
  const alphaOf = (q: number): Uint8Array | undefined => alpha[withS.findIndex((e) => e.q === q)];
  const outs = fs.map((f, q) => evaluate(mat, q, f, xh, alphaOf(q)));
  // 4. product fields: open y + ry for the multiplied outputs
  const prodQ = fs.map((f, q) => (f.times !== undefined ? q : -1)).filter((q) => q >= 0);
  if (prodQ.length === 0) return outs;
  const yh = await openRing(
    ctx,
    'lut.times',
    prodQ.map((q) => {
      const ry = mat.ring(`ry${q}`);
      return addInto(new BigUint64Array(n), outs[fs[q]!.times!]!, ry);
    }),
  );
  prodQ.forEach((q, t) => {
    outs[q] = product(mat, q, fs[q]!, xh, alphaOf(q), yh[t]!);
  });
  return outs;
}

/** The dealt material against its definition (one-hots at r_h + s' and r_h + 1 − s', slopes, products, borrow). */
function relation(v: Dealt, p: LutParams): string | undefined {
  for (const [q, f] of p.f.entries()) {
    const bad = borrowRelation(v, q, p.n, f.s) ?? fieldRelation(v, p, q);
    if (bad) return bad;
  }
  return undefined;
}

/** Field q's one-hots (both branches), slopes and products against their definition. */
function fieldRelation(v: Dealt, p: LutParams, q: number): string | undefined {
  const f = p.f[q]!,
    W = 1 << f.w,
    S = BigInt(f.s),
    md = maskDigits(v, p.n, p.k, f.s, f.w, q),
    row = (e: number) => Math.floor(e / W);
  const oneHot = (at: Int32Array) => Array.from({ length: p.n * W }, (_, e) => (e % W === at[row(e)] ? 1n : 0n));
  const f0 = oneHot(md.rho0),
    f1 = oneHot(md.rho1),
    ry = f.times === undefined ? undefined : v.ring(`ry${q}`);
  const k = (e: number, alpha: number) => md.rl[row(e)]! - (BigInt(alpha ^ md.s1[row(e)]!) << S);
  const checks: Array<[string, bigint[]]> = [[`f0_${q}`, f0]];
  if (f.s > 0) checks.push([`f1_${q}`, f1]);
  if (f.lin) checks.push([`g0_${q}`, f0.map((h, e) => h * k(e, 0))], [`g1_${q}`, f1.map((h, e) => h * k(e, 1))]);
  if (ry) checks.push([`h0_${q}`, f0.map((h, e) => h * ry[row(e)]!)]);
  if (ry && f.s > 0) checks.push([`h1_${q}`, f1.map((h, e) => h * ry[row(e)]!)]);
  for (const [name, want] of checks) {
    const bad = differs(name, v.ring(name), want);
    if (bad) return bad;
  }
  return undefined;
}

const table = (rng: { int(lo: number, hi: number): number }, W: number, lo: number, hi: number): BigInt64Array =>
  BigInt64Array.from({ length: W }, () => BigInt(rng.int(lo, hi)));

export const LUT = definePrimitive<LutOpts, LutParams>({
  name: 'lut',
  kind: defineKind({
    name: 'lut',
    params: LutParams,
    rounds,
    fields,
    derive: (free, p) =>
      p.f.reduce((out, _, q) => {
        deriveField(free, p, q, out);
        return out;
      }, new Material()),
  }),
  params: ([x], o) => params(numel(x!.shape), o),
  outputs: (_p, [x], o) =>
    o.fields.map((f, q) =>
      f.table
        ? { shape: x!.shape, fracBits: lutOutFrac(o.fields, q) }
        : { shape: [...x!.shape, 1 << f.w], fracBits: 0 },
    ),
  clear: ({ o, xs: [x] }) => lutClear(x!.data, o.k, o.fields),
  secure: (ctx, mat, { o, xs: [x] }) => secure(ctx, mat, x!.data, o),
  relation,
  example: (rng) => {
    const spline: LutField[] = [
      { s: 16, w: 4 },
      { s: 11, w: 5, table: { a: table(rng, 32, -1e6, 1e6), b: table(rng, 32, -1e4, 1e4), fracBits: 16 } },
    ];
    const slope = { a: table(rng, 32, -1e5, 1e5), b: table(rng, 32, -50, 50), fracBits: 20 };
    const prods: LutField[] = [
      { s: 9, w: 3, table: { a: table(rng, 8, -1000, 1000), fracBits: 4 }, times: 1 },
      { s: 4, w: 5, table: slope },
      { s: 0, w: 2, table: { a: table(rng, 4, -9, 9), fracBits: 4 }, times: 1 },
    ];
    return {
      inputs: [
        { shape: [64], fracBits: 0, values: Float64Array.from({ length: 64 }, () => rng.int(-(2 ** 20), 2 ** 21)) },
      ],
      program: async (P, [v]) => [
        ...(await P.lut(v!, 20, spline)),
        ...(await P.lut(v!, 8, [{ s: 0, w: 8 }])),
        ...(await P.lut(v!, 64, [{ s: 3, w: 7 }])),
        ...(await P.lut(v!, 12, prods)),
      ],
    };
  },
});
