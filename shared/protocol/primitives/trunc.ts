/**
 * trunc: exact truncation, shares of ⌊x / 2^s⌋ for shared x with |x| < 2^62 and 1 ≤ s ≤ 32
 * (Prims.trunc runs wider shifts in 32-bit steps, and bulk work through trunc-lean.ts).
 * Deterministic, so the emulation (an arithmetic shift) matches it bit for bit.
 *
 * Kind `trunc`. Rounds: 2. Online bytes per element per party: 8 + (2⌈s/8⌉−1)/8 (s=16: 8.375).
 * Dealer bytes to party 1 per element: r_h, msb(r), the monomial vectors of r's 8-bit low blocks
 * and the node's mask monomials: 8 + 8 + 32·⌈s/8⌉ + 8·|subsets| (s = 16: 112).
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
 *     arithmetic output: open its 2nb−1 input bits masked by fresh dealer bits (round 2).
 *  4. ⌊x/2^s⌋ = ⌊x'/2^s⌋ − 2^(62−s).
 * Reference: the masked-wrap trick is standard (e.g. SecureML/Cheetah-style truncation analyses);
 * the block/monomial evaluation of the borrow is this project's (docs/protocols.md).
 */
import { z } from 'zod';
import { Material, defineKind, ring, xor } from '../../corr/kind.js';
import { BLOCK8, buildNode, parity32, prefixLtTerms, type NodeTables } from '../../ring/bit-tables.js';
import { sarInto, shrInto } from '../../ring/u64.js';
import { numel } from '../../ring/tensor.js';
import type { PartyCtx } from '../ctx.js';
import { definePrimitive, differs, uniformInput, type Dealt, type Meta } from '../primitive.js';
import { openFields, openRing } from '../open.js';

export const MAX_TRUNC_BITS = 32;
const TWO62 = 1n << 62n;

/** Borrow node for nb blocks: inputs G_0..G_{nb−1}, E_1..E_{nb−1}; arithmetic output [low(x̂) < low(r)]. */
const NODES: readonly NodeTables[] = [1, 2, 3, 4].map((nb) =>
  buildNode({ inputs: 2 * nb - 1, outputs: [prefixLtTerms(nb)], out: 'arith' }),
);
const blocks = (s: number): number => Math.ceil(s / 8);

const TruncParams = z.object({ n: z.number().int().nonnegative(), s: z.number().int().min(1).max(MAX_TRUNC_BITS) });
export type TruncParams = z.infer<typeof TruncParams>;
export interface TruncOpts {
  readonly s: number;
}

/** Step 1 of both variants: opens x̂ = x + 2^62 + r. */
export async function openShifted(ctx: PartyCtx, x: BigUint64Array, r: BigUint64Array): Promise<BigUint64Array> {
  const masked = new BigUint64Array(x.length),
    first = ctx.me === 0;
  for (let i = 0; i < x.length; i++) masked[i] = x[i]! + r[i]! + (first ? TWO62 : 0n);
  const [xh] = await openRing(ctx, 'trunc.open', [masked]);
  return xh!;
}

/** Steps 2 + 4 of both variants: ⌊x/2^s⌋ = x̂_h − r_h − c + w·2^(64−s) − 2^(62−s), given shares of the borrow c. */
export function assemble(
  ctx: PartyCtx,
  xh: BigUint64Array,
  s: number,
  rhi: BigUint64Array,
  rmsb: BigUint64Array,
  c: BigUint64Array,
): BigUint64Array {
  const n = xh.length,
    first = ctx.me === 0,
    w32 = new Uint32Array(xh.buffer, xh.byteOffset, 2 * n);
  const hi = shrInto(new BigUint64Array(n), xh, s),
    out = new BigUint64Array(n);
  const wrapUnit = 1n << BigInt(64 - s),
    offset = 1n << BigInt(62 - s);
  for (let i = 0; i < n; i++) {
    let v = -rhi[i]! - c[i]!;
    if (first) v += hi[i]! - offset;
    if (w32[2 * i + 1]! >>> 31 === 0) v += wrapUnit * rmsb[i]!;
    out[i] = v;
  }
  return out;
}

