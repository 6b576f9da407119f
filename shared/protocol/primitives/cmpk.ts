/**
 * cmpK: bounded multi-threshold comparison with fused select. For public thresholds t_j:
 * b_j = [x ≥ t_j] ('ge') or [x = t_j] ('eq'), b_j·(x − t_j) ("self" payloads) and b_j·y_p.
 * Exact and deterministic: the function computed is `clear` below, for every input.
 *
 * Precondition (for the result to mean what it says): every x − t_j lies in [−2^(k−1), 2^(k−1))
 * for the width k. Outside it the result is that of x − t_j wrapped to k bits (still
 * deterministic, and still bit-identical to the emulation).
 *
 * Kind `cmpk`: one mask r opened as x̂ = x + r mod 2^k serves every threshold, so the monomial
 * vectors of r's blocks are dealt once per element and only the tree nodes and the select bit
 * are per threshold (block-tree.ts). Fields per element (nt thresholds, ns self payloads, py
 * external payloads): r, rho = r_{k−1} ('ge'), mon (per block), m1/mm1 (per threshold and L1 node:
 * mask byte, u32 mask monomials), m2/mm2 (top node), s (select bit), sA = s; self payloads, k < 64:
 * rk = r mod 2^k, rhoA = rho, srk = s·rk, rhos = rho·s; k = 64: sr = s·r; payload p: ry_p, sry_p.
 * Dealer bytes to party 1, 'ge', one threshold, no payload: 1 + 2·nb + 4·n1 + 4·[n1>1] + 8
 * (k = 32: 37 B; k = 64: 61 B); variant `bb: 5` (`fewerRounds`, k ≤ 36 'ge', k ≤ 35 'eq'):
 * 5-bit blocks with 4-byte monomial vectors, one XOR node of up to 13 inputs for the whole width
 * (its mask monomials in several u32 words): k = 32: 61 B (8-bit blocks, which block-tree.ts also
 * plans, would take 141 B) for one round less and fewer node bits online.
 * Rounds: 4 (3 when k ≤ 17 in 'ge' / k ≤ 16 in 'eq', or k ≤ 36 with 5-bit blocks; 2 when one block
 * suffices). Online bytes per element per party: k/8 (x̂) + 8 per external payload, and per
 * threshold ⌈bits of the L1 nodes⌉ + top node + 1 select bit; 'ge' k = 32: 4 + 2 + 3/8 + 1/8 = 6.5.
 *
 * Protocol (z_j = x − t_j, ẑ'_j = x̂ − t_j + 2^(k−1) mod 2^k in 'ge', ẑ_j = x̂ − t_j in 'eq'):
 *  1. Open x̂ = x + r mod 2^k (k bits) and ŷ_p = y_p + ry_p. Uniform r makes both uniform.
 *  2. Per block, XOR shares of G = [ẑ_blk < r_blk] and E = [ẑ_blk = r_blk] from the dealer's
 *     monomial vectors. L1 nodes combine ≤ 4 blocks (prefix "less than", or AND of E for 'eq');
 *     their input bits are opened under fresh dealer mask bits.
 *  3. A top node combines ≤ 4 L1 outputs the same way (inputs opened under fresh masks).
 *     'ge': b = MSB(z'_j) = ẑ'_{k−1} ⊕ r_{k−1} ⊕ [ẑ'_low < r_low]; 'eq': b = AND of all blocks.
 *  4. Open b̂ = b ⊕ s (s a dealer bit with arithmetic shares sA): b = b̂ + (1 − 2b̂)·s.
 *     b·y = b̂ ? y − s·y : s·y with s·y = sA·ŷ − s·ry (dealer). Self payload, k < 64:
 *     z = ẑ' − 2^(k−1) − r_k + 2^k·w with the wrap w = [ẑ' < r_k]; b·w = (ẑ'_{k−1} ? r_{k−1}·b : b),
 *     so b·z needs only dealer products s·r_k, r_{k−1}, r_{k−1}·s. For k = 64, z = ẑ − r.
 * Every opened value is masked by fresh uniform dealer randomness, so nothing depends on x.
 * Reference: the block/monomial tree is that of cmp.ts; thresholds sharing one opening and the
 * bounded width are this project's (docs/protocols.md).
 */
