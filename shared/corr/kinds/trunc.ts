/**
 * Material for exact truncation by s bits (protocol/trunc.ts), 1 ≤ s ≤ 32.
 *
 * Fields per element: r (free mask), rhi = r >> s, rmsb = r >> 63 (arithmetic shares), the
 * monomial vectors of each 8-bit block of r's low s bits (nb = ⌈s/8⌉ blocks × 32 bytes, XOR
 * shares; see ring/bit-tables.ts), one mask byte for the carry node's 2nb−1 input bits, and the
 * arithmetic values of the node's mask monomials. Party 1's correction per element for s = 16:
 * 8 + 8 + 64 + 4·8 = 112 bytes.
 */
import { z } from 'zod';
import { invariant } from '../../util/errors.js';
import { BLOCK8, buildNode, prefixLtTerms, type NodeTables } from '../../ring/bit-tables.js';
import { Material, defineKind, ring, xor } from '../kind.js';

export const MAX_TRUNC_BITS = 32;

/** Carry node for nb blocks: inputs G_0..G_{nb−1}, E_1..E_{nb−1}; arithmetic output [low(x̂) < low(r)]. */
export const TRUNC_NODES: readonly NodeTables[] = [1, 2, 3, 4].map((nb) =>
  buildNode({ inputs: 2 * nb - 1, outputs: [prefixLtTerms(nb)], out: 'arith' }));

export const truncBlocks = (s: number): number => Math.ceil(s / 8);

const P = z.object({ n: z.number().int().nonnegative(), s: z.number().int().min(1).max(MAX_TRUNC_BITS) });

export const TRUNC = defineKind({
  name: 'trunc',
  params: P,
  fields: (p) => {
    const nb = truncBlocks(p.s), ns = TRUNC_NODES[nb - 1]!.subsets.length;
    return [
      ring('r', p.n), ring('rhi', p.n, true), ring('rmsb', p.n, true),
      xor('mon', p.n * nb * 32, true), xor('m', p.n), ring('mm', p.n * ns, true),
    ];
  },
  derive(free, p) {
    const nb = truncBlocks(p.s), node = TRUNC_NODES[nb - 1]!, ns = node.subsets.length;
    invariant(p.s <= MAX_TRUNC_BITS, 'E_INTERNAL', 'trunc bits');
    const r = free.ring('r'), m = free.xor('m');
    const rhi = new BigUint64Array(p.n), rmsb = new BigUint64Array(p.n), mm = new BigUint64Array(p.n * ns);
    const mon = new Uint8Array(p.n * nb * 32);
    const mon32 = new Uint32Array(mon.buffer);
    const S = BigInt(p.s), low = (1n << S) - 1n;
    for (let i = 0; i < p.n; i++) {
      const ri = r[i]!;
      rhi[i] = ri >> S;
      rmsb[i] = ri >> 63n;
      const rl = Number(ri & low);
      for (let j = 0; j < nb; j++) {
        const rho = (rl >>> (8 * j)) & 0xff;
        mon32.set(BLOCK8.subsetInd.subarray(rho * 8, rho * 8 + 8), (i * nb + j) * 8);
      }
      const mi = m[i]!;
      node.subsets.forEach((sub, k) => { mm[i * ns + k] = (sub & ~mi) === 0 ? 1n : 0n; });
    }
    return new Material().set('rhi', rhi).set('rmsb', rmsb).set('mon', mon).set('mm', mm);
  },
});
