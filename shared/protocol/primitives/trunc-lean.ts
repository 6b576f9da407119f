/**
 * trunc.lean: the same exact truncation as trunc.ts for 1 ≤ s ≤ 16 with a third of the dealer
 * bytes and one round more; Prims.trunc picks it for bulk work (`useLeanTrunc`, a function of
 * public shapes, so dealer, parties and declared costs agree).
 *
 * Kind `trunc.lean`. Rounds: 3. Online bytes per element: 8 + (2⌈s/4⌉−1)/8 + 1/8 (s=16: 9).
 * Dealer bytes to party 1 per element (s = 16): 8 (r_h) + 8 (msb r) + 8 (4-bit block monomials)
 * + 4 (node monomials) + 8 (s) = 36. Same exact floor, same domain |x| < 2^62.
 * Protocol: trunc.ts's steps with 4-bit blocks (16-bit monomial vectors instead of 256-bit ones);
 * the borrow node has an XOR output, and a third round opens borrow ⊕ s (s a dealer bit with
 * arithmetic shares sA, so the opened bit is uniform) to make it arithmetic: c = ĉ + (1 − 2ĉ)·s.
 */
import { z } from 'zod';
import { Material, defineKind, ring, xor } from '../../corr/kind.js';
import { BLOCK4, buildNode, maskMonomials, parity32, prefixLtTerms, type NodeTables } from '../../ring/bit-tables.js';
import { numel } from '../../ring/tensor.js';
import { definePrimitive, differs, uniformInput } from '../primitive.js';
import { openBits, openFields } from '../open.js';
import { assemble, openShifted, relationOfMask, shiftClear, truncOutputs, type TruncOpts } from './trunc.js';

export const LEAN_TRUNC_MAX_BITS = 16;
export const LEAN_TRUNC_MIN_ELEMENTS = 4096;

/** Which truncation runs for n elements by s bits: the lean one for bulk work such as a prefill. */
export function useLeanTrunc(n: number, s: number): boolean {
  return n >= LEAN_TRUNC_MIN_ELEMENTS && s <= LEAN_TRUNC_MAX_BITS;
}

/** XOR-output borrow node for nb 4-bit blocks (inputs G_0..G_{nb−1}, E_1..E_{nb−1}). */
const NODES: readonly NodeTables[] = [1, 2, 3, 4].map((nb) =>
  buildNode({ inputs: 2 * nb - 1, outputs: [prefixLtTerms(nb)], out: 'xor' }),
);
const blocks = (s: number): number => Math.ceil(s / 4);

const LeanParams = z.object({ n: z.number().int().nonnegative(), s: z.number().int().min(1).max(LEAN_TRUNC_MAX_BITS) });
type LeanParams = z.infer<typeof LeanParams>;

/** The node's masked input bits from x̂'s low s bits and the dealer's 4-bit block monomials. */
function nodeInputs(xh: BigUint64Array, s: number, mon: Uint16Array, m: Uint8Array): Uint8Array {
  const n = xh.length,
    nb = blocks(s),
    w32 = new Uint32Array(xh.buffer, xh.byteOffset, 2 * n);
  const lowMask = (1 << s) - 1,
    topBits = s - 4 * (nb - 1),
    inputs = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const xl = w32[2 * i]! & lowMask;
    let bitsIn = 0;
    for (let j = 0; j < nb; j++) {
      const v = (xl >>> (4 * j)) & (j === nb - 1 ? (1 << topBits) - 1 : 0xf),
        mj = mon[i * nb + j]!;
      bitsIn |= parity32(BLOCK4.anfLt[v]! & mj) << j;
      if (j > 0) bitsIn |= parity32(BLOCK4.anfEq[v]! & mj) << (nb + j - 1);
    }
    inputs[i] = bitsIn ^ m[i]!;
  }
  return inputs;
}