import { z } from 'zod';
import { invariant } from '../../util/errors.js';
import type { WireRound } from '../../net/frame.js';
import { Material, defineKind, ring, xor, type FieldSpec } from '../../corr/kind.js';
import { BLOCK4, BLOCK5, maskMonomialWords } from '../../ring/bit-tables.js';
import { encodeScalar } from '../../ring/fixed-point.js';
import { addInto, maskLowInto } from '../../ring/u64.js';
import { numel, type AnyTensor } from '../../ring/tensor.js';
import type { FixedHandle } from '../fixed-mask.js';
import type { Prims } from '../prims/types.js';
import type { PartyCtx } from '../ctx.js';
import { sameShape } from '../shapes.js';
import { definePrimitive, differs, uniformInput, type Dealt } from '../primitive.js';
import { open, openBits } from '../open.js';
import { blockOf, cmpkPlan, nodeMask, tree, u32View, type BlockBits, type CmpkPlan } from './block-tree.js';

/** Options of the comparison (Prims.cmpK adds the payloads). */
export interface CmpkOpts {
  /** Compared width k (2..64): each x − t_j must lie in [−2^(k−1), 2^(k−1)), else it is read wrapped to k bits. */
  readonly width: number;
  /** Public thresholds t_j (reals, encoded at x's scale); default [0]. */
  readonly thresholds?: readonly number[];
  /** [x = t_j] instead of [x ≥ t_j]. */
  readonly eq?: boolean;
  /** Threshold indices j whose b_j·(x − t_j) is returned (not with eq). */
  readonly self?: readonly number[];
  /**
   * For width ≤ 36 ('eq': 35): 5-bit blocks and one tree node — 3 rounds instead of 4 and fewer
   * online bits, for ~24 more dealer bytes per element (k = 32: 61 B against 37). Ignored for wider
   * comparisons.
   */
  readonly fewerRounds?: boolean;
  /**
   * Open x̂ over the whole ring (8 B instead of k/8) though only k bits are compared: the self
   * products b·(x − t) then need one dealer product s·r each (8 B) instead of the wrap's four
   * (32 B). Only meaningful with self payloads and k < 64.
   */
  readonly openFull?: boolean;
}

export const CmpkParams = z.object({
  n: z.number().int().nonnegative(),
  width: z.number().int().min(2).max(64),
  /** Number of public thresholds compared against the same x. */
  nt: z.number().int().positive(),
  eq: z.boolean(),
  /** Threshold indices whose b_j·(x − t_j) is wanted ('ge' only), increasing. */
  self: z.array(z.number().int().nonnegative()),
  /** Number of external payloads y_p (each multiplied by every b_j). */
  py: z.number().int().nonnegative().max(8),
  /** 5-bit blocks (one node, one round less); absent = 4-bit blocks. */
  bb: z.literal(5).optional(),
  /** x̂ opened mod 2^64 (self products from s·r); absent = mod 2^width. */
  full: z.literal(true).optional(),
});
export type CmpkParams = z.infer<typeof CmpkParams>;

/** The options at x's scale: thresholds as ring integers, block width chosen. */
interface Resolved {
  width: number;
  bb: BlockBits;
  /** x̂ opened mod 2^64. */
  full: boolean;
  thr: readonly bigint[];
  eq: boolean;
  self: readonly number[];
}

function resolve(o: CmpkOpts, fracBits: number): Resolved {
  const thr = (o.thresholds ?? [0]).map((t) => encodeScalar(t, fracBits));
  const self = [...(o.self ?? [])];
  invariant(
    self.every((j, i) => Number.isInteger(j) && j >= 0 && j < thr.length && (i === 0 || j > self[i - 1]!)),
    'E_INTERNAL',
    'cmpK: self indices must be increasing threshold indices',
  );
  invariant(!o.eq || self.length === 0, 'E_INTERNAL', 'cmpK: an equality test takes no self payload');
  const eq = o.eq ?? false,
    bb: BlockBits = o.fewerRounds && o.width <= (eq ? 35 : 36) ? 5 : 4;
  return { width: o.width, bb, thr, eq, self, full: (o.openFull ?? false) && self.length > 0 && o.width < 64 };
}

