/**
 * The borrow of a table digit (lut.ts, xlut.ts): for x opened as x̂ = x + r mod 2^k, the digit
 * d = ⌊x/2^s⌋ mod 2^w equals x̂_h − r_h − β with β = [x̂ mod 2^s < r mod 2^s]. The parties get β
 * as XOR shares from the dealer's monomial vectors of r's 4-bit low blocks (locally when one block
 * suffices, s ≤ 4; else one prefix node whose masked inputs are opened: one round, block-tree.ts).
 *
 * Fields of table field q (per element): mon_q (2 bytes per block), m_q and mm_q (node mask byte
 * and its u32 monomials, when s > 4), sp_q (the select mask s' under which β is opened).
 */
import { xor, type FieldSpec, type Material } from '../../corr/kind.js';
import { BLOCK4, maskMonomials, parity32 } from '../../ring/bit-tables.js';
import type { PartyCtx } from '../ctx.js';
import { differs, type Dealt } from '../primitive.js';
import { openBits } from '../open.js';
import { blockOf, treeNode, u16View, u32View } from './block-tree.js';

/** Blocks of the low s bits and the borrow node (undefined when one block suffices). */
export function borrowOf(s: number): {
  nb: number;
  blockBits: number[];
  node: ReturnType<typeof treeNode> | undefined;
} {
  const nb = Math.ceil(s / 4);
  return {
    nb,
    blockBits: Array.from({ length: nb }, (_, b) => Math.min(4, s - 4 * b)),
    node: nb > 1 ? treeNode(false, nb, false) : undefined,
  };
}

/** Opened node bits per element for the borrow of s low bits (0 when no node). */
export const borrowNodeBits = (s: number): number => (borrowOf(s).node ? 2 * Math.ceil(s / 4) - 1 : 0);

/** The borrow's fields of table field q (none when s = 0). */
export function borrowFields(q: number, n: number, s: number): FieldSpec[] {
  if (s === 0) return [];
  const { nb, node } = borrowOf(s);
  return [
    xor(`mon${q}`, n * nb * 2, true),
    ...(node ? [xor(`m${q}`, n), xor(`mm${q}`, n * 4, true)] : []),
    xor(`sp${q}`, n),
  ];
}

/** The dealer's borrow material of field q: block monomials of r's low s bits, the node's mask monomials. */
export function deriveBorrow(free: Material, q: number, n: number, s: number, out: Material): void {
  if (s === 0) return;
  const r = free.ring('r'),
    rw = new Uint32Array(r.buffer, r.byteOffset, 2 * n),
    { nb, blockBits, node } = borrowOf(s);
  const mon = new Uint16Array(n * nb),
    mm = new Uint32Array(node ? n : 0),
    m = node ? free.xor(`m${q}`) : undefined;
  for (let i = 0; i < n; i++) {
    for (let b = 0; b < nb; b++)
      mon[i * nb + b] = BLOCK4.subsetInd[blockOf(rw[2 * i]!, rw[2 * i + 1]!, b, blockBits[b]!)]!;
    if (node) mm[i] = maskMonomials(node, m![i]!) >>> 0;
  }
  out.set(`mon${q}`, new Uint8Array(mon.buffer));
  if (node) out.set(`mm${q}`, new Uint8Array(mm.buffer));
}

/** The first violation of field q's borrow material by the dealt values, or undefined. */
export function borrowRelation(v: Dealt, q: number, n: number, s: number): string | undefined {
  if (s === 0) return undefined;
  const r = v.ring('r'),
    { nb, blockBits, node } = borrowOf(s);
  return (
    differs(
      `mon${q}`,
      u16View(v.xor(`mon${q}`)),
      Array.from(
        { length: n * nb },
        (_, e) =>
          BLOCK4.subsetInd[blockOf(Number(r[Math.floor(e / nb)]! & 0xffffffffn), 0, e % nb, blockBits[e % nb]!)]!,
      ),
    ) ??
    (node
      ? differs(
          `mm${q}`,
          u32View(v.xor(`mm${q}`)),
          Array.from({ length: n }, (_, i) => maskMonomials(node, v.xor(`m${q}`)[i]!) >>> 0),
        )
      : undefined)
  );
}