export const TRUNC_LEAN = definePrimitive<TruncOpts, LeanParams>({
  name: 'trunc.lean',
  kind: defineKind({
    name: 'trunc.lean',
    params: LeanParams,
    rounds: (p) => [{ u64: [p.n] }, { bits: [p.n * (2 * blocks(p.s) - 1)] }, { bits: [p.n] }],
    fields: (p) => [
      ring('r', p.n),
      ring('rhi', p.n, true),
      ring('rmsb', p.n, true),
      xor('mon', p.n * blocks(p.s) * 2, true),
      xor('m', p.n),
      xor('mm', p.n * 4, true),
      xor('sb', p.n),
      ring('sA', p.n, true),
    ],
    derive(free, p) {
      const nb = blocks(p.s),
        node = NODES[nb - 1]!,
        r = free.ring('r'),
        m = free.xor('m'),
        sb = free.xor('sb');
      const rhi = new BigUint64Array(p.n),
        rmsb = new BigUint64Array(p.n),
        sA = new BigUint64Array(p.n);
      const mon = new Uint8Array(p.n * nb * 2),
        mon16 = new Uint16Array(mon.buffer);
      const mm = new Uint8Array(p.n * 4),
        mm32 = new Uint32Array(mm.buffer);
      const S = BigInt(p.s),
        low = (1n << S) - 1n;
      for (let i = 0; i < p.n; i++) {
        const ri = r[i]!,
          rl = Number(ri & low);
        rhi[i] = ri >> S;
        rmsb[i] = ri >> 63n;
        for (let j = 0; j < nb; j++) mon16[i * nb + j] = BLOCK4.subsetInd[(rl >>> (4 * j)) & 0xf]!;
        mm32[i] = maskMonomials(node, m[i]!) >>> 0;
        sA[i] = BigInt(sb[i]! & 1);
      }
      return new Material().set('rhi', rhi).set('rmsb', rmsb).set('mon', mon).set('mm', mm).set('sA', sA);
    },
  }),
  params: ([x], o) => ({ n: numel(x!.shape), s: o.s }),
  outputs: truncOutputs,
  clear: ({ p, xs: [x] }) => [shiftClear(x!.data, p.s)],
  async secure(ctx, mat, { p, xs: [x] }) {
    const { n, s } = p,
      nb = blocks(s),
      node = NODES[nb - 1]!,
      first = ctx.me === 0,
      sA = mat.ring('sA');
    const monB = mat.xor('mon'),
      mmB = mat.xor('mm'),
      mm = new Uint32Array(mmB.buffer, mmB.byteOffset, n),
      sb = mat.xor('sb');
    // 1. open x̂ = x + 2^62 + r
    const xh = await openShifted(ctx, x!.data, mat.ring('r'));
    // 3. masked node inputs (round 2), then the XOR borrow masked by s (round 3)
    const opened = await openFields(
      ctx,
      'trunc.carry',
      nodeInputs(xh, s, new Uint16Array(monB.buffer, monB.byteOffset, n * nb), mat.xor('m')),
      2 * nb - 1,
    );
    const cm = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const u = opened[i]!;
      let c = parity32(node.coefXor[u]! & mm[i]!);
      if (first) c ^= node.constant[u]!;
      cm[i] = (c ^ sb[i]!) & 1;
    }
    const [ch] = await openBits(ctx, 'trunc.b2a', [cm]);
    // borrow c = ĉ ⊕ s = ĉ + (1 − 2ĉ)·s; 2 + 4. assemble
    const c = new BigUint64Array(n);
    for (let i = 0; i < n; i++) c[i] = ch![i]! ? (first ? 1n : 0n) - sA[i]! : sA[i]!;
    return [assemble(ctx, xh, s, mat.ring('rhi'), mat.ring('rmsb'), c)];
  },
  relation(v, p) {
    const nb = blocks(p.s),
      node = NODES[nb - 1]!,
      r = v.ring('r');
    const mon = new Uint16Array(v.xor('mon').slice().buffer),
      mm = new Uint32Array(v.xor('mm').slice().buffer),
      m = v.xor('m');
    const low = (i: number): number => Number(r[i]! & ((1n << BigInt(p.s)) - 1n));
    return (
      differs(
        'mon',
        mon,
        Array.from(mon, (_, e) => BLOCK4.subsetInd[(low(Math.floor(e / nb)) >>> (4 * (e % nb))) & 0xf]!),
      ) ??
      differs(
        'mm',
        mm,
        Array.from(mm, (_, i) => maskMonomials(node, m[i]!) >>> 0),
      ) ??
      differs(
        'sA',
        v.ring('sA'),
        Array.from(v.xor('sb'), (b) => b & 1),
      ) ??
      relationOfMask(v, p)
    );
  },
  example: (rng) => {
    const s = [1, 3, 4, 9, 16][rng.int(0, 5)]!;
    return {
      inputs: [uniformInput(rng, [LEAN_TRUNC_MIN_ELEMENTS], -(2 ** 20), 2 ** 20, 40)],
      program: async (P, [x]) => [await P.trunc(x!, s)],
    };
  },
});
