/**
 * Bounded multi-threshold comparison with fused select: for public thresholds t_j,
 * b_j = [x ≥ t_j] ('ge') or [x = t_j] ('eq'), b_j·(x − t_j) ("self" payloads) and b_j·y_p.
 * Exact and deterministic: the function computed is `cmpkClear` below, for every input.
 *
 * Precondition (for the result to mean what it says): every x − t_j lies in
 * [−2^(k−1), 2^(k−1)) for the width k. Outside it the result is that of x − t_j wrapped to k bits
 * (still deterministic, and still bit-identical to the emulation).
 *
 * Kinds: cmpk. Rounds: 4 (3 when k ≤ 17 in 'ge' / k ≤ 16 in 'eq', or k ≤ 33 with 8-bit blocks;
 * 2 when one block suffices).
 * Online bytes per element per party: k/8 (x̂) + 8 per external payload, and per threshold
 *   ⌈bits of the L1 nodes⌉ + top node + 1 select bit; 'ge' k = 32: 4 + 2 + 3/8 + 1/8 = 6.5;
 *   k = 64: 13 (as protocol/compare.ts). Dealer bytes to party 1: see corr/kinds/compare-k.ts.
 *
 * Protocol (z_j = x − t_j, ẑ'_j = x̂ − t_j + 2^(k−1) mod 2^k in 'ge', ẑ_j = x̂ − t_j in 'eq'):
 *  1. Open x̂ = x + r mod 2^k (k bits: shares reduced mod 2^k are shares mod 2^k) and
 *     ŷ_p = y_p + ry_p. Uniform r makes both uniform.
 *  2. Per 4-bit block (8-bit in the one-node variant), XOR shares of G = [ẑ_blk < r_blk] and E = [ẑ_blk = r_blk] from the dealer's
 *     monomial vectors (ring/bit-tables.ts). L1 nodes combine ≤ 4 blocks (prefix "less than",
 *     or AND of E for 'eq'); their input bits are opened under fresh dealer mask bits.
 *  3. A top node combines ≤ 4 L1 outputs the same way (inputs opened under fresh masks).
 *     'ge': b = MSB(z'_j) = ẑ'_{k−1} ⊕ r_{k−1} ⊕ [ẑ'_low < r_low]; 'eq': b = AND of all blocks.
 *  4. Open b̂ = b ⊕ s (s a dealer bit with arithmetic shares sA): b = b̂ + (1 − 2b̂)·s.
 *     b·y = b̂ ? y − s·y : s·y with s·y = sA·ŷ − s·ry (dealer). Self payload, k < 64:
 *     z = ẑ' − 2^(k−1) − r_k + 2^k·w with the wrap w = [ẑ' < r_k]; b·w = (ẑ'_{k−1} ? r_{k−1}·b : b),
 *     so b·z needs only dealer products s·r_k, r_{k−1}, r_{k−1}·s. For k = 64, z = ẑ − r.
 * Every opened value is masked by fresh uniform dealer randomness, so nothing depends on x.
 * Reference: the block/monomial tree is that of protocol/compare.ts; thresholds sharing one
 * opening and the bounded width are this project's (docs/protocols.md).
 */
import { invariant } from '../util/errors.js';
import { CMPK, blockOf, cmpkPlan, type CmpkParams } from '../corr/kinds/index.js';
import { BLOCK4, BLOCK8, parity32, type NodeTables } from '../ring/bit-tables.js';
import type { Share } from '../ring/tensor.js';
import type { PartyCtx } from './ctx.js';
import type { WireRound } from './wire.js';
import { addLow, lowPart, maskLowInto } from './open-bits.js';
import { openBits } from './open.js';

export interface CmpkResolved {
  width: number;
  /** Block bits: 4, or 8 for the one-node variant (width ≤ 33; one round less, more dealer bytes). */
  bb: 4 | 8;
  /** Thresholds as ring integers at x's scale. */
  thr: readonly bigint[];
  eq: boolean;
  self: readonly number[];
}

export function cmpkParams(n: number, o: CmpkResolved, py: number): CmpkParams {
  return { n, width: o.width, nt: o.thr.length, eq: o.eq, self: [...o.self], py, ...(o.bb === 8 ? { bb: 8 as const } : {}) };
}

