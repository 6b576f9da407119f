/**
 * xlut: digit tables and piecewise-linear splines from XOR-shared one-hots, exact.
 *
 * The function is lut.ts's table fields (`lutClear`): for x read mod 2^k and each field (s, w, a,
 * b), d = ⌊(x mod 2^k)/2^s⌋ mod 2^w, c = x mod 2^s and the output a[d] + b[d]·c. The correlation
 * differs: the dealer's rotated one-hot e_ρ is XOR-shared, one bit per table entry instead of one
 * ring element (64 times less dealer material per entry), at the price of a random sign.
 *
 * Why it works: party 0 holds bits A, party 1 bits B with A ⊕ B = e_ρ, and for every position j,
 * B_j − A_j = e_j·(1 − 2A_j). Rotated by the opened digit, only the one-hot's position counts:
 *   Σ_j T[j]·(B − A)[(x̂_h − j) mod 2^w] = σ·T[d],   σ = 1 − 2A_ρ ∈ {±1},
 * so each party computes its half locally (party 0 the −A sum, party 1 the B sum). The dealer
 * knows σ (it expands party 0's bits), which one more opening removes: with Z = σ·(a[d] + x̂_l·b[d])
 * and B' = σ·b[d] (local), open Ẑ = Z + ρ1 and B̂ = B' + ρ2 under fresh masks; since c = x̂_l − K
 * with K = r_l − 2^s·β and σ² = 1,
 *   out = σ·(Ẑ − ρ1) − σK·(B̂ − ρ2)
 * from the dealer's shares of σ, σρ1, σK, σKρ2 (both branches β̂ = 0, 1 are dealt, as in lut.ts).
 *
 * Kind `xlut`. Protocol:
 *  1. Open x̂ = x + r mod 2^k (k bits).
 *  2. XOR shares of each field's borrow β (borrow.ts; one node round when some s > 4).
 *  3. Open β̂ = β ⊕ s' (fields with s > 0): the branch α = β̂ the one-hots take. With `spec`, the
 *     same round opens both branches' Ẑ, B̂ (twice the fix bytes, one round less).
 *  4. Otherwise open the chosen branch's Ẑ, B̂ (fix round); output as above.
 * Rounds: 2 (every s = 0), 3 (s ≤ 4), 4 (s > 4); one less with `spec` when some s > 0.
 * Online bytes per element: k/8 + node bits/8 + 1/8 per field with s > 0, + 8 per value opened
 *   (Z, and B with a slope; both branches with `spec`).
 * Dealer bytes per element and field: ⌈2^w/8⌉ per branch (one-hot bits) + 16 per branch (σ, σρ1)
 *   + 16 per branch with a slope (σK, σKρ2), + the borrow's 2⌈s/4⌉ (+ 4 with a node); two
 *   branches when s > 0. E.g. a 32-segment spline with s > 4: 8 + 64 + 12 = 84 B (lut.ts: 1036 B).
 * Tables must satisfy |a|, |b| < 2^40 and w ≤ 12 (party sums are exact in float64).
 * Every opened value is masked by fresh uniform dealer randomness; σ and ρ are independent of x.
 * Reference: the rotated one-hot LUT of lut.ts; XOR-sharing the one-hot with a dealer-known sign
 * is this project's (docs/protocols.md).
 */
import { z } from 'zod';
import { invariant } from '../../util/errors.js';
import type { WireRound } from '../../net/frame.js';
import { Material, defineKind, ring, xor, type FieldSpec } from '../../corr/kind.js';
import { addInto } from '../../ring/u64.js';
import { numel } from '../../ring/tensor.js';
import type { PartyCtx } from '../ctx.js';
import { definePrimitive, differs, type Dealt } from '../primitive.js';
import { open } from '../open.js';
import {
  borrowFields,
  borrowNodeBits,
  borrowRelation,
  borrows,
  deriveBorrow,
  maskDigits,
  type FieldValues,
} from './borrow.js';
import { lutClear, type LutTable } from './lut.js';

export interface XlutField {
  /** Bits below the digit (0 ≤ s ≤ 16). */
  s: number;
  /** Digit width (1 ≤ w ≤ 12). */
  w: number;
  /** Intercepts a (and slopes b, times x mod 2^s), |values| < 2^40. */
  table: LutTable;
}

