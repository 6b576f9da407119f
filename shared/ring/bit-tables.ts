/**
 * Boolean tables behind the comparison and truncation protocols (protocol/compare.ts,
 * protocol/trunc.ts). Pure maths, shared by the dealer (which builds material) and the parties
 * (which evaluate on shares).
 *
 * Block comparison. To compare a public w-bit value v with a secret w-bit value ρ known only as
 * XOR shares, the dealer shares the vector of all monomials of ρ's bits, mon[S] = Π_{i∈S} ρ_i
 * = [S ⊆ ρ] for every subset S (2^w bits, including the constant monomial mon[∅] = 1). Any Boolean
 * function of ρ is an XOR of monomials (its algebraic normal form, ANF), so for public v a party
 * gets its share of [v < ρ] or [v = ρ] locally as parity(ANF[v] & mon_share). No interaction.
 *
 * Nodes. A node evaluates a fixed polynomial (a sum of monomial terms over its input bits) on
 * secret bits in one round: each input u is opened as û = u ⊕ m_u with a fresh mask bit, and the
 * dealer shares the products m_S of mask bits for every subset S that the expansion needs. Then
 * Π_{u∈T} u = Π (û ⊕ m_u) (XOR output) or Π (û + (1−2û) m_u) (arithmetic output) is a public
 * linear combination of the m_S. Coefficients depend only on the opened byte, so they are
 * tabulated for all 2^inputs values.
 */
import { invariant } from '../util/errors.js';

// ---------------------------------------------------------------- block tables

export interface BlockTables {
  /** Bits per block (4 or 8). */
  readonly w: number;
  /** 32-bit words per monomial vector (1 for w=4, 8 for w=8). */
  readonly words: number;
  /** subsetInd[ρ·words + k]: word k of the vector [S ⊆ ρ]. */
  readonly subsetInd: Uint32Array;
  /** ANF of ρ ↦ [v < ρ], word k at [v·words + k]. */
  readonly anfLt: Uint32Array;
  /** ANF of ρ ↦ [v = ρ]. */
  readonly anfEq: Uint32Array;
}

function mobius(truth: Uint8Array): Uint8Array {
  const a = Uint8Array.from(truth);
  for (let step = 1; step < a.length; step <<= 1) {
    for (let i = 0; i < a.length; i++) if (i & step) a[i]! ^= a[i ^ step]!;
  }
  return a;
}

function buildBlockTables(w: number): BlockTables {
  const n = 1 << w;
  const words = Math.max(1, n / 32);
  const subsetInd = new Uint32Array(n * words);
  const anfLt = new Uint32Array(n * words);
  const anfEq = new Uint32Array(n * words);
  const setBit = (arr: Uint32Array, row: number, bit: number) => {
    arr[row * words + (bit >>> 5)]! |= 1 << (bit & 31);
  };
  for (let rho = 0; rho < n; rho++) for (let S = 0; S < n; S++) if ((S & ~rho) === 0) setBit(subsetInd, rho, S);
  for (let v = 0; v < n; v++) {
    const lt = new Uint8Array(n),
      eq = new Uint8Array(n);
    for (let rho = 0; rho < n; rho++) {
      lt[rho] = v < rho ? 1 : 0;
      eq[rho] = v === rho ? 1 : 0;
    }
    const a = mobius(lt),
      b = mobius(eq);
    for (let S = 0; S < n; S++) {
      if (a[S]) setBit(anfLt, v, S);
      if (b[S]) setBit(anfEq, v, S);
    }
  }
  return { w, words, subsetInd, anfLt, anfEq };
}

export const BLOCK4 = buildBlockTables(4);
export const BLOCK5 = buildBlockTables(5);
export const BLOCK8 = buildBlockTables(8);

/** Parity of a 32-bit word. */
export function parity32(x: number): number {
  x ^= x >>> 16;
  x ^= x >>> 8;
  x ^= x >>> 4;
  x &= 0xf;
  return (0x6996 >>> x) & 1;
}

// ---------------------------------------------------------------- node gadgets

export interface NodeSpec {
  /** Number of input bits (≤ 8; ≤ 13 for an XOR node). */
  readonly inputs: number;
  /** One polynomial per output; each is a list of terms, a term being a bitmask of input indices. */
  readonly outputs: ReadonlyArray<readonly number[]>;
  /** 'xor': GF(2) sum of terms. 'arith': integer sum (terms must be mutually exclusive events). */
  readonly out: 'xor' | 'arith';
}