const planOf = (p: CmpkParams): CmpkPlan => cmpkPlan(p.width, p.eq, p.bb ?? 4);
// (block-tree.ts also plans 8-bit blocks; cmpK's one-node variant uses 5-bit ones: 61 B of dealer
// material per comparison at width 32 against 141 B for 8-bit blocks, the same 3 rounds.)

/** Writes the monomial vector of block value ρ at slot `at` (a u16 for 4-bit, a u32 for 5-bit blocks). */
function putMon(mon: Uint16Array | Uint32Array, at: number, rho: number, bb: BlockBits): void {
  mon[at] = (bb === 4 ? BLOCK4 : BLOCK5).subsetInd[rho]!;
}

function fields(p: CmpkParams): FieldSpec[] {
  const pl = planOf(p),
    n1 = pl.l1.length,
    m = p.n * p.nt,
    ns = p.self.length;
  const f: FieldSpec[] = [ring('r', p.n)];
  if (!p.eq) f.push(xor('rho', p.n, true));
  f.push(xor('mon', p.n * pl.nb * pl.monBytes, true));
  if (n1 > 0) f.push(xor('m1', m * pl.maskPer), xor('mm1', m * pl.wordsPer * 4, true));
  if (n1 > 1) f.push(xor('m2', m), xor('mm2', m * 4, true));
  f.push(xor('s', m), ring('sA', m, true));
  if (ns > 0) {
    if (p.width < 64 && !p.full)
      f.push(ring('rk', p.n, true), ring('rhoA', p.n, true), ring('srk', p.n * ns, true), ring('rhos', p.n * ns, true));
    else f.push(ring('sr', p.n * ns, true));
  }
  for (let q = 0; q < p.py; q++) f.push(ring(`ry${q}`, p.n), ring(`sry${q}`, m, true));
  return f;
}

/** The dealer's tree material: rho, the block monomials, sA and the nodes' mask monomials. */
function deriveTree(free: Material, p: CmpkParams, out: Material): { rho: Uint8Array; sA: BigUint64Array } {
  const pl = planOf(p),
    n1 = pl.l1.length,
    nt = p.nt,
    r = free.ring('r'),
    s = free.xor('s');
  const rw = new Uint32Array(r.buffer, r.byteOffset, 2 * p.n),
    rho = new Uint8Array(p.n),
    sA = new BigUint64Array(p.n * nt);
  const mon = pl.bb === 4 ? new Uint16Array(p.n * pl.nb) : new Uint32Array((p.n * pl.nb * pl.monBytes) / 4);
  const mm1 = new Uint32Array(p.n * nt * pl.wordsPer),
    mm2 = new Uint32Array(n1 > 1 ? p.n * nt : 0);
  const m1 = n1 > 0 ? free.xor('m1') : undefined,
    m2 = n1 > 1 ? free.xor('m2') : undefined;
  for (let i = 0; i < p.n; i++) {
    const lo = rw[2 * i]!,
      hi = rw[2 * i + 1]!,
      top = p.width - 1;
    rho[i] = top < 32 ? (lo >>> top) & 1 : (hi >>> (top - 32)) & 1;
    // blocks cover exactly the low `lowBits` bits (bit k−1 is never read in 'ge' mode)
    for (let b = 0; b < pl.nb; b++) putMon(mon, i * pl.nb + b, blockOf(lo, hi, b, pl.blockBits[b]!, pl.bb), pl.bb);
    for (let j = 0; j < nt; j++) {
      const e = i * nt + j;
      sA[e] = BigInt(s[e]! & 1);
      for (let g = 0; g < n1; g++)
        maskMonomialWords(pl.l1[g]!, nodeMask(pl, m1!, e, g), mm1, e * pl.wordsPer + pl.l1WordAt[g]!);
      if (n1 > 1) maskMonomialWords(pl.top!, m2![e]!, mm2, e);
    }
  }
  if (!p.eq) out.set('rho', rho);
  out.set('mon', new Uint8Array(mon.buffer)).set('sA', sA);
  if (n1 > 0) out.set('mm1', new Uint8Array(mm1.buffer));
  if (n1 > 1) out.set('mm2', new Uint8Array(mm2.buffer));
  return { rho, sA };
}

