/**
 * Material for the bounded multi-threshold comparison (protocol/compare-k.ts).
 *
 * One mask r opened as x̂ = x + r mod 2^k serves every public threshold t_j: the parties compare
 * ẑ_j = x̂ − t_j (+2^(k−1) in 'ge' mode) against r block by block, so the monomial vectors of r's
 * 4-bit blocks are dealt once per element and only the tree nodes and the select bit are per
 * threshold. Tree: 4-bit blocks → L1 nodes of ≤ 4 blocks → one top node of ≤ 4 L1 nodes (k ≤ 64).
 *
 * Fields per element (nt thresholds, ns self payloads, py external payloads):
 *   r (free), rho = r_{k−1} ('ge'), mon (2 bytes per block), m1/mm1 (per threshold and L1 node:
 *   mask byte, u32 mask monomials), m2/mm2 (top node), s (select bit), sA = s;
 *   self payloads: k < 64: rk = r mod 2^k, rhoA = rho, srk = s·rk, rhos = rho·s; k = 64: sr = s·r;
 *   external payload p: ry_p (free), sry_p = s·ry_p per threshold.
 * Party 1's correction, 'ge', one threshold, no payload: 1 + 2·nb + 4·n1 + 4·[n1>1] + 8 bytes
 * (k = 32: 37 B; k = 64: 61 B).
 * Variant `bb: 8` (k ≤ 33 'ge', k ≤ 32 'eq'): 8-bit blocks (32-byte monomial vectors), so one node
 * covers the whole width: one round less, fewer node bits online, 1 + 32·nb + 4 + 8 dealer bytes
 * (k = 32: 141 B).
 */
import { z } from 'zod';
import { BLOCK4, BLOCK8, buildNode, maskMonomials, prefixLtTerms, type NodeTables } from '../../ring/bit-tables.js';
import { invariant } from '../../util/errors.js';
import { Material, defineKind, ring, xor, type FieldSpec } from '../kind.js';

/** Static shape of the comparison tree for one width and mode (pure; shared by dealer and parties). */
export interface CmpkPlan {
  readonly width: number;
  readonly eq: boolean;
  /** Block width in bits (4, or 8 for the one-node variant) and bytes of one block's monomial vector. */
  readonly bb: 4 | 8;
  readonly monBytes: number;
  /** Low bits compared by the block tree: width − 1 ('ge', the top bit enters separately) or width ('eq'). */
  readonly lowBits: number;
  readonly nb: number;
  readonly blockBits: readonly number[];
  /** L1 nodes (empty when nb = 1); node g covers blocks 4g .. 4g + children − 1. */
  readonly l1: readonly NodeTables[];
  readonly l1Children: readonly number[];
  /** Opened input bits per L1 node. */
  readonly l1Bits: readonly number[];
  readonly top: NodeTables | undefined;
  readonly topBits: number;
}

const nodeCache = new Map<string, NodeTables>();

/**
 * A tree node over c children. 'ge': inputs G_0..G_{c−1}, E_1..E_{c−1} (+E_0 last when the node
 * must also output "all equal" for its parent); outputs [prefix less-than] (+ [all equal]).
 * 'eq': inputs E_0..E_{c−1}; output [all equal].
 */
export function treeNode(eq: boolean, c: number, withE: boolean): NodeTables {
  const key = `${eq}:${c}:${withE}`;
  let t = nodeCache.get(key);
  if (!t) {
    const all = (1 << c) - 1;
    t = eq
      ? buildNode({ inputs: c, outputs: [[all]], out: 'xor' })
      : buildNode({ inputs: 2 * c - 1 + (withE ? 1 : 0), outputs: withE ? [prefixLtTerms(c), [all << c]] : [prefixLtTerms(c)], out: 'xor' });
    nodeCache.set(key, t);
  }
  return t;
}

const planCache = new Map<string, CmpkPlan>();

export function cmpkPlan(width: number, eq: boolean, bb: 4 | 8 = 4): CmpkPlan {
  invariant(Number.isInteger(width) && width >= 2 && width <= 64, 'E_INTERNAL', `comparison width ${width} outside [2, 64]`);
  const key = `${width}:${eq}:${bb}`;
  const hit = planCache.get(key);
  if (hit) return hit;
  const lowBits = eq ? width : width - 1;
  const nb = Math.ceil(lowBits / bb);
  invariant(bb === 4 || nb <= 4, 'E_INTERNAL', `8-bit blocks cover at most 32 compared bits, not ${lowBits}`);
  const blockBits = Array.from({ length: nb }, (_, b) => Math.min(bb, lowBits - bb * b));
  const n1 = nb > 1 ? Math.ceil(nb / 4) : 0;
  const l1Children = Array.from({ length: n1 }, (_, g) => Math.min(4, nb - 4 * g));
  const l1 = l1Children.map((c, g) => treeNode(eq, c, !eq && n1 > 1 && g > 0));
  const l1Bits = l1.map((t) => t.spec.inputs);
  const top = n1 > 1 ? treeNode(eq, n1, false) : undefined;
  const plan: CmpkPlan = { width, eq, bb, monBytes: bb === 8 ? 32 : 2, lowBits, nb, blockBits, l1, l1Children, l1Bits, top, topBits: top ? top.spec.inputs : 0 };
  planCache.set(key, plan);
  return plan;
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
  /** 8-bit blocks (one node, one round less); absent = 4-bit blocks. */
  bb: z.literal(8).optional(),
});
export type CmpkParams = z.infer<typeof CmpkParams>;