export interface NodeTables {
  readonly spec: NodeSpec;
  /** Mask monomials the dealer shares, as bitmasks over inputs (non-empty subsets, all outputs). */
  readonly subsets: readonly number[];
  /** 32-bit words per mask-monomial vector (1 up to 32 subsets; XOR nodes only beyond). */
  readonly words: number;
  /**
   * xor: coefficient bitmask over `subsets`, word k at [(output · 2^inputs + opened byte) · words + k]
   * (one word per entry up to 32 subsets).
   */
  readonly coefXor: Uint32Array;
  /** arith: integer coefficients at [(output · 2^inputs + byte) · subsets + k] (sums over terms). */
  readonly coefArith: Int8Array;
  /** The same coefficients as bigints, for ring arithmetic without conversions in hot loops. */
  readonly coefArithBig: BigInt64Array;
  /** The constant terms as bigints. */
  readonly constantBig: BigInt64Array;
  /** Public constant term at [output · 2^inputs + byte]. */
  readonly constant: Int8Array;
}

const isSubset = (s: number, t: number): boolean => (s & ~t) === 0;

export function buildNode(spec: NodeSpec): NodeTables {
  const xorOut = spec.out === 'xor';
  invariant(spec.inputs <= (xorOut ? 13 : 8), 'E_INTERNAL', `node with ${spec.inputs} inputs`);
  const set = new Set<number>();
  for (const terms of spec.outputs) for (const t of terms) for (let s = t; s > 0; s = (s - 1) & t) set.add(s);
  const subsets = [...set].sort((a, b) => a - b);
  const nv = 1 << spec.inputs,
    ns = subsets.length,
    words = xorOut ? Math.max(1, Math.ceil(ns / 32)) : 1;
  const coefXor = new Uint32Array(spec.outputs.length * nv * words);
  const coefArith = new Int8Array(xorOut ? 0 : spec.outputs.length * nv * ns);
  const constant = new Int8Array(spec.outputs.length * nv);
  spec.outputs.forEach((terms, o) => {
    for (let u = 0; u < nv; u++) {
      let c = 0;
      for (const t of terms) if (isSubset(t, u)) c += 1; // S = ∅: product of the term's opened bits
      constant[o * nv + u] = xorOut ? c & 1 : c;
      subsets.forEach((S, k) => {
        let x = 0,
          a = 0;
        for (const t of terms) {
          if (!isSubset(S, t) || !isSubset(t & ~S, u)) continue; // needs S ⊆ T and Π_{T∖S} û = 1
          x ^= 1;
          if (xorOut) continue;
          let sign = 1; // Π_{u∈S} (1 − 2û_u)
          for (let b = 0; b < spec.inputs; b++) if ((S >> b) & 1 && (u >> b) & 1) sign = -sign;
          a += sign;
        }
        if (x) coefXor[(o * nv + u) * words + (k >>> 5)]! |= 1 << (k & 31);
        if (!xorOut) coefArith[(o * nv + u) * ns + k] = a;
      });
    }
  });
  const coefArithBig = BigInt64Array.from(coefArith, (v) => BigInt(v));
  const constantBig = BigInt64Array.from(constant, (v) => BigInt(v));
  return { spec, subsets, words, coefXor, coefArith, coefArithBig, constant, constantBig };
}

/** True values of the mask monomials for mask byte `m`: bit k = [subsets[k] ⊆ m] (nodes of ≤ 32 subsets). */
export function maskMonomials(t: NodeTables, m: number): number {
  let out = 0;
  t.subsets.forEach((S, k) => {
    if (isSubset(S, m)) out |= 1 << k;
  });
  return out;
}

/** The same as `words` 32-bit words (any node), written at `out[at..]`. */
export function maskMonomialWords(t: NodeTables, m: number, out: Uint32Array, at: number): void {
  out.fill(0, at, at + t.words);
  t.subsets.forEach((S, k) => {
    if (isSubset(S, m)) out[at + (k >>> 5)]! |= 1 << (k & 31);
  });
}

/** XOR output o of a node for opened inputs u and this party's monomial shares mm[at..] (party 0 adds the constant). */
export function nodeXor(t: NodeTables, o: number, u: number, mm: Uint32Array, at: number, first: boolean): number {
  const w = t.words,
    base = ((o << t.spec.inputs) + u) * w;
  let acc = 0;
  for (let k = 0; k < w; k++) acc ^= t.coefXor[base + k]! & mm[at + k]!;
  return parity32(acc) ^ (first ? t.constant[(o << t.spec.inputs) + u]! : 0);
}

/**
 * Prefix-comparison polynomial over `nb` blocks, inputs laid out as G_0..G_{nb−1}, then E_1..E_{nb−1}
 * (E_0 is never needed for "less than"), plus E_0 last when `withEq` (to also output equality).
 * Term j of [v < ρ]: G_j · Π_{k>j} E_k.
 */
export function prefixLtTerms(nb: number): number[] {
  const G = (j: number) => 1 << j;
  const E = (k: number) => 1 << (nb + k - 1); // k ≥ 1
  const terms: number[] = [];
  for (let j = 0; j < nb; j++) {
    let t = G(j);
    for (let k = j + 1; k < nb; k++) t |= E(k);
    terms.push(t);
  }
  return terms;
}