export interface XlutOpts {
  readonly k: number;
  readonly fields: readonly XlutField[];
  /** Open both branches' fix values in the select round (one round less, twice the fix bytes). */
  readonly spec?: boolean;
}

const TABLE_BOUND = 2 ** 40;

export const XlutParams = z
  .object({
    n: z.number().int().nonnegative(),
    k: z.number().int().min(1).max(64),
    f: z
      .array(z.object({ s: z.number().int().min(0).max(16), w: z.number().int().min(1).max(12), lin: z.boolean() }))
      .min(1)
      .max(8),
    spec: z.boolean(),
  })
  .refine((p) => p.f.every((f) => f.s + f.w <= p.k && (!f.lin || f.s > 0)), 'digits fit k bits; a slope needs s > 0');
export type XlutParams = z.infer<typeof XlutParams>;

const branchesOf = (f: { s: number }): number[] => (f.s > 0 ? [0, 1] : [0]);
const bytesPer = (w: number): number => Math.ceil((1 << w) / 8);

function params(n: number, { k, fields, spec }: XlutOpts): XlutParams {
  for (const f of fields) {
    const W = 1 << f.w,
      ok = (t: BigInt64Array | undefined) =>
        !t || (t.length === W && t.every((v) => v < TABLE_BOUND && -v < TABLE_BOUND));
    invariant(
      f.table.a.length === W && ok(f.table.a) && ok(f.table.b),
      'E_SHAPE',
      `xlut table needs 2^${f.w} entries below 2^40`,
    );
  }
  return { n, k, f: fields.map((f) => ({ s: f.s, w: f.w, lin: f.table.b !== undefined })), spec: spec ?? false };
}

function fields(p: XlutParams): FieldSpec[] {
  const f: FieldSpec[] = [ring('r', p.n)];
  p.f.forEach((fd, q) => {
    f.push(...borrowFields(q, p.n, fd.s));
    for (const a of branchesOf(fd)) {
      f.push(xor(`x${a}_${q}`, p.n * bytesPer(fd.w), true), ring(`sg${a}_${q}`, p.n, true));
      f.push(ring(`z${a}_${q}`, p.n), ring(`sz${a}_${q}`, p.n, true));
      if (fd.lin) f.push(ring(`sk${a}_${q}`, p.n, true), ring(`y${a}_${q}`, p.n), ring(`sky${a}_${q}`, p.n, true));
    }
  });
  return f;
}

/** Bit ρ of element i's packed one-hot bits. */
const bitAt = (bits: Uint8Array, per: number, i: number, rho: number): number =>
  (bits[i * per + (rho >> 3)]! >> (rho & 7)) & 1;

/** The dealer's material of field q, branch a: the one-hot's bits and the sign-fix products. */
function deriveBranch(
  free: FieldValues,
  p: XlutParams,
  q: number,
  a: number,
  share0: FieldValues,
  out: Material,
): void {
  const fd = p.f[q]!,
    per = bytesPer(fd.w),
    md = maskDigits(free, p.n, p.k, fd.s, fd.w, q),
    rho = a ? md.rho1 : md.rho0,
    A = share0.xor(`x${a}_${q}`);
  const bits = new Uint8Array(p.n * per),
    sg = new BigUint64Array(p.n),
    sz = new BigUint64Array(p.n),
    z = free.ring(`z${a}_${q}`);
  const sk = new BigUint64Array(fd.lin ? p.n : 0),
    sky = new BigUint64Array(fd.lin ? p.n : 0),
    y = fd.lin ? free.ring(`y${a}_${q}`) : undefined;
  for (let i = 0; i < p.n; i++) {
    bits[i * per + (rho[i]! >> 3)] = 1 << (rho[i]! & 7);
    const sigma = bitAt(A, per, i, rho[i]!) ? -1n : 1n;
    sg[i] = sigma;
    sz[i] = sigma * z[i]!;
    if (y) {
      const K = md.rl[i]! - (BigInt(a ^ md.s1[i]!) << BigInt(fd.s));
      sk[i] = sigma * K;
      sky[i] = sigma * K * y[i]!;
    }
  }
  out.set(`x${a}_${q}`, bits).set(`sg${a}_${q}`, sg).set(`sz${a}_${q}`, sz);
  if (y) out.set(`sk${a}_${q}`, sk).set(`sky${a}_${q}`, sky);
}