/** G (and E) of the blocks below s for element i, as the node's input byte or, with one block, β itself. */
function blockBitsOf(xw: Uint32Array, i: number, mon: Uint16Array, s: number): { G: number; E: number } {
  const { nb, blockBits } = borrowOf(s);
  let G = 0,
    E = 0;
  for (let b = 0; b < nb; b++) {
    const v = blockOf(xw[2 * i]!, xw[2 * i + 1]!, b, blockBits[b]!),
      mb = mon[i * nb + b]!;
    G |= parity32(BLOCK4.anfLt[v]! & mb) << b;
    E |= parity32(BLOCK4.anfEq[v]! & mb) << b;
  }
  return { G, E };
}

/**
 * XOR shares of the borrow β of every field in `withS` (s > 0) for the opened x̂ (one node round
 * when some s > 4), element-major per field.
 */
export async function borrows(
  ctx: PartyCtx,
  mat: Material,
  xh: BigUint64Array,
  withS: ReadonlyArray<{ s: number; q: number }>,
  step: string,
): Promise<Uint8Array[]> {
  const n = xh.length,
    xw = new Uint32Array(xh.buffer, xh.byteOffset, 2 * n),
    first = ctx.me === 0;
  const nodes = withS.map(({ s }) => borrowOf(s)),
    beta = withS.map(() => new Uint8Array(n));
  const offsets = nodes.map((_, t) => nodes.slice(0, t).reduce((a, b) => a + (b.node ? b.node.spec.inputs : 0), 0));
  const nodeBits = nodes.reduce((t, b) => t + (b.node ? b.node.spec.inputs : 0), 0),
    inNode = new Uint8Array(n * nodeBits);
  withS.forEach(({ s, q }, t) => {
    const { nb, node } = nodes[t]!,
      mon = u16View(mat.xor(`mon${q}`)),
      m = node ? mat.xor(`m${q}`) : undefined;
    for (let i = 0; i < n; i++) {
      const { G, E } = blockBitsOf(xw, i, mon, s);
      if (!node) {
        beta[t]![i] = G & 1;
        continue;
      }
      const byte = (G | ((E >>> 1) << nb)) ^ m![i]!; // inputs G_0..G_{nb−1}, E_1..E_{nb−1}
      for (let b = 0; b < node.spec.inputs; b++) inNode[i * nodeBits + offsets[t]! + b] = (byte >>> b) & 1;
    }
  });
  if (nodeBits === 0) return beta;
  const [u] = await openBits(ctx, step, [inNode]);
  withS.forEach(({ q }, t) => {
    const node = nodes[t]!.node;
    if (!node) return;
    const mm = u32View(mat.xor(`mm${q}`)),
      ni = node.spec.inputs;
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (let b = 0; b < ni; b++) v |= u![i * nodeBits + offsets[t]! + b]! << b;
      beta[t]![i] = parity32(node.coefXor[v]! & mm[i]!) ^ (first ? node.constant[v]! : 0);
    }
  });
  return beta;
}

/** Per element: the mask's digit r_h, low part r_l, select mask s' and the two branches' one-hot positions. */
export interface MaskDigits {
  readonly rl: BigInt64Array;
  readonly s1: Uint8Array;
  /** ρ_0 = r_h + s', ρ_1 = r_h + 1 − s' (mod 2^w): the one-hot positions for β̂ = 0 and 1. */
  readonly rho0: Int32Array;
  readonly rho1: Int32Array;
}

/** Values of fields by name: a dealer's Material or a relation's true values. */
export interface FieldValues {
  ring(name: string): BigUint64Array;
  xor(name: string): Uint8Array;
}

export function maskDigits(free: FieldValues, n: number, k: number, s: number, w: number, q: number): MaskDigits {
  const r = free.ring('r'),
    kMask = (1n << BigInt(k)) - 1n,
    S = BigInt(s),
    W = 1 << w;
  const sp = s > 0 ? free.xor(`sp${q}`) : undefined;
  const out = {
    rl: new BigInt64Array(n),
    s1: new Uint8Array(n),
    rho0: new Int32Array(n),
    rho1: new Int32Array(n),
  };
  for (let i = 0; i < n; i++) {
    const rk = r[i]! & kMask,
      rh = Number((rk >> S) & BigInt(W - 1)),
      s1 = sp ? sp[i]! & 1 : 0;
    out.rl[i] = rk & ((1n << S) - 1n);
    out.s1[i] = s1;
    out.rho0[i] = (rh + s1) & (W - 1);
    out.rho1[i] = (rh + 1 - s1) & (W - 1);
  }
  return out;
}