function derive(free: Material, p: CmpkParams): Material {
  invariant(!p.eq || p.self.length === 0, 'E_INTERNAL', 'equality tests take no self payload');
  const out = new Material(),
    { rho, sA } = deriveTree(free, p, out),
    r = free.ring('r'),
    nt = p.nt,
    ns = p.self.length;
  if (ns > 0) {
    const kMask = (1n << BigInt(p.width)) - 1n,
      srk = new BigUint64Array(p.n * ns),
      rhos = new BigUint64Array(p.n * ns);
    const rkA = new BigUint64Array(p.n),
      rhoA = new BigUint64Array(p.n),
      full = p.width === 64 || p.full === true;
    for (let i = 0; i < p.n; i++) {
      rkA[i] = full ? r[i]! : r[i]! & kMask;
      rhoA[i] = BigInt(rho[i]!);
      p.self.forEach((j, q) => {
        srk[i * ns + q] = sA[i * nt + j]! * rkA[i]!;
        rhos[i * ns + q] = sA[i * nt + j]! * rhoA[i]!;
      });
    }
    if (!full) out.set('rk', rkA).set('rhoA', rhoA).set('srk', srk).set('rhos', rhos);
    else out.set('sr', srk);
  }
  for (let q = 0; q < p.py; q++) {
    const ry = free.ring(`ry${q}`),
      sry = new BigUint64Array(p.n * nt);
    for (let i = 0; i < p.n; i++) for (let j = 0; j < nt; j++) sry[i * nt + j] = sA[i * nt + j]! * ry[i]!;
    out.set(`sry${q}`, sry);
  }
  return out;
}

/** Declared cost: the parts each party sends per round. */
function rounds(p: CmpkParams): WireRound[] {
  const pl = planOf(p),
    m = p.n * p.nt;
  const out: WireRound[] = [
    p.width === 64 || p.full
      ? { u64: [p.n, ...Array<number>(p.py).fill(p.n)] }
      : { bits: [p.n * p.width], u64: Array<number>(p.py).fill(p.n) },
  ];
  if (pl.nb > 1) out.push({ bits: [m * pl.l1Bits.reduce((a, b) => a + b, 0)] });
  if (pl.top) out.push({ bits: [m * pl.topBits] });
  out.push({ bits: [m] });
  return out;
}

/**
 * The exact ring function: wrap x − t_j to k bits, read as signed; bits, self and payload products.
 * On 32-bit words (little-endian halves), so that the emulation and the revealed benchmark mode
 * make no BigInt per element.
 */
function clear(o: Resolved, x: BigUint64Array, ys: readonly BigUint64Array[]): BigUint64Array[] {
  const n = x.length,
    nt = o.thr.length,
    k = o.width;
  const bits = new BigUint64Array(n * nt),
    self = o.self.map(() => new BigUint64Array(n)),
    prods = ys.map(() => new BigUint64Array(n * nt));
  const xw = words(x),
    bw = words(bits),
    yw = ys.map(words),
    pw = prods.map(words),
    sw = self.map(words);
  // threshold j's self output (the indices in o.self are distinct), or −1
  const selfOf = new Int32Array(nt).fill(-1);
  o.self.forEach((j, q) => (selfOf[j] = q));
  const tLo = o.thr.map((t) => Number(BigInt.asUintN(32, t))),
    tHi = o.thr.map((t) => Number(BigInt.asUintN(32, t >> 32n)));
  // the k-bit window: each word's mask and where the sign bit is
  const mLo = k >= 32 ? 0xffffffff : 2 ** k - 1,
    mHi = k >= 64 ? 0xffffffff : k > 32 ? 2 ** (k - 32) - 1 : 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < nt; j++) {
      const dl = xw[2 * i]! - tLo[j]!,
        lo = dl >>> 0,
        hi = (xw[2 * i + 1]! - tHi[j]! - (dl < 0 ? 1 : 0)) >>> 0;
      const neg = (k <= 32 ? lo >>> (k - 1) : hi >>> (k - 33)) & 1;
      if (!(o.eq ? (lo & mLo) === 0 && (hi & mHi) === 0 : neg === 0)) continue;
      const e = i * nt + j;
      bw[2 * e] = 1;
      for (let q = 0; q < pw.length; q++) {
        pw[q]![2 * e] = yw[q]![2 * i]!;
        pw[q]![2 * e + 1] = yw[q]![2 * i + 1]!;
      }
      // b = 1 means z ≥ 0 ('ge'): its k low bits are its 64-bit value
      const q = selfOf[j]!;
      if (q >= 0) {
        sw[q]![2 * i] = lo & mLo;
        sw[q]![2 * i + 1] = hi & mHi;
      }
    }
  }
  return [bits, ...self, ...prods];
}