/** Block b (of `bb`-bit blocks) of the low bits of `v` (given as 32-bit halves lo, hi). */
export function blockOf(lo: number, hi: number, b: number, bits: number, bb = 4): number {
  const at = bb * b, v = at < 32 ? lo >>> at : hi >>> (at - 32);
  return v & ((1 << bits) - 1);
}

/** Writes the monomial vector of block value ρ at slot `at` (u16 slots for 4-bit, 8 u32 for 8-bit blocks). */
function putMon(mon: Uint16Array | Uint32Array, at: number, rho: number, bb: 4 | 8): void {
  if (bb === 4) mon[at] = BLOCK4.subsetInd[rho]!;
  else (mon as Uint32Array).set(BLOCK8.subsetInd.subarray(rho * 8, rho * 8 + 8), at * 8);
}

export const CMPK = defineKind({
  name: 'cmpk',
  params: CmpkParams,
  fields: (p) => {
    const pl = cmpkPlan(p.width, p.eq, p.bb ?? 4), n1 = pl.l1.length, m = p.n * p.nt, ns = p.self.length;
    const f: FieldSpec[] = [ring('r', p.n)];
    if (!p.eq) f.push(xor('rho', p.n, true));
    f.push(xor('mon', p.n * pl.nb * pl.monBytes, true));
    if (n1 > 0) f.push(xor('m1', m * n1), xor('mm1', m * n1 * 4, true));
    if (n1 > 1) f.push(xor('m2', m), xor('mm2', m * 4, true));
    f.push(xor('s', m), ring('sA', m, true));
    if (ns > 0) {
      if (p.width < 64) f.push(ring('rk', p.n, true), ring('rhoA', p.n, true), ring('srk', p.n * ns, true), ring('rhos', p.n * ns, true));
      else f.push(ring('sr', p.n * ns, true));
    }
    for (let q = 0; q < p.py; q++) f.push(ring(`ry${q}`, p.n), ring(`sry${q}`, m, true));
    return f;
  },
  derive(free, p) {
    invariant(!p.eq || p.self.length === 0, 'E_INTERNAL', 'equality tests take no self payload');
    const pl = cmpkPlan(p.width, p.eq, p.bb ?? 4), n1 = pl.l1.length, nt = p.nt, ns = p.self.length;
    const r = free.ring('r'), s = free.xor('s'), k = BigInt(p.width);
    const rw = new Uint32Array(r.buffer, r.byteOffset, 2 * p.n);
    const out = new Material();
    const rho = new Uint8Array(p.n), sA = new BigUint64Array(p.n * nt);
    const mon = pl.bb === 4 ? new Uint16Array(p.n * pl.nb) : new Uint32Array(p.n * pl.nb * 8);
    const mm1 = new Uint32Array(p.n * nt * n1), mm2 = new Uint32Array(n1 > 1 ? p.n * nt : 0);
    const m1 = n1 > 0 ? free.xor('m1') : undefined, m2 = n1 > 1 ? free.xor('m2') : undefined;
    const kMask = (1n << k) - 1n;
    for (let i = 0; i < p.n; i++) {
      const lo = rw[2 * i]!, hi = rw[2 * i + 1]!, top = p.width - 1;
      rho[i] = top < 32 ? (lo >>> top) & 1 : (hi >>> (top - 32)) & 1;
      // blocks cover exactly the low `lowBits` bits (bit k−1 is never read in 'ge' mode)
      for (let b = 0; b < pl.nb; b++) putMon(mon, i * pl.nb + b, blockOf(lo, hi, b, pl.blockBits[b]!, pl.bb), pl.bb);
      for (let j = 0; j < nt; j++) {
        const e = i * nt + j;
        sA[e] = BigInt(s[e]! & 1);
        for (let g = 0; g < n1; g++) mm1[e * n1 + g] = maskMonomials(pl.l1[g]!, m1![e * n1 + g]!) >>> 0;
        if (n1 > 1) mm2[e] = maskMonomials(pl.top!, m2![e]!) >>> 0;
      }
    }
    if (!p.eq) out.set('rho', rho);
    out.set('mon', new Uint8Array(mon.buffer)).set('sA', sA);
    if (n1 > 0) out.set('mm1', new Uint8Array(mm1.buffer));
    if (n1 > 1) out.set('mm2', new Uint8Array(mm2.buffer));
    if (ns > 0) {
      const srk = new BigUint64Array(p.n * ns), rhos = new BigUint64Array(p.n * ns);
      const rkA = new BigUint64Array(p.n), rhoA = new BigUint64Array(p.n);
      for (let i = 0; i < p.n; i++) {
        rkA[i] = p.width === 64 ? r[i]! : r[i]! & kMask;
        rhoA[i] = BigInt(rho[i]!);
        p.self.forEach((j, q) => {
          srk[i * ns + q] = sA[i * nt + j]! * rkA[i]!;
          rhos[i * ns + q] = sA[i * nt + j]! * rhoA[i]!;
        });
      }
      if (p.width < 64) out.set('rk', rkA).set('rhoA', rhoA).set('srk', srk).set('rhos', rhos);
      else out.set('sr', srk);
    }
    for (let q = 0; q < p.py; q++) {
      const ry = free.ring(`ry${q}`), sry = new BigUint64Array(p.n * nt);
      for (let i = 0; i < p.n; i++) for (let j = 0; j < nt; j++) sry[i * nt + j] = sA[i * nt + j]! * ry[i]!;
      out.set(`sry${q}`, sry);
    }
    return out;
  },
});