/** Step 3, locally: the node's input bits G_0..G_{nb−1}, E_1..E_{nb−1}, masked by the dealer's m. */
function nodeInputs(xh: BigUint64Array, s: number, mon: Uint32Array, m: Uint8Array): Uint8Array {
  const n = xh.length,
    nb = blocks(s),
    w32 = new Uint32Array(xh.buffer, xh.byteOffset, 2 * n);
  const lowMask = s === 32 ? 0xffffffff : (1 << s) - 1,
    lt = BLOCK8.anfLt,
    eq = BLOCK8.anfEq;
  const inputs = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const xl = (w32[2 * i]! & lowMask) >>> 0;
    let bitsIn = 0;
    for (let j = 0; j < nb; j++) {
      const v = (xl >>> (8 * j)) & 0xff,
        base = (i * nb + j) * 8,
        vb = v * 8;
      let g = 0,
        e = 0;
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
  return inputs;
}

/** The exact ring function: ⌊x / 2^s⌋ (x read as signed). */
export const shiftClear = (x: BigUint64Array, s: number): BigUint64Array => sarInto(new BigUint64Array(x.length), x, s);
export const truncOutputs = (p: { s: number }, [x]: readonly Meta[]): Meta[] => [
  { shape: x!.shape, fracBits: x!.fracBits - p.s },
];

/** r_h = r >> s and msb(r) (both variants). */
export function relationOfMask(v: Dealt, p: TruncParams): string | undefined {
  const r = v.ring('r');
  return (
    differs(
      'rhi',
      v.ring('rhi'),
      r.map((x) => x >> BigInt(p.s)),
    ) ??
    differs(
      'rmsb',
      v.ring('rmsb'),
      r.map((x) => x >> 63n),
    )
  );
}

export const TRUNC = definePrimitive<TruncOpts, TruncParams>({
  name: 'trunc',
  kind: defineKind({
    name: 'trunc',
    params: TruncParams,
    rounds: (p) => [{ u64: [p.n] }, { bits: [p.n * (2 * blocks(p.s) - 1)] }],
    fields: (p) => [
      ring('r', p.n),
      ring('rhi', p.n, true),
      ring('rmsb', p.n, true),
      xor('mon', p.n * blocks(p.s) * 32, true),
      xor('m', p.n),
      ring('mm', p.n * NODES[blocks(p.s) - 1]!.subsets.length, true),
    ],
    derive(free, p) {
      const nb = blocks(p.s),
        node = NODES[nb - 1]!,
        ns = node.subsets.length,
        r = free.ring('r'),
        m = free.xor('m');
      const rhi = new BigUint64Array(p.n),
        rmsb = new BigUint64Array(p.n),
        mm = new BigUint64Array(p.n * ns);
      const mon = new Uint8Array(p.n * nb * 32),
        mon32 = new Uint32Array(mon.buffer);
      const S = BigInt(p.s),
        low = (1n << S) - 1n;
      for (let i = 0; i < p.n; i++) {
        const ri = r[i]!,
          rl = Number(ri & low),
          mi = m[i]!;
        rhi[i] = ri >> S;
        rmsb[i] = ri >> 63n;
        for (let j = 0; j < nb; j++) {
          const rho = (rl >>> (8 * j)) & 0xff;
          mon32.set(BLOCK8.subsetInd.subarray(rho * 8, rho * 8 + 8), (i * nb + j) * 8);
        }
        node.subsets.forEach((sub, k) => {
          mm[i * ns + k] = (sub & ~mi) === 0 ? 1n : 0n;
        });
      }
      return new Material().set('rhi', rhi).set('rmsb', rmsb).set('mon', mon).set('mm', mm);
    },
  }),
  params: ([x], o) => ({ n: numel(x!.shape), s: o.s }),
  outputs: truncOutputs,
  clear: ({ p, xs: [x] }) => [shiftClear(x!.data, p.s)],
  async secure(ctx, mat, { p, xs: [x] }) {
    const nb = blocks(p.s),
      node = NODES[nb - 1]!,
      ns = node.subsets.length,
      first = ctx.me === 0;
    const monB = mat.xor('mon'),
      mm = mat.ring('mm');
    // 1. open x̂ = x + 2^62 + r
    const xh = await openShifted(ctx, x!.data, mat.ring('r'));
    // 3. block comparisons → masked node inputs → shares of the borrow
    const opened = await openFields(
      ctx,
      'trunc.carry',
      nodeInputs(xh, p.s, new Uint32Array(monB.buffer, monB.byteOffset, monB.byteLength / 4), mat.xor('m')),
      2 * nb - 1,
    );
    const c = new BigUint64Array(p.n);
    for (let i = 0; i < p.n; i++) {
      const u = opened[i]!,
        cb = u * ns,
        mb = i * ns;
      let ci = 0n;
      for (let k = 0; k < ns; k++) ci += node.coefArithBig[cb + k]! * mm[mb + k]!;
      c[i] = first ? ci + node.constantBig[u]! : ci;
    }
    // 2 + 4. assemble
    return [assemble(ctx, xh, p.s, mat.ring('rhi'), mat.ring('rmsb'), c)];
  },
  relation(v, p) {
    const nb = blocks(p.s),
      node = NODES[nb - 1]!,
      ns = node.subsets.length,
      r = v.ring('r'),
      m = v.xor('m');
    const mon = new Uint32Array(v.xor('mon').slice().buffer),
      mm = v.ring('mm');
    for (let i = 0; i < p.n; i++) {
      const low = Number(r[i]! & ((1n << BigInt(p.s)) - 1n));
      for (let j = 0; j < nb; j++) {
        const rho = (low >>> (8 * j)) & 0xff;
        const bad = differs(
          `mon[${i}, ${j}]`,
          mon.subarray((i * nb + j) * 8, (i * nb + j + 1) * 8),
          BLOCK8.subsetInd.subarray(rho * 8, rho * 8 + 8),
        );
        if (bad) return bad;
      }
      const bad = differs(
        `mm[${i}]`,
        mm.subarray(i * ns, (i + 1) * ns),
        node.subsets.map((S) => ((S & ~m[i]!) === 0 ? 1 : 0)),
      );
      if (bad) return bad;
    }
    return relationOfMask(v, p);
  },
  example: (rng) => {
    const s = [1, 7, 8, 9, 16, 24, 32][rng.int(0, 7)]!;
    return {
      inputs: [uniformInput(rng, [300], -(2 ** 20), 2 ** 20, 40)],
      program: async (P, [x]) => [await P.trunc(x!, s)],
    };
  },
});