/** The 32-bit words of a u64 array (low word first on little-endian machines, as ring/u64.ts assumes). */
const words = (a: BigUint64Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length * 2);

interface Opened {
  xh: BigUint64Array;
  yh: BigUint64Array[];
  zh: BigUint64Array;
  bh: Uint8Array;
  topBit: (e: number) => number;
}

/** Step 4, locally: b, b·(x − t_j) and b·y_p from the opened select bits. */
function outputs(
  ctx: PartyCtx,
  mat: Material,
  o: Resolved,
  x: BigUint64Array,
  ys: readonly BigUint64Array[],
  v: Opened,
): BigUint64Array[] {
  const n = x.length,
    nt = o.thr.length,
    k = o.width,
    first = ctx.me === 0,
    ns = o.self.length;
  const sA = mat.ring('sA'),
    bits = new BigUint64Array(n * nt);
  for (let e = 0; e < n * nt; e++) bits[e] = v.bh[e] ? (first ? 1n : 0n) - sA[e]! : sA[e]!;
  const self = o.self.map((j, q) => {
    const out = new BigUint64Array(n);
    if (k === 64 || o.full) {
      // b·(x − t) = b·(x̂ − t) − b·r, with b·r = s·r or r − s·r
      const r = mat.ring('r'),
        sr = mat.ring('sr'),
        t = o.thr[j]!;
      for (let i = 0; i < n; i++) {
        const e = i * nt + j,
          srq = sr[i * ns + q]!;
        out[i] = (v.xh[i]! - t) * bits[e]! - (v.bh[e] ? r[i]! - srq : srq);
      }
      return out;
    }
    const rk = mat.ring('rk'),
      rhoA = mat.ring('rhoA'),
      srk = mat.ring('srk'),
      rhos = mat.ring('rhos');
    const H = 1n << BigInt(k - 1),
      K = 1n << BigInt(k);
    for (let i = 0; i < n; i++) {
      const e = i * nt + j,
        a = i * ns + q,
        bh = v.bh[e]!;
      const br = bh ? rk[i]! - srk[a]! : srk[a]!;
      const bw = v.topBit(e) ? (bh ? rhoA[i]! - rhos[a]! : rhos[a]!) : bits[e]!;
      out[i] = (v.zh[e]! - H) * bits[e]! - br + K * bw;
    }
    return out;
  });
  const prods = ys.map((y, q) => {
    const sry = mat.ring(`sry${q}`),
      yh = v.yh[q]!,
      out = new BigUint64Array(n * nt);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < nt; j++) {
        const e = i * nt + j,
          sy = sA[e]! * yh[i]! - sry[e]!;
        out[e] = v.bh[e] ? y[i]! - sy : sy;
      }
    }
    return out;
  });
  return [bits, ...self, ...prods];
}

