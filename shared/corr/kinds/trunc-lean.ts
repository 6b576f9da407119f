/**
 * Material for the lean exact truncation (protocol/trunc.ts, `truncLeanS`), 1 ≤ s ≤ 16: the low
 * bits are compared in 4-bit blocks (16-bit monomial vectors instead of 256-bit ones) and the
 * borrow leaves its node as an XOR bit that one more opened bit turns arithmetic. One round more
 * than `trunc`, a third of its dealer bytes: party 1's correction per element for s = 16 is
 * 8 (rhi) + 8 (rmsb) + 8 (4 monomial vectors) + 4 (node monomials) + 8 (sA) = 36 bytes.
 */
import { z } from 'zod';
import { BLOCK4, buildNode, maskMonomials, prefixLtTerms, type NodeTables } from '../../ring/bit-tables.js';
import { Material, defineKind, ring, xor } from '../kind.js';

export const LEAN_TRUNC_MAX_BITS = 16;

/** XOR-output borrow node for nb 4-bit blocks (inputs G_0..G_{nb−1}, E_1..E_{nb−1}). */
export const LEAN_TRUNC_NODES: readonly NodeTables[] = [1, 2, 3, 4].map((nb) =>
  buildNode({ inputs: 2 * nb - 1, outputs: [prefixLtTerms(nb)], out: 'xor' }));

export const leanBlocks = (s: number): number => Math.ceil(s / 4);

export const TRUNC_LEAN = defineKind({
  name: 'trunc.lean',
  params: z.object({ n: z.number().int().nonnegative(), s: z.number().int().min(1).max(LEAN_TRUNC_MAX_BITS) }),
  fields: (p) => [
    ring('r', p.n), ring('rhi', p.n, true), ring('rmsb', p.n, true),
    xor('mon', p.n * leanBlocks(p.s) * 2, true), xor('m', p.n), xor('mm', p.n * 4, true),
    xor('sb', p.n), ring('sA', p.n, true),
  ],
  derive(free, p) {
    const nb = leanBlocks(p.s), node = LEAN_TRUNC_NODES[nb - 1]!;
    const r = free.ring('r'), m = free.xor('m'), sb = free.xor('sb');
    const rhi = new BigUint64Array(p.n), rmsb = new BigUint64Array(p.n), sA = new BigUint64Array(p.n);
    const mon = new Uint8Array(p.n * nb * 2), mon16 = new Uint16Array(mon.buffer);
    const mm = new Uint8Array(p.n * 4), mm32 = new Uint32Array(mm.buffer);
    const S = BigInt(p.s), low = (1n << S) - 1n;
    for (let i = 0; i < p.n; i++) {
      const ri = r[i]!;
      rhi[i] = ri >> S;
      rmsb[i] = ri >> 63n;
      const rl = Number(ri & low);
      for (let j = 0; j < nb; j++) mon16[i * nb + j] = BLOCK4.subsetInd[(rl >>> (4 * j)) & 0xf]!;
      mm32[i] = maskMonomials(node, m[i]!) >>> 0;
      sA[i] = BigInt(sb[i]! & 1);
    }
    return new Material().set('rhi', rhi).set('rmsb', rmsb).set('mon', mon).set('mm', mm).set('sA', sA);
  },
});
