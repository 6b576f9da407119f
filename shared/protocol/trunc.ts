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
import { TRUNC, TRUNC_NODES, truncBlocks, MAX_TRUNC_BITS } from '../corr/kinds/index.js';
import { BLOCK8, parity32 } from '../ring/bit-tables.js';
import { shrInto } from '../ring/ops.js';
import { share, type Share } from '../ring/tensor.js';
import type { PartyCtx } from './ctx.js';
import { openFields, openRing } from './open.js';

const TWO62 = 1n << 62n;

export async function truncS(ctx: PartyCtx, x: Share, s: number): Promise<Share> {
  invariant(Number.isInteger(s) && s >= 0 && s <= x.fracBits, 'E_INTERNAL', `truncation by ${s} bits of a value with ${x.fracBits} fractional bits`);
  if (s === 0) return x;
  if (s > MAX_TRUNC_BITS) return truncS(ctx, await truncS(ctx, x, MAX_TRUNC_BITS), s - MAX_TRUNC_BITS);
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