async function secure(
  ctx: PartyCtx,
  mat: Material,
  p: CmpkParams,
  o: Resolved,
  x: BigUint64Array,
  ys: readonly BigUint64Array[],
): Promise<BigUint64Array[]> {
  const { n, nt } = p,
    k = o.width,
    m = n * nt,
    first = ctx.me === 0,
    r = mat.ring('r');
  // 1. open x̂ = x + r mod 2^k and ŷ_p = y_p + ry_p
  const yr = ys.map((y, q) => {
    const ry = mat.ring(`ry${q}`);
    return addInto(new BigUint64Array(n), y, ry);
  });
  const [xh, ...yh] = await open(ctx, 'cmpk.open', [
    { low: addInto(new BigUint64Array(n), x, r), k: o.full ? 64 : k },
    ...yr.map((ring) => ({ ring })),
  ]);
  // 2-3. per (element, threshold) masked value, then the block tree
  const off = o.eq ? 0n : 1n << BigInt(k - 1),
    zh = new BigUint64Array(m);
  for (let i = 0; i < n; i++) for (let j = 0; j < nt; j++) zh[i * nt + j] = xh![i]! - o.thr[j]! + off;
  maskLowInto(zh, k);
  const low = await tree(ctx, mat, planOf(p), nt, zh);
  // 4. b = low ⊕ r_{k−1} ⊕ ẑ'_{k−1} ('ge'), opened under s
  const zw = new Uint32Array(zh.buffer, zh.byteOffset, 2 * m),
    topBit = (e: number): number => (k - 1 < 32 ? (zw[2 * e]! >>> (k - 1)) & 1 : (zw[2 * e + 1]! >>> (k - 33)) & 1);
  const s = mat.xor('s'),
    rho = o.eq ? undefined : mat.xor('rho'),
    bm = new Uint8Array(m);
  for (let e = 0; e < m; e++) {
    let b = low[e]!;
    if (rho) b ^= (rho[Math.floor(e / nt)]! & 1) ^ (first ? topBit(e) : 0);
    bm[e] = (b ^ s[e]!) & 1;
  }
  const [bh] = await openBits(ctx, 'cmpk.select', [bm]);
  return outputs(ctx, mat, o, x, ys, { xh: xh!, yh: yh as BigUint64Array[], zh, bh: bh!, topBit });
}

/** The dealt material against its definition, recomputed naively from the free fields. */
function relation(v: Dealt, p: CmpkParams): string | undefined {
  const pl = planOf(p),
    n1 = pl.l1.length,
    nt = p.nt,
    ns = p.self.length,
    r = v.ring('r'),
    sA = v.ring('sA');
  const rk = r.map((x) => (p.width === 64 ? x : x & ((1n << BigInt(p.width)) - 1n))),
    rho = Array.from(rk, (x) => Number((x >> BigInt(p.width - 1)) & 1n));
  const rows = (len: number, f: (e: number) => bigint | number): Array<bigint | number> =>
    Array.from({ length: len }, (_, e) => f(e));
  const mon = rows(p.n * pl.nb, (e) =>
    blockOf(
      Number(r[Math.floor(e / pl.nb)]! & 0xffffffffn),
      Number(r[Math.floor(e / pl.nb)]! >> 32n),
      e % pl.nb,
      pl.blockBits[e % pl.nb]!,
      pl.bb,
    ),
  ).flatMap((rho) => {
    const t = pl.bb === 4 ? BLOCK4 : BLOCK5,
      words = t.subsetInd.slice(Number(rho) * t.words, (Number(rho) + 1) * t.words);
    return Array.from(pl.bb === 4 ? new Uint8Array(Uint16Array.of(words[0]!).buffer) : new Uint8Array(words.buffer));
  });
  const mm1 = new Uint32Array(p.n * nt * pl.wordsPer),
    mm2 = new Uint32Array(n1 > 1 ? p.n * nt : 0);
  for (let e = 0; e < p.n * nt; e++) {
    for (let g = 0; g < n1; g++)
      maskMonomialWords(pl.l1[g]!, nodeMask(pl, v.xor('m1'), e, g), mm1, e * pl.wordsPer + pl.l1WordAt[g]!);
    if (n1 > 1) maskMonomialWords(pl.top!, v.xor('m2')[e]!, mm2, e);
  }
  const sAt = (a: number): bigint => sA[Math.floor(a / ns) * nt + p.self[a % ns]!]!; // s of self payload a = i·ns + q
  return (
    differs('mon', v.xor('mon'), mon) ??
    differs(
      'sA',
      sA,
      rows(p.n * nt, (e) => v.xor('s')[e]! & 1),
    ) ??
    (p.eq ? undefined : differs('rho', v.xor('rho'), rho)) ??
    (n1 > 0 ? differs('mm1', u32View(v.xor('mm1')), mm1) : undefined) ??
    (n1 > 1 ? differs('mm2', u32View(v.xor('mm2')), mm2) : undefined) ??
    Array.from({ length: p.py }, (_, q) =>
      differs(
        `sry${q}`,
        v.ring(`sry${q}`),
        rows(p.n * nt, (e) => sA[e]! * v.ring(`ry${q}`)[Math.floor(e / nt)]!),
      ),
    ).find((x) => x) ??
    (ns === 0
      ? undefined
      : p.width === 64 || p.full
        ? differs(
            'sr',
            v.ring('sr'),
            rows(p.n * ns, (a) => sAt(a) * r[Math.floor(a / ns)]!),
          )
        : (differs('rk', v.ring('rk'), rk) ??
          differs('rhoA', v.ring('rhoA'), rho) ??
          differs(
            'srk',
            v.ring('srk'),
            rows(p.n * ns, (a) => sAt(a) * rk[Math.floor(a / ns)]!),
          ) ??
          differs(
            'rhos',
            v.ring('rhos'),
            rows(p.n * ns, (a) => sAt(a) * BigInt(rho[Math.floor(a / ns)]!)),
          )))
  );
}

