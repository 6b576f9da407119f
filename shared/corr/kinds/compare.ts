/**
 * Material for the sign test with fused select (protocol/compare.ts).
 *
 * MSB(x) = x̂₆₃ ⊕ r₆₃ ⊕ [x̂₀..₆₂ < r₀..₆₂] for x̂ = x + r. The 63-bit comparison runs on 16 blocks of
 * 4 bits (monomial vectors of r's blocks, 16 bits each), then two layers of 4-ary nodes
 * (L1: (G,E) of 4 blocks; top: G of 4 L1 outputs), then one opened bit b ⊕ s selects payloads.
 *
 * Fields per element: r (free), r63 (xor bit), mon (16 × u16), m1 (4 mask bytes), mm1
 * (4 × u32 mask monomials), m2 (mask byte), mm2 (u32), s (mask bit), sA = s (arithmetic), and per
 * payload j: its mask (r itself when the payload is x, else a fresh ry_j) and s·mask_j.
 * Party 1's correction per element with one payload: 1 + 32 + 16 + 4 + 8 + 8 = 69 bytes.
 */
import { z } from 'zod';
import { BLOCK4, buildNode, maskMonomials, prefixLtTerms, type NodeTables } from '../../ring/bit-tables.js';
import { Material, defineKind, ring, xor, type FieldSpec } from '../kind.js';

/** L1 node inputs: G0..G3 (bits 0-3), E1..E3 (bits 4-6), E0 (bit 7). Outputs: G (prefix <), E (all equal). */
export const CMP_L1: NodeTables = buildNode({ inputs: 8, outputs: [prefixLtTerms(4), [0xf0]], out: 'xor' });
/** Top node inputs: G'0..G'3 (bits 0-3), E'1..E'3 (bits 4-6). Output: G. */
export const CMP_TOP: NodeTables = buildNode({ inputs: 7, outputs: [prefixLtTerms(4)], out: 'xor' });

export const CMP_BLOCKS = 16;

export const CmpParams = z.object({
  n: z.number().int().nonnegative(),
  /** One entry per payload y_j multiplied by the result bit: 'x' (the compared value itself) or 'y'. */
  pay: z.array(z.enum(['x', 'y'])).max(8),
});
export type CmpParams = z.infer<typeof CmpParams>;

export const CMP = defineKind({
  name: 'cmp',
  params: CmpParams,
  fields: (p) => {
    const f: FieldSpec[] = [
      ring('r', p.n), xor('r63', p.n, true), xor('mon', p.n * CMP_BLOCKS * 2, true),
      xor('m1', p.n * 4), xor('mm1', p.n * 16, true), xor('m2', p.n), xor('mm2', p.n * 4, true),
      xor('s', p.n), ring('sA', p.n, true),
    ];
    p.pay.forEach((k, j) => {
      if (k === 'y') f.push(ring(`ry${j}`, p.n));
      f.push(ring(`sr${j}`, p.n, true));
    });
    return f;
  },
  derive(free, p) {
    const r = free.ring('r'), m1 = free.xor('m1'), m2 = free.xor('m2'), s = free.xor('s');
    const r63 = new Uint8Array(p.n), mon = new Uint8Array(p.n * CMP_BLOCKS * 2), mon16 = new Uint16Array(mon.buffer);
    const mm1 = new Uint8Array(p.n * 16), mm1w = new Uint32Array(mm1.buffer);
    const mm2 = new Uint8Array(p.n * 4), mm2w = new Uint32Array(mm2.buffer);
    const sA = new BigUint64Array(p.n);
    const out = new Material();
    for (let i = 0; i < p.n; i++) {
      const ri = r[i]!;
      r63[i] = Number(ri >> 63n);
      const lo = Number(ri & 0xffffffffn), hi = Number((ri >> 32n) & 0xffffffffn);
      for (let j = 0; j < CMP_BLOCKS; j++) {
        const rho = j < 8 ? (lo >>> (4 * j)) & 0xf : (hi >>> (4 * (j - 8))) & (j === 15 ? 0x7 : 0xf);
        mon16[i * CMP_BLOCKS + j] = BLOCK4.subsetInd[rho]!;
      }
      for (let t = 0; t < 4; t++) mm1w[i * 4 + t] = maskMonomials(CMP_L1, m1[i * 4 + t]!) >>> 0;
      mm2w[i] = maskMonomials(CMP_TOP, m2[i]!) >>> 0;
      sA[i] = BigInt(s[i]! & 1);
    }
    out.set('r63', r63).set('mon', mon).set('mm1', mm1).set('mm2', mm2).set('sA', sA);
    p.pay.forEach((k, j) => {
      const mask = k === 'x' ? r : free.ring(`ry${j}`);
      const sr = new BigUint64Array(p.n);
      for (let i = 0; i < p.n; i++) sr[i] = sA[i]! * mask[i]!;
      out.set(`sr${j}`, sr);
    });
    return out;
  },
});
