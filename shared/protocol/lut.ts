/**
 * Digit look-up tables, piecewise-linear splines and secret index → one-hot, exact.
 *
 * For x read as an integer mod 2^k and each field (s, w): d = ⌊(x mod 2^k)/2^s⌋ mod 2^w and
 * c = x mod 2^s. The field returns either the one-hot e_d (shape [..., 2^w], fracBits 0) or
 * a[d] + b[d]·c for public integer tables a, b (a spline whose segment is the digit d and whose
 * offset is the lower part c). `lutClear` below is the exact function, for every input; callers
 * clip x into [0, 2^k) first so that d and c mean what they want.
 *
 * Kinds: lut. Rounds: 1 when every field has s = 0 (one-hot of a secret index), 2 when s ≤ 4,
 * else 3; +1 when a field's value multiplies another field's output (`times`: that output is
 * opened masked, 8 B per element, and the dealer adds f_α·ry). Online bytes per element per party: k/8 + Σ_fields (2⌈s/4⌉ − 1)/8 [if s > 4] + 1/8 [if s > 0].
 * Dealer bytes to party 1 per element: 8·2^w per one-hot, ×2 when s > 0, ×2 again with a slope
 * (+ 2⌈s/4⌉ + 4 for the borrow); see corr/kinds/lut.ts.
 *
 * Protocol:
 *  1. Open x̂ = x + r mod 2^k (k bits; uniform r hides x).
 *  2. For s > 0: XOR shares of the borrow β = [x̂_l < r_l] over the low s bits (4-bit blocks from
 *     the dealer's monomial vectors; for s > 4 one prefix node whose inputs are opened under fresh
 *     mask bits, as in protocol/trunc.ts).
 *  3. Open β̂ = β ⊕ s' (s' a dealer bit: β̂ is uniform). Then d = x̂_h − r_h − β, so
 *     e_d[j] = f_β̂[(x̂_h − j) mod 2^w] for the dealer's one-hots f_0 = e[r_h + s'], f_1 = e[r_h + 1 − s'],
 *     and c = x̂_l − K_β̂ with K_α = r_l − 2^s(α ⊕ s'), so b[d]·c needs only g_α = K_α·f_α.
 *     Output = Σ_j f_β̂[x̂_h − j]·(a[j] + b[j]·x̂_l) − Σ_j b[j]·g_β̂[x̂_h − j]  (local, linear).
 * Reference: the rotated one-hot is the standard dealer-assisted LUT (as in FSS-free 2PC LUTs);
 * deriving several digits and the borrow from one opening is this project's (docs/protocols.md).
 */
import { invariant } from '../util/errors.js';
import { BLOCK4, parity32 } from '../ring/bit-tables.js';
import { LUT, blockOf, lutBorrow, type LutParams } from '../corr/kinds/index.js';
import type { Share } from '../ring/tensor.js';
import type { PartyCtx } from './ctx.js';
import type { WireRound } from './wire.js';
import { addLow, lowPart, maskLowInto } from './open-bits.js';
import { openBits } from './open.js';

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
  /**
   * Index of another (plain) field: this field returns a[d] · (that field's output), at the sum of
   * both scales. Costs one more round that opens the other output masked (8 B per element).
   */
  times?: number;
}

/** Output scale of field q (0 for a one-hot). */
export function lutOutFrac(fields: readonly LutField[], q: number): number {
  const f = fields[q]!;
  if (!f.table) return 0;
  return f.times === undefined ? f.table.fracBits : f.table.fracBits + fields[f.times]!.table!.fracBits;
}

export function lutParams(n: number, k: number, fields: readonly LutField[]): LutParams {
  for (const f of fields) {
    const W = 1 << f.w;
    invariant(!f.table || (f.table.a.length === W && (!f.table.b || f.table.b.length === W)), 'E_SHAPE', `lut table must have 2^${f.w} entries`);
  }
  for (const f of fields) {
    invariant(f.times === undefined || (f.table && !f.table.b && fields[f.times]?.table && fields[f.times]!.times === undefined), 'E_INTERNAL',
      'a lut product field needs a plain table and must multiply another plain table field');
  }
  return { n, k, f: fields.map((f) => ({ s: f.s, w: f.w, lin: f.table?.b !== undefined, ...(f.times !== undefined ? { times: f.times } : {}) })) };
}

