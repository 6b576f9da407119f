/**
 * Exact truncation: shares of ⌊x / 2^s⌋ for shared x with |x| < 2^62. Deterministic, so the
 * fixed-point emulation (a plain arithmetic shift) matches it bit for bit.
 *
 * Kinds: trunc. Rounds: 2. Online bytes per element per party: 8 + (2⌈s/8⌉−1)/8 (s=16: 8.375).
 * Dealer bytes to party 1 per element (s=16): 112. For s > 32 the truncation runs in 32-bit steps.
 *
 * Protocol (x' = x + 2^62 ∈ [0, 2^63), so only the mask can make x' + r wrap):
 *  1. Open x̂ = x' + r (r uniform, so x̂ is uniform: nothing about x is revealed).
 *  2. Locally: with x̂ = x̂_h·2^s + x̂_l and r = r_h·2^s + r_l,
 *       ⌊x'/2^s⌋ = x̂_h − r_h − c + w·2^(64−s),
 *     where w = msb(r)·(1 − msb(x̂)) is the wrap bit (linear in the dealer's shared msb(r) because
 *     msb(x') = 0) and c = [x̂_l < r_l] is the borrow from the low bits.
 *  3. c: split the low s bits into 8-bit blocks; each party computes XOR shares of
 *     G_j = [x̂_j < r_j] and E_j = [x̂_j = r_j] locally from the dealer's monomial vectors
 *     (ring/bit-tables.ts); the prefix formula c = Σ_j G_j Π_{k>j} E_k is one node evaluated with
 *     arithmetic output: open the 2nb−1 bits masked by fresh dealer bits (round 2).
 *  4. ⌊x/2^s⌋ = ⌊x'/2^s⌋ − 2^(62−s).
 * Reference: the masked-wrap trick is standard (e.g. SecureML/Cheetah-style truncation analyses);
 * the block/monomial evaluation of the borrow is this project's (docs/protocols.md).
 */
import { invariant } from '../util/errors.js';
import { TRUNC, TRUNC_NODES, truncBlocks, MAX_TRUNC_BITS, TRUNC_LEAN, LEAN_TRUNC_NODES, LEAN_TRUNC_MAX_BITS, leanBlocks } from '../corr/kinds/index.js';
import { BLOCK4, BLOCK8, parity32 } from '../ring/bit-tables.js';
import { shrInto } from '../ring/ops.js';
import { share, type Share } from '../ring/tensor.js';
import type { PartyCtx } from './ctx.js';
import { openBits, openFields, openRing } from './open.js';

const TWO62 = 1n << 62n;

/**
 * Which truncation protocol runs for n elements by s bits: the lean one (3 rounds, 36 B of dealer
 * material at s = 16) for bulk work such as a prefill, the fast one (2 rounds, 112 B) otherwise.
 * A function of public shapes, so dealer, parties and cost declarations agree.
 */
export const LEAN_TRUNC_MIN_ELEMENTS = 4096;
export function useLeanTrunc(n: number, s: number): boolean {
  return n >= LEAN_TRUNC_MIN_ELEMENTS && s <= LEAN_TRUNC_MAX_BITS;
}

export async function truncS(ctx: PartyCtx, x: Share, s: number): Promise<Share> {
  invariant(Number.isInteger(s) && s >= 0 && s <= x.fracBits, 'E_INTERNAL', `truncation by ${s} bits of a value with ${x.fracBits} fractional bits`);
  if (s === 0) return x;
  if (s > MAX_TRUNC_BITS) return truncS(ctx, await truncS(ctx, x, MAX_TRUNC_BITS), s - MAX_TRUNC_BITS);
  if (useLeanTrunc(x.data.length, s)) return truncLeanS(ctx, x, s);
  const n = x.data.length, nb = truncBlocks(s), node = TRUNC_NODES[nb - 1]!, ns = node.subsets.length;
  const mat = await ctx.corr.take(TRUNC, { n, s });
  const r = mat.ring('r'), rhi = mat.ring('rhi'), rmsb = mat.ring('rmsb'), mm = mat.ring('mm');
  const monBytes = mat.xor('mon'), mon = new Uint32Array(monBytes.buffer, monBytes.byteOffset, monBytes.byteLength / 4);
  const m = mat.xor('m');
  const first = ctx.me === 0;

  // 1. open x̂ = x + 2^62 + r
  const masked = new BigUint64Array(n);
  for (let i = 0; i < n; i++) masked[i] = x.data[i]! + r[i]! + (first ? TWO62 : 0n);
  const [xh] = await openRing(ctx, 'trunc.open', [masked]);
  const w32 = new Uint32Array(xh!.buffer, xh!.byteOffset, 2 * n);

  // 3. block comparisons → masked node inputs
  const lowMask = s === 32 ? 0xffffffff : (1 << s) - 1;
  const inputs = new Uint8Array(n);
  const lt = BLOCK8.anfLt, eq = BLOCK8.anfEq;
  for (let i = 0; i < n; i++) {
    const xl = (w32[2 * i]! & lowMask) >>> 0;
    let bitsIn = 0;
    for (let j = 0; j < nb; j++) {
      const v = (xl >>> (8 * j)) & 0xff, base = (i * nb + j) * 8, vb = v * 8;
      let g = 0, e = 0;
      for (let k = 0; k < 8; k++) {
        const mk = mon[base + k]!;
        g ^= lt[vb + k]! & mk;
        if (j > 0) e ^= eq[vb + k]! & mk;
      }
      bitsIn |= parity32(g) << j;
      if (j > 0) bitsIn |= parity32(e) << (nb + j - 1);
    }
    inputs[i] = bitsIn ^ m[i]!;
  }
  const opened = await openFields(ctx, 'trunc.carry', inputs, 2 * nb - 1);

  // 2 + 4. assemble the result
  const hi = new BigUint64Array(n);
  shrInto(hi, xh!, s);
  const out = new BigUint64Array(n);
  const wrapUnit = 1n << BigInt(64 - s), offset = 1n << BigInt(62 - s);
  for (let i = 0; i < n; i++) {
    const u = opened[i]!;
    let c = 0n;
    const cb = u * ns, mb = i * ns;
    for (let k = 0; k < ns; k++) c += node.coefArithBig[cb + k]! * mm[mb + k]!;
    let v = -rhi[i]! - c;
    if (first) v += hi[i]! - offset - node.constantBig[u]!;
    if ((w32[2 * i + 1]! >>> 31) === 0) v += wrapUnit * rmsb[i]!;
    out[i] = v;
  }
  return share(x.shape, out, x.fracBits - s);
}