function derive(free: Material, p: XlutParams, share0: Material): Material {
  const out = new Material();
  p.f.forEach((fd, q) => {
    deriveBorrow(free, q, p.n, fd.s, out);
    for (const a of branchesOf(fd)) deriveBranch(free, p, q, a, share0, out);
  });
  return out;
}

/** Ring values each fix round opens per element: Z (and B) per field, per branch when both are opened. */
const fixCount = (p: XlutParams, both: boolean): number =>
  p.f.reduce((t, f) => t + (both ? branchesOf(f).length : 1) * (f.lin ? 2 : 1), 0);

function rounds(p: XlutParams): WireRound[] {
  const out: WireRound[] = [p.k === 64 ? { u64: [p.n] } : { bits: [p.n * p.k] }];
  const nodeBits = p.f.reduce((t, f) => t + borrowNodeBits(f.s), 0),
    withS = p.f.filter((f) => f.s > 0).length;
  if (nodeBits > 0) out.push({ bits: [p.n * nodeBits] });
  if (withS > 0 && p.spec) out.push({ bits: [p.n * withS], u64: [p.n * fixCount(p, true)] });
  else {
    if (withS > 0) out.push({ bits: [p.n * withS] });
    out.push({ u64: [p.n * fixCount(p, false)] });
  }
  return out;
}

/** A field's tables as float64 (exact: |values| < 2^40, at most 2^12 terms). */
const asFloat = (t: BigInt64Array | undefined, W: number): Float64Array =>
  t ? Float64Array.from(t, Number) : new Float64Array(W);

/**
 * Step 3, locally: this party's share of σ·a[d] + x̂_l·σ·b[d] (plus ρ1) and σ·b[d] (plus ρ2) for
 * field q under branch a, for every element, or only those whose β̂ chose a (`alpha`).
 */
function fixValues(
  ctx: PartyCtx,
  mat: Material,
  fd: XlutField,
  q: number,
  a: number,
  xh: BigUint64Array,
  alpha?: Uint8Array,
): { z: BigUint64Array; b?: BigUint64Array } {
  const n = xh.length,
    W = 1 << fd.w,
    per = bytesPer(fd.w),
    S = BigInt(fd.s),
    sign = ctx.me === 0 ? -1 : 1;
  const bits = mat.xor(`x${a}_${q}`),
    ta = asFloat(fd.table.a, W),
    tb = asFloat(fd.table.b, W),
    lin = fd.table.b !== undefined;
  const z = new BigUint64Array(n),
    b = new BigUint64Array(lin ? n : 0),
    zm = mat.ring(`z${a}_${q}`),
    ym = lin ? mat.ring(`y${a}_${q}`) : undefined;
  for (let i = 0; i < n; i++) {
    if (alpha && alpha[i] !== a) continue;
    const d = Number((xh[i]! >> S) & BigInt(W - 1));
    let accA = 0,
      accB = 0;
    for (let t = 0; t < per; t++) {
      for (let v = bits[i * per + t]!; v !== 0; v &= v - 1) {
        const j = (d - (8 * t + 31 - Math.clz32(v & -v))) & (W - 1);
        accA += ta[j]!;
        accB += tb[j]!;
      }
    }
    const B = BigInt(sign * accB);
    z[i] = BigInt(sign * accA) + (xh[i]! & ((1n << S) - 1n)) * B + zm[i]!;
    if (ym) b[i] = B + ym[i]!;
  }
  return lin ? { z, b } : { z };
}

/** Step 4, locally: out = σ·Ẑ − σρ1 − σK·B̂ + σKρ2 for the branch each element took. */
function output(
  mat: Material,
  q: number,
  alpha: Uint8Array | undefined,
  zh: BigUint64Array[],
  bh?: BigUint64Array[],
): BigUint64Array {
  const n = zh[0]!.length,
    out = new BigUint64Array(n),
    m = (name: string, a: number) => mat.ring(`${name}${a}_${q}`);
  for (let i = 0; i < n; i++) {
    const a = alpha ? alpha[i]! : 0;
    let v = m('sg', a)[i]! * zh[a]![i]! - m('sz', a)[i]!;
    if (bh) v += m('sky', a)[i]! - m('sk', a)[i]! * bh[a]![i]!;
    out[i] = v;
  }
  return out;
}