/** Wire parts per round (declared cost). */
export function lutRounds(p: LutParams): WireRound[] {
  const rounds: WireRound[] = [p.k === 64 ? { u64: [p.n] } : { bits: [p.n * p.k] }];
  const nodeBits = p.f.reduce((t, f) => t + (lutBorrow(f.s).node ? 2 * Math.ceil(f.s / 4) - 1 : 0), 0);
  const withS = p.f.filter((f) => f.s > 0).length;
  if (nodeBits > 0) rounds.push({ bits: [p.n * nodeBits] });
  if (withS > 0) rounds.push({ bits: [p.n * withS] });
  const products = p.f.filter((f) => f.times !== undefined).length;
  if (products > 0) rounds.push({ u64: Array(products).fill(p.n) });
  return rounds;
}

/** The exact ring function: per field, the one-hot of d or a[d] + b[d]·c (n·2^w or n values). */
export function lutClear(x: BigUint64Array, k: number, fields: readonly LutField[]): BigUint64Array[] {
  const xm = maskLowInto(x.slice(), k);
  const outs = fields.map((f) => {
    const W = 1 << f.w, S = BigInt(f.s), out = new BigUint64Array(f.table ? x.length : x.length * W);
    for (let i = 0; i < x.length; i++) {
      const d = Number((xm[i]! >> S) & BigInt(W - 1)), c = xm[i]! & ((1n << S) - 1n);
      if (!f.table) out[i * W + d] = 1n;
      else out[i] = BigInt(f.table.a[d]!) + (f.table.b ? BigInt(f.table.b[d]!) * c : 0n);
    }
    return out;
  });
  fields.forEach((f, q) => {
    if (f.times === undefined) return;
    const y = outs[f.times]!, o = outs[q]!;
    for (let i = 0; i < o.length; i++) o[i] = o[i]! * y[i]!;
  });
  return outs;
}

function u16(b: Uint8Array): Uint16Array {
  return b.byteOffset % 2 === 0 ? new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2) : new Uint16Array(b.slice().buffer);
}
function u32(b: Uint8Array): Uint32Array {
  return b.byteOffset % 4 === 0 ? new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4) : new Uint32Array(b.slice().buffer);
}

export async function lutS(ctx: PartyCtx, x: Share, k: number, fields: readonly LutField[]): Promise<BigUint64Array[]> {
  const n = x.data.length, first = ctx.me === 0;
  const p = lutParams(n, k, fields);
  const mat = await ctx.corr.take(LUT, p);
  const r = mat.ring('r');

  // 1. open x̂ = x + r mod 2^k
  const xr = new BigUint64Array(n);
  for (let i = 0; i < n; i++) xr[i] = x.data[i]! + r[i]!;
  const [got] = await ctx.exchange('lut.open', [lowPart(xr, k)]);
  const xh = addLow(xr, got!, k), xw = new Uint32Array(xh.buffer, xh.byteOffset, 2 * n);

  // 2. borrow shares per field with s > 0; one node round for the fields with s > 4
  const withS = fields.map((f, q) => ({ f, q })).filter(({ f }) => f.s > 0);
  const beta = withS.map(() => new Uint8Array(n));
  const nodes = withS.map(({ f }) => lutBorrow(f.s));
  const nodeBits = nodes.reduce((t, b) => t + (b.node ? b.node.spec.inputs : 0), 0);
  const inNode = new Uint8Array(n * nodeBits);
  withS.forEach(({ q }, t) => {
    const { nb, blockBits, node } = nodes[t]!, mon = u16(mat.xor(`mon${q}`)), m = node ? mat.xor(`m${q}`) : undefined;
    const off = nodes.slice(0, t).reduce((a, b) => a + (b.node ? b.node.spec.inputs : 0), 0);
    for (let i = 0; i < n; i++) {
      let G = 0, E = 0;
      for (let b = 0; b < nb; b++) {
        const v = blockOf(xw[2 * i]!, xw[2 * i + 1]!, b, blockBits[b]!), mb = mon[i * nb + b]!;
        G |= parity32(BLOCK4.anfLt[v]! & mb) << b;
        E |= parity32(BLOCK4.anfEq[v]! & mb) << b;
      }
      if (!node) { beta[t]![i] = G & 1; continue; }
      const byte = (G | ((E >>> 1) << nb)) ^ m![i]!; // inputs G_0..G_{nb−1}, E_1..E_{nb−1}
      for (let b = 0; b < node.spec.inputs; b++) inNode[i * nodeBits + off + b] = (byte >>> b) & 1;
    }
  });
  if (nodeBits > 0) {
    const [u] = await openBits(ctx, 'lut.borrow', [inNode]);
    let off = 0;
    withS.forEach(({ q }, t) => {
      const node = nodes[t]!.node;
      if (!node) return;
      const mm = u32(mat.xor(`mm${q}`)), ni = node.spec.inputs;
      for (let i = 0; i < n; i++) {
        let v = 0;
        for (let b = 0; b < ni; b++) v |= u![i * nodeBits + off + b]! << b;
        beta[t]![i] = parity32(node.coefXor[v]! & mm[i]!) ^ (first ? node.constant[v]! : 0);
      }
      off += ni;
    });
  }

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
  const outs = fields.map((f, q) => evaluate(mat, q, f, xh, withS.findIndex((e) => e.q === q), alpha));

  // 4. product fields: open y + ry for the multiplied outputs, then a[d]·y = Σ_j a[j]·(f_β̂·ŷ − f_β̂·ry)[x̂_h − j]
  const prodQ = fields.map((f, q) => (f.times !== undefined ? q : -1)).filter((q) => q >= 0);
  if (prodQ.length > 0) {
    const yr = prodQ.map((q) => {
      const ry = mat.ring(`ry${q}`), y = outs[fields[q]!.times!]!, v = new BigUint64Array(n);
      for (let i = 0; i < n; i++) v[i] = y[i]! + ry[i]!;
      return v;
    });
    const got = await ctx.exchange('lut.times', yr.map((d) => ({ kind: 'u64' as const, data: d })));
    prodQ.forEach((q, t) => {
      const part = got[t]!;
      invariant(part.kind === 'u64' && part.data.length === n, 'E_PROTOCOL', 'lut: product part');
      const yh = yr[t]!.map((v, i) => v + part.data[i]!);
      outs[q] = product(mat, q, fields[q]!, xh, withS.findIndex((e) => e.q === q), alpha, yh);
    });
  }
  return outs;
}