/** Wire parts per round (declared cost; protocol/cost.ts turns it into bytes). */
export function cmpkRounds(p: CmpkParams): WireRound[] {
  const pl = cmpkPlan(p.width, p.eq, p.bb ?? 4), m = p.n * p.nt;
  const open: WireRound = p.width === 64 ? { u64: [p.n, ...Array(p.py).fill(p.n)] } : { bits: [p.n * p.width], u64: Array(p.py).fill(p.n) };
  const rounds = [open];
  if (pl.nb > 1) rounds.push({ bits: [m * pl.l1Bits.reduce((a, b) => a + b, 0)] });
  if (pl.top) rounds.push({ bits: [m * pl.topBits] });
  rounds.push({ bits: [m] });
  return rounds;
}

export interface CmpkRaw {
  /** n·nt bits, element-major (index i·nt + j). */
  bits: BigUint64Array;
  self: BigUint64Array[];
  /** Per payload, n·nt products, element-major. */
  prods: BigUint64Array[];
}

/** The exact ring function (the emulation): wrap x − t_j to k bits, read as signed. */
export function cmpkClear(x: BigUint64Array, o: CmpkResolved, ys: readonly BigUint64Array[]): CmpkRaw {
  const n = x.length, nt = o.thr.length, k = o.width;
  const bits = new BigUint64Array(n * nt), self = o.self.map(() => new BigUint64Array(n)), prods = ys.map(() => new BigUint64Array(n * nt));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < nt; j++) {
      const z = BigInt.asIntN(k, x[i]! - o.thr[j]!);
      const b = o.eq ? z === 0n : z >= 0n;
      if (!b) continue;
      bits[i * nt + j] = 1n;
      prods.forEach((p, q) => { p[i * nt + j] = ys[q]![i]!; });
      o.self.forEach((sj, q) => { if (sj === j) self[q]![i] = BigInt.asUintN(64, z); });
    }
  }
  return { bits, self, prods };
}

function u32(b: Uint8Array): Uint32Array {
  return b.byteOffset % 4 === 0 ? new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4) : new Uint32Array(b.slice().buffer);
}
function u16(b: Uint8Array): Uint16Array {
  return b.byteOffset % 2 === 0 ? new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2) : new Uint16Array(b.slice().buffer);
}

/** XOR output o of a node for opened byte u (party 0 adds the public constant). */
function nodeOut(t: NodeTables, o: number, u: number, mm: number, first: boolean): number {
  const at = (o << t.spec.inputs) + u;
  return parity32(t.coefXor[at]! & mm) ^ (first ? t.constant[at]! : 0);
}

function putBits(dst: Uint8Array, off: number, v: number, count: number): void {
  for (let b = 0; b < count; b++) dst[off + b] = (v >>> b) & 1;
}
function getBits(src: Uint8Array, off: number, count: number): number {
  let v = 0;
  for (let b = 0; b < count; b++) v |= (src[off + b]! & 1) << b;
  return v;
}