/** Both branches' values of every field (`spec`), or each element's chosen branch (α known). */
function candidates(
  ctx: PartyCtx,
  mat: Material,
  fs: readonly XlutField[],
  xh: BigUint64Array,
  alphaOf: (q: number) => Uint8Array | undefined,
  both: boolean,
): BigUint64Array[] {
  const out: BigUint64Array[] = [];
  fs.forEach((fd, q) => {
    const alpha = alphaOf(q);
    if (both || !alpha) {
      for (const a of branchesOf(fd)) {
        const v = fixValues(ctx, mat, fd, q, a, xh);
        out.push(v.z, ...(v.b ? [v.b] : []));
      }
      return;
    }
    const [v0, v1] = [0, 1].map((a) => fixValues(ctx, mat, fd, q, a, xh, alpha));
    const pick = (u: BigUint64Array, w: BigUint64Array) => u.map((x, i) => (alpha[i] ? w[i]! : x));
    out.push(pick(v0!.z, v1!.z), ...(v0!.b ? [pick(v0!.b, v1!.b!)] : []));
  });
  return out;
}

/** Splits the opened fix values back per field: [branch] → values (chosen-branch values fill both slots). */
function outputs(
  mat: Material,
  fs: readonly XlutField[],
  opened: BigUint64Array,
  alphaOf: (q: number) => Uint8Array | undefined,
  both: boolean,
): BigUint64Array[] {
  const n =
    opened.length /
    fs.reduce((t, f, q) => t + (both || !alphaOf(q) ? branchesOf(f).length : 1) * (f.table.b ? 2 : 1), 0);
  let at = 0;
  const next = () => opened.subarray(n * at, n * ++at);
  return fs.map((f, q) => {
    const lin = f.table.b !== undefined,
      zs: BigUint64Array[] = [],
      bs: BigUint64Array[] = [];
    for (const _ of both || !alphaOf(q) ? branchesOf(f) : [0]) {
      zs.push(next());
      if (lin) bs.push(next());
    }
    if (zs.length === 1) (zs.push(zs[0]!), bs.push(...bs));
    return output(mat, q, alphaOf(q), zs, lin ? bs : undefined);
  });
}

async function secure(ctx: PartyCtx, mat: Material, x: BigUint64Array, o: XlutOpts): Promise<BigUint64Array[]> {
  const n = x.length,
    fs = o.fields,
    spec = o.spec ?? false;
  // 1. open x̂ = x + r mod 2^k
  const [xh] = await open(ctx, 'xlut.open', [{ low: addInto(new BigUint64Array(n), x, mat.ring('r')), k: o.k }]);
  // 2. borrows of the fields with s > 0
  const withS = fs.map((f, q) => ({ s: f.s, q })).filter((f) => f.s > 0);
  const beta = await borrows(ctx, mat, xh!, withS, 'xlut.borrow');
  // 3. β̂ = β ⊕ s' (and, speculatively, both branches' fix values)
  let alpha: Uint8Array[] = [],
    fixed: BigUint64Array | undefined;
  const alphaOf = (q: number) => alpha[withS.findIndex((e) => e.q === q)];
  if (withS.length > 0) {
    const sel = new Uint8Array(n * withS.length);
    withS.forEach(({ q }, t) => {
      const sp = mat.xor(`sp${q}`);
      for (let i = 0; i < n; i++) sel[i * withS.length + t] = (beta[t]![i]! ^ sp[i]!) & 1;
    });
    const cand = spec ? [{ ring: concat(candidates(ctx, mat, fs, xh!, () => undefined, true)) }] : [];
    const got = await open(ctx, 'xlut.select', [{ bits: sel }, ...cand]);
    alpha = withS.map((_, t) => Uint8Array.from({ length: n }, (_, i) => got[0]![i * withS.length + t]!));
    fixed = spec ? (got[1] as BigUint64Array) : undefined;
  }
  // 4. the fix round: the chosen branch's values
  if (!fixed) {
    const [v] = await open(ctx, 'xlut.fix', [{ ring: concat(candidates(ctx, mat, fs, xh!, alphaOf, false)) }]);
    fixed = v;
  }
  return outputs(mat, fs, fixed!, alphaOf, spec);
}

function concat(vs: readonly BigUint64Array[]): BigUint64Array {
  const out = new BigUint64Array(vs.reduce((t, v) => t + v.length, 0));
  let at = 0;
  for (const v of vs) out.set(v, (at += v.length) - v.length);
  return out;
}

