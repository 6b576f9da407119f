/**
 * Sign test with fused select: b = [x ≥ 0] (DReLU) and b·y_j for payloads y_j, exact.
 *
 * Kinds: cmp. Rounds: 4. Online bytes per element per party: 8 (x̂) + 4 (L1 nodes) + 7/8 (top)
 * + 1/8 (select bit) ≈ 13, plus 8 per payload other than x. Dealer bytes to party 1 per element:
 * 69 with one payload (+8 per extra payload).
 *
 * Protocol (x̂ = x + r, MSB(x) = x̂₆₃ ⊕ r₆₃ ⊕ [x̂₀..₆₂ < r₀..₆₂]):
 *  1. Open x̂ = x + r and ŷ_j = y_j + r_j (payloads other than x) in one round.
 *  2. Locally, for 16 blocks of 4 bits: XOR shares of G = [x̂_blk < r_blk], E = [x̂_blk = r_blk]
 *     from the dealer's monomial vectors (ring/bit-tables.ts).
 *  3. L1: 4 nodes combine 4 blocks each into (G, E) (prefix formula); open their 8 input bits
 *     masked with fresh dealer bits; outputs follow from dealer-shared mask monomials.
 *  4. Top: one node combines the 4 L1 outputs into G; open its 7 masked inputs.
 *     b = 1 ⊕ MSB(x) as XOR shares.
 *  5. Open b̂ = b ⊕ s (s a dealer bit with arithmetic shares sA): b = b̂ + (1−2b̂)·s, and
 *     b·y = b̂·y + (1−2b̂)·(ŷ·s − s·r_y) with s·r_y from the dealer. Nothing opened depends on x:
 *     every opened value is masked by fresh uniform dealer randomness.
 * Domain: all of Z_2^64 (x read as signed); exact for every input.
 */
import { invariant } from '../util/errors.js';
import { CMP, CMP_BLOCKS, CMP_L1, CMP_TOP } from '../corr/kinds/index.js';
import { BLOCK4, parity32 } from '../ring/bit-tables.js';
import { share, shapeEq, type Share } from '../ring/tensor.js';
import type { PartyCtx } from './ctx.js';
import { openBits, openBytes, openFields, openRing } from './open.js';

export interface CmpResult {
  /** [x ≥ 0] as an integer share (fracBits 0). */
  bit: Share;
  /** [x ≥ 0] · y_j, at y_j's scale. */
  prods: Share[];
}

export async function cmpMulS(ctx: PartyCtx, x: Share, ys: readonly Share[]): Promise<CmpResult> {
  const n = x.data.length;
  for (const y of ys) invariant(shapeEq(y.shape, x.shape), 'E_SHAPE', 'cmp payloads must have the shape of x');
  const pay = ys.map((y) => (y === x ? 'x' : 'y') as 'x' | 'y');
  const mat = await ctx.corr.take(CMP, { n, pay });
  const r = mat.ring('r'), sA = mat.ring('sA');
  const first = ctx.me === 0;

  // 1. open x̂ and the payloads' masked values
  const toOpen: BigUint64Array[] = [];
  const xr = new BigUint64Array(n);
  for (let i = 0; i < n; i++) xr[i] = x.data[i]! + r[i]!;
  toOpen.push(xr);
  pay.forEach((k, j) => {
    if (k === 'x') return;
    const ry = mat.ring(`ry${j}`), y = ys[j]!.data, v = new BigUint64Array(n);
    for (let i = 0; i < n; i++) v[i] = y[i]! + ry[i]!;
    toOpen.push(v);
  });
  const opened = await openRing(ctx, 'cmp.open', toOpen);
  const xh = opened[0]!;
  const w = new Uint32Array(xh.buffer, xh.byteOffset, 2 * n);

  // 2-3. blocks, then L1 node inputs
  const monB = mat.xor('mon'), mon = new Uint16Array(monB.buffer, monB.byteOffset, n * CMP_BLOCKS);
  const m1 = mat.xor('m1');
  const in1 = new Uint8Array(4 * n);
  const G = new Uint8Array(CMP_BLOCKS), E = new Uint8Array(CMP_BLOCKS);
  for (let i = 0; i < n; i++) {
    const lo = w[2 * i]!, hi = w[2 * i + 1]!;
    for (let j = 0; j < CMP_BLOCKS; j++) {
      const v = j < 8 ? (lo >>> (4 * j)) & 0xf : (hi >>> (4 * (j - 8))) & (j === 15 ? 0x7 : 0xf);
      const mj = mon[i * CMP_BLOCKS + j]!;
      G[j] = parity32(BLOCK4.anfLt[v]! & mj);
      E[j] = parity32(BLOCK4.anfEq[v]! & mj);
    }
    for (let t = 0; t < 4; t++) {
      const b = 4 * t;
      const byte = G[b]! | (G[b + 1]! << 1) | (G[b + 2]! << 2) | (G[b + 3]! << 3)
        | (E[b + 1]! << 4) | (E[b + 2]! << 5) | (E[b + 3]! << 6) | (E[b]! << 7);
      in1[4 * i + t] = byte ^ m1[4 * i + t]!;
    }
  }
  const [u1] = await openBytes(ctx, 'cmp.l1', [in1]);

  // 4. L1 outputs → top node inputs
  const mm1B = mat.xor('mm1'), mm1 = new Uint32Array(mm1B.buffer, mm1B.byteOffset, 4 * n);
  const m2 = mat.xor('m2');
  const in2 = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let byte = 0;
    for (let t = 0; t < 4; t++) {
      const u = u1![4 * i + t]!, mmv = mm1[4 * i + t]!;
      let g = parity32(CMP_L1.coefXor[u]! & mmv), e = parity32(CMP_L1.coefXor[256 + u]! & mmv);
      if (first) { g ^= CMP_L1.constant[u]!; e ^= CMP_L1.constant[256 + u]!; }
      byte |= g << t;
      if (t > 0) byte |= e << (3 + t);
    }
    in2[i] = byte ^ m2[i]!;
  }
  const u2 = await openFields(ctx, 'cmp.top', in2, 7);

  // 5. b = [x ≥ 0] as XOR shares, masked by s
  const mm2B = mat.xor('mm2'), mm2 = new Uint32Array(mm2B.buffer, mm2B.byteOffset, n);
  const r63 = mat.xor('r63'), s = mat.xor('s');
  const bm = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const u = u2[i]!;
    let msb = parity32(CMP_TOP.coefXor[u]! & mm2[i]!) ^ r63[i]!;
    if (first) msb ^= CMP_TOP.constant[u]! ^ (w[2 * i + 1]! >>> 31) ^ 1; // ⊕1: b = 1 − MSB
    bm[i] = (msb ^ s[i]!) & 1;
  }
  const [bh] = await openBits(ctx, 'cmp.select', [bm]);

  const bit = new BigUint64Array(n);
  for (let i = 0; i < n; i++) bit[i] = bh![i]! ? (first ? 1n : 0n) - sA[i]! : sA[i]! + (first ? 0n : 0n);
  let extra = 1;
  const prods = ys.map((y, j) => {
    const yh = pay[j] === 'x' ? xh : opened[extra++]!;
    const sr = mat.ring(`sr${j}`), out = new BigUint64Array(n);
    for (let i = 0; i < n; i++) {
      const sy = yh[i]! * sA[i]! - sr[i]!; // share of s·y
      out[i] = bh![i]! ? y.data[i]! - sy : sy;
    }
    return share(y.shape, out, y.fracBits);
  });
  return { bit: share(x.shape, bit, 0), prods };
}
