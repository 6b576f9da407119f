/**
 * Material for digit look-up tables and piecewise-linear splines (protocol/lut.ts).
 *
 * x ∈ [0, 2^k) is opened as x̂ = x + r mod 2^k. For each field (s, w): the digit d = bits [s, s+w)
 * of x equals (x̂_h − r_h − β) mod 2^w with β = [x̂ mod 2^s < r mod 2^s] (the borrow), and
 * x mod 2^s = x̂_l − r_l + 2^s·β. The parties get β as XOR shares (4-bit blocks of r_l and at most
 * one prefix node, as in trunc), open β̂ = β ⊕ s', and then use the dealer's one-hot
 * f_β̂ = e[(r_h + β) mod 2^w] — both branches are dealt, because β = β̂ ⊕ s' is secret:
 *   f0 = e[r_h + s'],  f1 = e[r_h + 1 − s']  (mod 2^w),
 * and for a linear term in x mod 2^s also g_α = K_α·f_α with K_α = r_l − 2^s·(α ⊕ s').
 *
 * Fields per element and field q: mon_q (2 bytes per 4-bit block of r_l), m_q / mm_q (node mask
 * byte, u32 mask monomials; only when s > 4), sp_q (s'), f0_q, f1_q (2^w ring each; f1 only when
 * s > 0), g0_q, g1_q (when the table has a slope), and for a field whose table value multiplies
 * another field's output: ry_q (free mask of that output) and h0_q, h1_q = f_α·ry_q. Party 1's
 * correction per element for one field
 * (s = 0, w): 8·2^w bytes (the one-hot); (s > 4, w, linear): 2·⌈s/4⌉ + 4 + 32·2^w bytes.
 */
import { z } from 'zod';
import { BLOCK4, maskMonomials } from '../../ring/bit-tables.js';
import { invariant } from '../../util/errors.js';
import { Material, defineKind, ring, xor, type FieldSpec } from '../kind.js';
import { blockOf, treeNode } from './compare-k.js';

export const LUT_MAX_S = 16;
export const LUT_MAX_W = 16;

export const LutFieldParams = z.object({
  s: z.number().int().min(0).max(LUT_MAX_S),
  w: z.number().int().min(1).max(LUT_MAX_W),
  lin: z.boolean(),
  /** The field's table value multiplies the output of field `times` (opened once more, masked). */
  times: z.number().int().nonnegative().optional(),
});

export const LutParams = z.object({
  n: z.number().int().nonnegative(),
  k: z.number().int().min(1).max(64),
  f: z.array(LutFieldParams).min(1).max(8),
}).refine((p) => p.f.every((f) => f.s + f.w <= p.k && (!f.lin || f.s > 0)), 'each digit must fit in k bits; a slope needs s > 0')
  .refine((p) => p.f.every((f, q) => f.times === undefined || (!f.lin && f.times !== q && f.times < p.f.length && p.f[f.times]!.times === undefined)),
    'a product field has no slope and multiplies another, plain field');
export type LutParams = z.infer<typeof LutParams>;

/** Blocks of the low s bits and the borrow node (undefined when one block suffices). */
export function lutBorrow(s: number): { nb: number; blockBits: number[]; node: ReturnType<typeof treeNode> | undefined } {
  const nb = Math.ceil(s / 4);
  const blockBits = Array.from({ length: nb }, (_, b) => Math.min(4, s - 4 * b));
  return { nb, blockBits, node: nb > 1 ? treeNode(false, nb, false) : undefined };
}

export const LUT = defineKind({
  name: 'lut',
  params: LutParams,
  fields: (p) => {
    const f: FieldSpec[] = [ring('r', p.n)];
    p.f.forEach((fd, q) => {
      const W = 1 << fd.w, { nb, node } = lutBorrow(fd.s);
      if (fd.s > 0) {
        f.push(xor(`mon${q}`, p.n * nb * 2, true));
        if (node) f.push(xor(`m${q}`, p.n), xor(`mm${q}`, p.n * 4, true));
        f.push(xor(`sp${q}`, p.n));
      }
      f.push(ring(`f0_${q}`, p.n * W, true));
      if (fd.s > 0) f.push(ring(`f1_${q}`, p.n * W, true));
      if (fd.lin) f.push(ring(`g0_${q}`, p.n * W, true), ring(`g1_${q}`, p.n * W, true));
      if (fd.times !== undefined) {
        f.push(ring(`ry${q}`, p.n), ring(`h0_${q}`, p.n * W, true));
        if (fd.s > 0) f.push(ring(`h1_${q}`, p.n * W, true));
      }
    });
    return f;
  },
  derive(free, p) {
    const r = free.ring('r'), rw = new Uint32Array(r.buffer, r.byteOffset, 2 * p.n);
    const kMask = p.k === 64 ? (1n << 64n) - 1n : (1n << BigInt(p.k)) - 1n;
    const out = new Material();
    p.f.forEach((fd, q) => {
      const W = 1 << fd.w, { nb, blockBits, node } = lutBorrow(fd.s), S = BigInt(fd.s);
      invariant(fd.s + fd.w <= p.k, 'E_INTERNAL', 'digit outside k bits');
      const mon = new Uint16Array(p.n * nb), mm = new Uint32Array(node ? p.n : 0);
      const f0 = new BigUint64Array(p.n * W), f1 = new BigUint64Array(fd.s > 0 ? p.n * W : 0);
      const g0 = new BigUint64Array(fd.lin ? p.n * W : 0), g1 = new BigUint64Array(fd.lin ? p.n * W : 0);
      const sp = fd.s > 0 ? free.xor(`sp${q}`) : undefined, m = node ? free.xor(`m${q}`) : undefined;
      for (let i = 0; i < p.n; i++) {
        const rk = r[i]! & kMask;
        const rl = rk & ((1n << S) - 1n), rh = Number((rk >> S) & BigInt(W - 1));
        for (let b = 0; b < nb; b++) mon[i * nb + b] = BLOCK4.subsetInd[blockOf(rw[2 * i]!, rw[2 * i + 1]!, b, blockBits[b]!)]!;
        if (node) mm[i] = maskMonomials(node, m![i]!) >>> 0;
        const s1 = sp ? sp[i]! & 1 : 0;
        const rho0 = (rh + s1) & (W - 1), rho1 = (rh + 1 - s1) & (W - 1);
        f0[i * W + rho0] = 1n;
        if (fd.s > 0) f1[i * W + rho1] = 1n;
        if (fd.lin) {
          g0[i * W + rho0] = rl - (BigInt(s1) << S);
          g1[i * W + rho1] = rl - (BigInt(1 - s1) << S);
        }
      }
      if (fd.s > 0) {
        out.set(`mon${q}`, new Uint8Array(mon.buffer));
        if (node) out.set(`mm${q}`, new Uint8Array(mm.buffer));
        out.set(`f1_${q}`, f1);
      }
      out.set(`f0_${q}`, f0);
      if (fd.lin) out.set(`g0_${q}`, g0).set(`g1_${q}`, g1);
      if (fd.times !== undefined) {
        const ry = free.ring(`ry${q}`), h0 = new BigUint64Array(p.n * W), h1 = new BigUint64Array(fd.s > 0 ? p.n * W : 0);
        for (let i = 0; i < p.n * W; i++) {
          h0[i] = f0[i]! * ry[Math.floor(i / W)]!;
          if (fd.s > 0) h1[i] = f1[i]! * ry[Math.floor(i / W)]!;
        }
        out.set(`h0_${q}`, h0);
        if (fd.s > 0) out.set(`h1_${q}`, h1);
      }
    });
    return out;
  },
});