function product(mat: Awaited<ReturnType<PartyCtx['corr']['take']>>, q: number, f: LutField, xh: BigUint64Array, t: number, alpha: Uint8Array[], yh: BigUint64Array): BigUint64Array {
  const n = xh.length, W = 1 << f.w, S = BigInt(f.s), wMask = BigInt(W - 1);
  const f0 = mat.ring(`f0_${q}`), f1 = f.s > 0 ? mat.ring(`f1_${q}`) : f0, h0 = mat.ring(`h0_${q}`), h1 = f.s > 0 ? mat.ring(`h1_${q}`) : h0;
  const out = new BigUint64Array(n), coef = new BigUint64Array(W);
  for (let i = 0; i < n; i++) {
    const a = t >= 0 ? alpha[t]![i]! : 0, fa = a ? f1 : f0, ha = a ? h1 : h0, base = i * W, y = yh[i]!;
    const xhi = Number((xh[i]! >> S) & wMask);
    for (let j = 0; j < W; j++) coef[(xhi - j) & (W - 1)] = BigInt(f.table!.a[j]!);
    out[i] = 0n;
    for (let u = 0; u < W; u++) out[i] = out[i]! + coef[u]! * (fa[base + u]! * y - ha[base + u]!);
  }
  return out;
}

function evaluate(mat: Awaited<ReturnType<PartyCtx['corr']['take']>>, q: number, f: LutField, xh: BigUint64Array, t: number, alpha: Uint8Array[]): BigUint64Array {
  const n = xh.length, W = 1 << f.w, S = BigInt(f.s), lowMask = (1n << S) - 1n, wMask = BigInt(W - 1);
  const f0 = mat.ring(`f0_${q}`), f1 = f.s > 0 ? mat.ring(`f1_${q}`) : f0;
  const lin = f.table?.b !== undefined, g0 = lin ? mat.ring(`g0_${q}`) : f0, g1 = lin ? mat.ring(`g1_${q}`) : f0;
  const out = new BigUint64Array(f.table ? n : n * W), coef = new BigUint64Array(W), slope = new BigUint64Array(W);
  for (let i = 0; i < n; i++) {
    const a = t >= 0 ? alpha[t]![i]! : 0, fa = a ? f1 : f0, ga = a ? g1 : g0, base = i * W;
    const xl = xh[i]! & lowMask, xhi = Number((xh[i]! >> S) & wMask);
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