/** The dealt material against its definition: one-hots at ρ_α, signs from party 0's bits, products. */
function relation(v: Dealt, p: XlutParams): string | undefined {
  for (const [q, f] of p.f.entries()) {
    const bad = borrowRelation(v, q, p.n, f.s) ?? branchRelation(v, p, q);
    if (bad) return bad;
  }
  return undefined;
}

function branchRelation(v: Dealt, p: XlutParams, q: number): string | undefined {
  const f = p.f[q]!,
    per = bytesPer(f.w),
    md = maskDigits(v, p.n, p.k, f.s, f.w, q);
  for (const a of branchesOf(f)) {
    const rho = a ? md.rho1 : md.rho0,
      A = v.party0.xor(`x${a}_${q}`),
      sigma = (i: number) => (bitAt(A, per, i, rho[i]!) ? -1n : 1n);
    const K = (i: number) => md.rl[i]! - (BigInt(a ^ md.s1[i]!) << BigInt(f.s));
    const oneHot = Array.from({ length: p.n * per }, (_, e) => {
      const i = Math.floor(e / per);
      return rho[i]! >> 3 === e % per ? 1 << (rho[i]! & 7) : 0;
    });
    const checks: Array<[string, ArrayLike<bigint | number>, ArrayLike<bigint | number>]> = [
      [`x${a}_${q}`, v.xor(`x${a}_${q}`), oneHot],
      [`sg${a}_${q}`, v.ring(`sg${a}_${q}`), Array.from({ length: p.n }, (_, i) => sigma(i))],
      [
        `sz${a}_${q}`,
        v.ring(`sz${a}_${q}`),
        Array.from({ length: p.n }, (_, i) => sigma(i) * v.ring(`z${a}_${q}`)[i]!),
      ],
    ];
    if (f.lin) {
      const y = v.ring(`y${a}_${q}`);
      checks.push([`sk${a}_${q}`, v.ring(`sk${a}_${q}`), Array.from({ length: p.n }, (_, i) => sigma(i) * K(i))]);
      checks.push([
        `sky${a}_${q}`,
        v.ring(`sky${a}_${q}`),
        Array.from({ length: p.n }, (_, i) => sigma(i) * K(i) * y[i]!),
      ]);
    }
    for (const [name, got, want] of checks) {
      const bad = differs(name, got, want);
      if (bad) return bad;
    }
  }
  return undefined;
}

const rnd = (rng: { int(lo: number, hi: number): number }, W: number, lo: number, hi: number): BigInt64Array =>
  BigInt64Array.from({ length: W }, () => BigInt(rng.int(lo, hi)));

export const XLUT = definePrimitive<XlutOpts, XlutParams>({
  name: 'xlut',
  kind: defineKind({
    name: 'xlut',
    params: XlutParams,
    rounds,
    fields,
    derive: (free, p, _env, share0) => derive(free, p, share0),
  }),
  params: ([x], o) => params(numel(x!.shape), o),
  outputs: (_p, [x], o) => o.fields.map((f) => ({ shape: x!.shape, fracBits: f.table.fracBits })),
  clear: ({ o, xs: [x] }) => lutClear(x!.data, o.k, o.fields),
  secure: (ctx, mat, { o, xs: [x] }) => secure(ctx, mat, x!.data, o),
  relation,
  example: (rng) => {
    const spline = (w: number, s: number): XlutField => ({
      s,
      w,
      table: { a: rnd(rng, 1 << w, -1e9, 1e9), b: rnd(rng, 1 << w, -1e5, 1e5), fracBits: 16 },
    });
    const value = (w: number, s: number): XlutField => ({
      s,
      w,
      table: { a: rnd(rng, 1 << w, -1e9, 1e9), fracBits: 8 },
    });
    const calls: Array<[number, XlutField[], boolean]> = [
      [20, [spline(5, 11), value(4, 16)], false],
      [20, [spline(9, 11)], true],
      [12, [value(3, 0), spline(2, 3)], false],
      [6, [value(6, 0)], false],
      [64, [value(8, 16), spline(12, 4)], true],
    ];
    return {
      inputs: [
        { shape: [40], fracBits: 0, values: Float64Array.from({ length: 40 }, () => rng.int(-(2 ** 20), 2 ** 21)) },
      ],
      program: async (P, [v]) => {
        const out = [];
        for (const [k, f, spec] of calls) out.push(...(await P.xlut(v!, k, f, spec)));
        return out;
      },
    };
  },
});