/** The example: ge and eq, 4- and 5-bit blocks, one and several thresholds, widths 13 to 64. */
async function everyVariant<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  [x, y]: readonly T[],
): Promise<T[]> {
  const variants: CmpkOpts[] = [
    { width: 32, thresholds: [0, 7, -3], self: [0, 2] },
    { width: 64, self: [0] },
    { width: 13, self: [0] },
    { width: 20, eq: true, thresholds: [0, 1] },
    { width: 33, fewerRounds: true, self: [0] },
    { width: 36, fewerRounds: true, thresholds: [0, 9], self: [1] },
    { width: 32, thresholds: [0, -5], self: [0, 1], openFull: true },
    { width: 33, fewerRounds: true, self: [0], openFull: true },
    { width: 24, eq: true, fewerRounds: true },
  ];
  const outs: T[] = [];
  for (const o of variants) {
    const out = await P.cmpK(x!, { ...o, payloads: [y!] });
    outs.push(out.bits, ...out.self, ...out.prods);
  }
  return outs;
}

export const CMPK = definePrimitive<CmpkOpts, CmpkParams>({
  name: 'cmpK',
  kind: defineKind({ name: 'cmpk', params: CmpkParams, rounds, fields, derive }),
  params: ([x, ...ys], o) => {
    for (const y of ys) sameShape(x!, y, 'cmpK');
    const r = resolve(o, x!.fracBits);
    return {
      n: numel(x!.shape),
      width: r.width,
      nt: r.thr.length,
      eq: r.eq,
      self: [...r.self],
      py: ys.length,
      ...(r.bb === 5 ? { bb: 5 as const } : {}),
      ...(r.full ? { full: true as const } : {}),
    };
  },
  outputs: (p, [x, ...ys]) => [
    { shape: [...x!.shape, p.nt], fracBits: 0 },
    ...p.self.map(() => x!),
    ...ys.map((y) => ({ shape: [...y.shape, p.nt], fracBits: y.fracBits })),
  ],
  clear: ({ o, xs: [x, ...ys] }) =>
    clear(
      resolve(o, x!.fracBits),
      x!.data,
      ys.map((y) => y.data),
    ),
  secure: (ctx, mat, { p, o, xs: [x, ...ys] }) =>
    secure(
      ctx,
      mat,
      p,
      resolve(o, x!.fracBits),
      x!.data,
      ys.map((y) => y.data),
    ),
  relation,
  example: (rng) => ({
    inputs: [uniformInput(rng, [97], -1000, 1000), uniformInput(rng, [97], -5, 5)],
    program: everyVariant,
  }),
});