/** Steps 2–3: XOR shares of the low comparison (or equality) for every (element, threshold). */
async function tree(ctx: PartyCtx, mat: Awaited<ReturnType<PartyCtx['corr']['take']>>, p: CmpkParams, zh: BigUint64Array): Promise<Uint8Array> {
  const pl = cmpkPlan(p.width, p.eq, p.bb ?? 4), m = p.n * p.nt, n1 = pl.l1.length, first = ctx.me === 0;
  const zw = new Uint32Array(zh.buffer, zh.byteOffset, 2 * m);
  const mon16 = pl.bb === 4 ? u16(mat.xor('mon')) : undefined, mon32 = pl.bb === 8 ? u32(mat.xor('mon')) : undefined;
  const G = new Uint8Array(pl.nb), E = new Uint8Array(pl.nb), low = new Uint8Array(m);
  const blocks = (e: number): void => {
    const i = Math.floor(e / p.nt), lo = zw[2 * e]!, hi = zw[2 * e + 1]!;
    for (let b = 0; b < pl.nb; b++) {
      const v = blockOf(lo, hi, b, pl.blockBits[b]!, pl.bb);
      if (mon16) {
        const mb = mon16[i * pl.nb + b]!;
        if (!p.eq) G[b] = parity32(BLOCK4.anfLt[v]! & mb);
        E[b] = parity32(BLOCK4.anfEq[v]! & mb);
        continue;
      }
      const base = (i * pl.nb + b) * 8;
      let g = 0, q = 0;
      for (let k = 0; k < 8; k++) {
        const mk = mon32![base + k]!;
        g ^= BLOCK8.anfLt[v * 8 + k]! & mk;
        q ^= BLOCK8.anfEq[v * 8 + k]! & mk;
      }
      G[b] = parity32(g);
      E[b] = parity32(q);
    }
  };
  if (pl.nb === 1) {
    for (let e = 0; e < m; e++) { blocks(e); low[e] = p.eq ? E[0]! : G[0]!; }
    return low;
  }
  const per1 = pl.l1Bits.reduce((a, b) => a + b, 0), in1 = new Uint8Array(m * per1), m1 = mat.xor('m1');
  for (let e = 0; e < m; e++) {
    blocks(e);
    let off = e * per1;
    for (let g = 0; g < n1; g++) {
      const c = pl.l1Children[g]!, b0 = 4 * g;
      let byte = 0;
      for (let t = 0; t < c; t++) {
        if (p.eq) byte |= E[b0 + t]! << t;
        else { byte |= G[b0 + t]! << t; if (t > 0) byte |= E[b0 + t]! << (c + t - 1); }
      }
      if (!p.eq && pl.l1Bits[g] === 2 * c) byte |= E[b0]! << (2 * c - 1);
      putBits(in1, off, byte ^ m1[e * n1 + g]!, pl.l1Bits[g]!);
      off += pl.l1Bits[g]!;
    }
  }
  const [u1] = await openBits(ctx, 'cmpk.l1', [in1]);
  const mm1 = u32(mat.xor('mm1'));
  const top = pl.top, in2 = new Uint8Array(top ? m * pl.topBits : 0), m2 = top ? mat.xor('m2') : undefined;
  for (let e = 0; e < m; e++) {
    let off = e * per1, byte = 0;
    for (let g = 0; g < n1; g++) {
      const t = pl.l1[g]!, u = getBits(u1!, off, pl.l1Bits[g]!), mm = mm1[e * n1 + g]!;
      off += pl.l1Bits[g]!;
      const out0 = nodeOut(t, 0, u, mm, first);
      if (!top) { low[e] = out0; continue; }
      byte |= out0 << g;
      if (!p.eq && g > 0) byte |= nodeOut(t, 1, u, mm, first) << (n1 + g - 1);
    }
    if (top) putBits(in2, e * pl.topBits, byte ^ m2![e]!, pl.topBits);
  }
  if (!top) return low;
  const [u2] = await openBits(ctx, 'cmpk.top', [in2]);
  const mm2 = u32(mat.xor('mm2'));
  for (let e = 0; e < m; e++) low[e] = nodeOut(top, 0, getBits(u2!, e * pl.topBits, pl.topBits), mm2[e]!, first);
  return low;
}

export async function cmpkS(ctx: PartyCtx, x: Share, o: CmpkResolved, ys: readonly Share[]): Promise<CmpkRaw> {
  const n = x.data.length, nt = o.thr.length, k = o.width, m = n * nt, first = ctx.me === 0;
  invariant(!o.eq || o.self.length === 0, 'E_INTERNAL', 'equality tests take no self payload');
  const p = cmpkParams(n, o, ys.length);
  const mat = await ctx.corr.take(CMPK, p);
  const r = mat.ring('r');

  // 1. open x̂ = x + r mod 2^k and ŷ_p = y_p + ry_p
  const xr = new BigUint64Array(n);
  for (let i = 0; i < n; i++) xr[i] = x.data[i]! + r[i]!;
  const yr = ys.map((y, q) => {
    const ry = mat.ring(`ry${q}`), v = new BigUint64Array(n);
    for (let i = 0; i < n; i++) v[i] = y.data[i]! + ry[i]!;
    return v;
  });
  const got = await ctx.exchange('cmpk.open', [lowPart(xr, k), ...yr.map((d) => ({ kind: 'u64' as const, data: d }))]);
  const xh = addLow(xr, got[0]!, k);
  const yh = yr.map((v, q) => {
    const t = got[q + 1]!;
    invariant(t.kind === 'u64' && t.data.length === n, 'E_PROTOCOL', 'cmpk: payload part');
    const out = new BigUint64Array(n);
    for (let i = 0; i < n; i++) out[i] = v[i]! + t.data[i]!;
    return out;
  });

  // 2-3. per (element, threshold) masked value, then the block tree
  const off = o.eq ? 0n : 1n << BigInt(k - 1), zh = new BigUint64Array(m);
  for (let i = 0; i < n; i++) for (let j = 0; j < nt; j++) zh[i * nt + j] = xh[i]! - o.thr[j]! + off;
  maskLowInto(zh, k);
  const low = await tree(ctx, mat, p, zh);

  // 4. b = low ⊕ r_{k−1} ⊕ ẑ'_{k−1} ('ge'), opened under s
  const zw = new Uint32Array(zh.buffer, zh.byteOffset, 2 * m), topBit = (e: number): number =>
    k - 1 < 32 ? (zw[2 * e]! >>> (k - 1)) & 1 : (zw[2 * e + 1]! >>> (k - 33)) & 1;
  const s = mat.xor('s'), rho = o.eq ? undefined : mat.xor('rho'), bm = new Uint8Array(m);
  for (let e = 0; e < m; e++) {
    let b = low[e]!;
    if (rho) b ^= (rho[Math.floor(e / nt)]! & 1) ^ (first ? topBit(e) : 0);
    bm[e] = (b ^ s[e]!) & 1;
  }
  const [bh] = await openBits(ctx, 'cmpk.select', [bm]);
  return outputs(ctx, mat, o, x, ys, { xh, yh, zh, bh: bh!, topBit });
}