/**
 * Lean variant (s ≤ 16): the same steps with 4-bit blocks; the borrow node has an XOR output and
 * a third round opens borrow ⊕ s (s a dealer bit with arithmetic shares) to make it arithmetic.
 * Kinds: trunc.lean. Rounds: 3. Online bytes per element: 8 + (2⌈s/4⌉−1)/8 + 1/8 (s=16: 9).
 * Dealer bytes to party 1 per element (s=16): 36. Same exact floor, same domain |x| < 2^62.
 */
async function truncLeanS(ctx: PartyCtx, x: Share, s: number): Promise<Share> {
  const n = x.data.length, nb = leanBlocks(s), node = LEAN_TRUNC_NODES[nb - 1]!;
  const mat = await ctx.corr.take(TRUNC_LEAN, { n, s });
  const r = mat.ring('r'), rhi = mat.ring('rhi'), rmsb = mat.ring('rmsb'), sA = mat.ring('sA');
  const monB = mat.xor('mon'), mon = new Uint16Array(monB.buffer, monB.byteOffset, n * nb);
  const mmB = mat.xor('mm'), mm = new Uint32Array(mmB.buffer, mmB.byteOffset, n);
  const m = mat.xor('m'), sb = mat.xor('sb');
  const first = ctx.me === 0;

  const masked = new BigUint64Array(n);
  for (let i = 0; i < n; i++) masked[i] = x.data[i]! + r[i]! + (first ? TWO62 : 0n);
  const [xh] = await openRing(ctx, 'trunc.open', [masked]);
  const w32 = new Uint32Array(xh!.buffer, xh!.byteOffset, 2 * n);

  const lowMask = (1 << s) - 1, topBits = s - 4 * (nb - 1);
  const inputs = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const xl = w32[2 * i]! & lowMask;
    let bitsIn = 0;
    for (let j = 0; j < nb; j++) {
      const v = (xl >>> (4 * j)) & (j === nb - 1 ? (1 << topBits) - 1 : 0xf), mj = mon[i * nb + j]!;
      bitsIn |= parity32(BLOCK4.anfLt[v]! & mj) << j;
      if (j > 0) bitsIn |= parity32(BLOCK4.anfEq[v]! & mj) << (nb + j - 1);
    }
    inputs[i] = bitsIn ^ m[i]!;
  }
  const opened = await openFields(ctx, 'trunc.carry', inputs, 2 * nb - 1);

  const cm = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const u = opened[i]!;
    let c = parity32(node.coefXor[u]! & mm[i]!);
    if (first) c ^= node.constant[u]!;
    cm[i] = (c ^ sb[i]!) & 1;
  }
  const [ch] = await openBits(ctx, 'trunc.b2a', [cm]);

  const hi = new BigUint64Array(n);
  shrInto(hi, xh!, s);
  const out = new BigUint64Array(n);
  const wrapUnit = 1n << BigInt(64 - s), offset = 1n << BigInt(62 - s);
  for (let i = 0; i < n; i++) {
    // borrow c = ĉ ⊕ s = ĉ + (1 − 2ĉ)·s
    const c = ch![i]! ? (first ? 1n : 0n) - sA[i]! : sA[i]!;
    let v = -rhi[i]! - c;
    if (first) v += hi[i]! - offset;
    if ((w32[2 * i + 1]! >>> 31) === 0) v += wrapUnit * rmsb[i]!;
    out[i] = v;
  }
  return share(x.shape, out, x.fracBits - s);
}