function outputs(ctx: PartyCtx, mat: Awaited<ReturnType<PartyCtx['corr']['take']>>, o: CmpkResolved, x: Share, ys: readonly Share[],
  v: { xh: BigUint64Array; yh: BigUint64Array[]; zh: BigUint64Array; bh: Uint8Array; topBit: (e: number) => number }): CmpkRaw {
  const n = x.data.length, nt = o.thr.length, k = o.width, first = ctx.me === 0, ns = o.self.length;
  const sA = mat.ring('sA'), bits = new BigUint64Array(n * nt);
  for (let e = 0; e < n * nt; e++) bits[e] = v.bh[e] ? (first ? 1n : 0n) - sA[e]! : sA[e]!;
  const self = o.self.map((j, q) => {
    const out = new BigUint64Array(n);
    if (k === 64) {
      const r = mat.ring('r'), sr = mat.ring('sr'), h = 1n << 63n;
      for (let i = 0; i < n; i++) {
        const e = i * nt + j, srq = sr[i * ns + q]!;
        out[i] = (v.zh[e]! - h) * bits[e]! - (v.bh[e] ? r[i]! - srq : srq);
      }
      return out;
    }
    const rk = mat.ring('rk'), rhoA = mat.ring('rhoA'), srk = mat.ring('srk'), rhos = mat.ring('rhos');
    const H = 1n << BigInt(k - 1), K = 1n << BigInt(k);
    for (let i = 0; i < n; i++) {
      const e = i * nt + j, a = i * ns + q, bh = v.bh[e]!;
      const br = bh ? rk[i]! - srk[a]! : srk[a]!;
      const bw = v.topBit(e) ? (bh ? rhoA[i]! - rhos[a]! : rhos[a]!) : bits[e]!;
      out[i] = (v.zh[e]! - H) * bits[e]! - br + K * bw;
    }
    return out;
  });
  const prods = ys.map((y, q) => {
    const sry = mat.ring(`sry${q}`), yh = v.yh[q]!, out = new BigUint64Array(n * nt);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < nt; j++) {
        const e = i * nt + j, sy = sA[e]! * yh[i]! - sry[e]!;
        out[e] = v.bh[e] ? y.data[i]! - sy : sy;
      }
    }
    return out;
  });
  return { bits, self, prods };
}

/** Wraps raw outputs as tensors: bits [...x.shape, nt] (fracBits 0), self at x's scale, prods [...y.shape, nt]. */
export function cmpkTensors<T>(make: (shape: readonly number[], d: BigUint64Array, f: number) => T, x: { shape: readonly number[]; fracBits: number },
  ys: ReadonlyArray<{ fracBits: number }>, nt: number, raw: CmpkRaw): { bits: T; self: T[]; prods: T[] } {
  return {
    bits: make([...x.shape, nt], raw.bits, 0),
    self: raw.self.map((d) => make(x.shape, d, x.fracBits)),
    prods: raw.prods.map((d, q) => make([...x.shape, nt], d, ys[q]!.fracBits)),
  };
}

