/**
 * cmpMul: the core sign test with fused select, b = [x ≥ 0] (DReLU) and b·y_j for payloads y_j.
 * Exact on all of Z_2^64 (x read as signed).
 *
 * Kind `cmp`: MSB(x) = x̂₆₃ ⊕ r₆₃ ⊕ [x̂₀..₆₂ < r₀..₆₂] for x̂ = x + r. The 63-bit comparison runs on
 * 16 blocks of 4 bits (monomial vectors of r's blocks), then two layers of 4-ary nodes (L1: (G, E)
 * of 4 blocks; top: G of 4 L1 outputs), then one opened bit b ⊕ s selects the payloads.
 * Fields per element: r, r63, mon (16 × u16), m1 (4 mask bytes), mm1 (4 × u32 mask monomials),
 * m2, mm2, s, sA = s, and per payload j its mask (r itself when the payload is x, else ry_j) and
 * s·mask_j. Rounds: 4. Online bytes per element per party: 8 (x̂) + 4 (L1) + 7/8 (top) + 1/8
 * (select) ≈ 13, plus 8 per payload other than x. Dealer bytes to party 1 per element:
 * 1 + 32 + 16 + 4 + 8 = 61, + 8 per payload (69 with one).
 *
 * Protocol:
 *  1. Open x̂ = x + r and ŷ_j = y_j + r_j (payloads other than x) in one round.
 *  2. Locally, per 4-bit block: XOR shares of G = [x̂_blk < r_blk], E = [x̂_blk = r_blk] from the
 *     dealer's monomial vectors (ring/bit-tables.ts).
 *  3. L1: 4 nodes combine 4 blocks each into (G, E) (prefix formula); open their 8 input bits
 *     masked with fresh dealer bits; outputs follow from dealer-shared mask monomials.
 *  4. Top: one node combines the 4 L1 outputs into G; open its 7 masked inputs.
 *     b = 1 ⊕ MSB(x) as XOR shares.
 *  5. Open b̂ = b ⊕ s (s a dealer bit with arithmetic shares sA): b = b̂ + (1−2b̂)·s, and
 *     b·y = b̂·y + (1−2b̂)·(ŷ·s − s·r_y) with s·r_y from the dealer.
 * Every opened value is masked by fresh uniform dealer randomness, so nothing depends on x.
 */
import { z } from 'zod';
import { Material, defineKind, ring, xor, type FieldSpec } from '../../corr/kind.js';
import { BLOCK4, buildNode, maskMonomials, parity32, prefixLtTerms, type NodeTables } from '../../ring/bit-tables.js';
import { numel } from '../../ring/tensor.js';
import { addInto } from '../../ring/u64.js';
import { sameShape } from '../shapes.js';
import type { PartyCtx } from '../ctx.js';
import { definePrimitive, differs, uniformInput, type Dealt } from '../primitive.js';
import { open, openBits, openFields } from '../open.js';

/** L1 node inputs: G0..G3 (bits 0-3), E1..E3 (bits 4-6), E0 (bit 7). Outputs: G (prefix <), E (all equal). */
const L1: NodeTables = buildNode({ inputs: 8, outputs: [prefixLtTerms(4), [0xf0]], out: 'xor' });
/** Top node inputs: G'0..G'3 (bits 0-3), E'1..E'3 (bits 4-6). Output: G. */
const TOP: NodeTables = buildNode({ inputs: 7, outputs: [prefixLtTerms(4)], out: 'xor' });
const BLOCKS = 16;

const CmpParams = z.object({
  n: z.number().int().nonnegative(),
  /** One entry per payload y_j multiplied by the result bit: 'x' (the compared value itself) or 'y'. */
  pay: z.array(z.enum(['x', 'y'])).max(8),
});
type CmpParams = z.infer<typeof CmpParams>;
/** Which payloads *are* x (the binding compares objects: `y === x` reuses x's opening). */
export interface CmpOpts {
  readonly pay: ReadonlyArray<'x' | 'y'>;
}

/** Block j of a 63-bit value given as 32-bit halves. */
const blockOf = (lo: number, hi: number, j: number): number =>
  j < 8 ? (lo >>> (4 * j)) & 0xf : (hi >>> (4 * (j - 8))) & (j === 15 ? 0x7 : 0xf);

/** Steps 2–3, locally: the L1 nodes' masked input bytes (4 per element). */
function l1Inputs(xh: BigUint64Array, mon: Uint16Array, m1: Uint8Array): Uint8Array {
  const n = xh.length,
    w = new Uint32Array(xh.buffer, xh.byteOffset, 2 * n),
    in1 = new Uint8Array(4 * n);
  const G = new Uint8Array(BLOCKS),
    E = new Uint8Array(BLOCKS);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < BLOCKS; j++) {
      const v = blockOf(w[2 * i]!, w[2 * i + 1]!, j),
        mj = mon[i * BLOCKS + j]!;
      G[j] = parity32(BLOCK4.anfLt[v]! & mj);
      E[j] = parity32(BLOCK4.anfEq[v]! & mj);
    }
    for (let t = 0; t < 4; t++) {
      const b = 4 * t;
      const byte =
        G[b]! |
        (G[b + 1]! << 1) |
        (G[b + 2]! << 2) |
        (G[b + 3]! << 3) |
        (E[b + 1]! << 4) |
        (E[b + 2]! << 5) |
        (E[b + 3]! << 6) |
        (E[b]! << 7);
      in1[4 * i + t] = byte ^ m1[4 * i + t]!;
    }
  }
  return in1;
}

/** Step 4, locally: the top node's masked inputs from the opened L1 bytes. */
function topInputs(u1: Uint8Array, mm1: Uint32Array, m2: Uint8Array, first: boolean): Uint8Array {
  const n = m2.length,
    in2 = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let byte = 0;
    for (let t = 0; t < 4; t++) {
      const u = u1[4 * i + t]!,
        mmv = mm1[4 * i + t]!;
      let g = parity32(L1.coefXor[u]! & mmv),
        e = parity32(L1.coefXor[256 + u]! & mmv);
      if (first) {
        g ^= L1.constant[u]!;
        e ^= L1.constant[256 + u]!;
      }
      byte |= g << t;
      if (t > 0) byte |= e << (3 + t);
    }
    in2[i] = byte ^ m2[i]!;
  }
  return in2;
}

/** bit ? y : 0, element-wise (the emulation of a fused select). */
export function selected(bit: BigUint64Array, y: BigUint64Array): BigUint64Array {
  const out = new BigUint64Array(y.length);
  for (let i = 0; i < y.length; i++) if (bit[i]! & 1n) out[i] = y[i]!;
  return out;
}

/** Step 5: b and b·y_j from the opened select bit. */
function select(
  ctx: PartyCtx,
  mat: Material,
  p: CmpParams,
  ys: readonly BigUint64Array[],
  yh: readonly BigUint64Array[],
  bh: Uint8Array,
): BigUint64Array[] {
  const first = ctx.me === 0,
    sA = mat.ring('sA'),
    bit = new BigUint64Array(p.n);
  for (let i = 0; i < p.n; i++) bit[i] = bh[i]! ? (first ? 1n : 0n) - sA[i]! : sA[i]!;
  const prods = ys.map((y, j) => {
    const sr = mat.ring(`sr${j}`),
      out = new BigUint64Array(p.n);
    for (let i = 0; i < p.n; i++) {
      const sy = yh[j]![i]! * sA[i]! - sr[i]!; // share of s·y
      out[i] = bh[i]! ? y[i]! - sy : sy;
    }
    return out;
  });
  return [bit, ...prods];
}

function relation(v: Dealt, p: CmpParams): string | undefined {
  const r = v.ring('r'),
    s = v.xor('s'),
    sA = v.ring('sA'),
    mon = new Uint16Array(v.xor('mon').slice().buffer);
  const mm1 = new Uint32Array(v.xor('mm1').slice().buffer),
    mm2 = new Uint32Array(v.xor('mm2').slice().buffer),
    m1 = v.xor('m1'),
    m2 = v.xor('m2');
  const halves = (i: number): [number, number] => [Number(r[i]! & 0xffffffffn), Number(r[i]! >> 32n)];
  return (
    differs(
      'r63',
      v.xor('r63'),
      Array.from(r, (x) => Number(x >> 63n)),
    ) ??
    differs(
      'mon',
      mon,
      Array.from(mon, (_, e) => BLOCK4.subsetInd[blockOf(...halves(Math.floor(e / BLOCKS)), e % BLOCKS)]!),
    ) ??
    differs(
      'mm1',
      mm1,
      Array.from(mm1, (_, e) => maskMonomials(L1, m1[e]!) >>> 0),
    ) ??
    differs(
      'mm2',
      mm2,
      Array.from(mm2, (_, i) => maskMonomials(TOP, m2[i]!) >>> 0),
    ) ??
    differs(
      'sA',
      sA,
      Array.from(s, (b) => b & 1),
    ) ??
    p.pay
      .map((k, j) =>
        differs(
          `sr${j}`,
          v.ring(`sr${j}`),
          Array.from(sA, (a, i) => a * (k === 'x' ? r : v.ring(`ry${j}`))[i]!),
        ),
      )
      .find((e) => e)
  );
}

export const CMP = definePrimitive<CmpOpts, CmpParams>({
  name: 'cmpMul',
  kind: defineKind({
    name: 'cmp',
    params: CmpParams,
    rounds: (p) => [
      { u64: [p.n, ...p.pay.filter((k) => k === 'y').map(() => p.n)] },
      { bytes: [4 * p.n] },
      { bits: [7 * p.n] },
      { bits: [p.n] },
    ],
    fields: (p) => {
      const f: FieldSpec[] = [
        ring('r', p.n),
        xor('r63', p.n, true),
        xor('mon', p.n * BLOCKS * 2, true),
        xor('m1', p.n * 4),
        xor('mm1', p.n * 16, true),
        xor('m2', p.n),
        xor('mm2', p.n * 4, true),
        xor('s', p.n),
        ring('sA', p.n, true),
      ];
      p.pay.forEach((k, j) => {
        if (k === 'y') f.push(ring(`ry${j}`, p.n));
        f.push(ring(`sr${j}`, p.n, true));
      });
      return f;
    },
    derive(free, p) {
      const r = free.ring('r'),
        m1 = free.xor('m1'),
        m2 = free.xor('m2'),
        s = free.xor('s');
      const r63 = new Uint8Array(p.n),
        mon = new Uint8Array(p.n * BLOCKS * 2),
        mon16 = new Uint16Array(mon.buffer);
      const mm1 = new Uint8Array(p.n * 16),
        mm1w = new Uint32Array(mm1.buffer),
        mm2 = new Uint8Array(p.n * 4),
        mm2w = new Uint32Array(mm2.buffer);
      const sA = new BigUint64Array(p.n),
        out = new Material();
      for (let i = 0; i < p.n; i++) {
        const ri = r[i]!,
          lo = Number(ri & 0xffffffffn),
          hi = Number((ri >> 32n) & 0xffffffffn);
        r63[i] = Number(ri >> 63n);
        for (let j = 0; j < BLOCKS; j++) mon16[i * BLOCKS + j] = BLOCK4.subsetInd[blockOf(lo, hi, j)]!;
        for (let t = 0; t < 4; t++) mm1w[i * 4 + t] = maskMonomials(L1, m1[i * 4 + t]!) >>> 0;
        mm2w[i] = maskMonomials(TOP, m2[i]!) >>> 0;
        sA[i] = BigInt(s[i]! & 1);
      }
      out.set('r63', r63).set('mon', mon).set('mm1', mm1).set('mm2', mm2).set('sA', sA);
      p.pay.forEach((k, j) => {
        const mask = k === 'x' ? r : free.ring(`ry${j}`),
          sr = new BigUint64Array(p.n);
        for (let i = 0; i < p.n; i++) sr[i] = sA[i]! * mask[i]!;
        out.set(`sr${j}`, sr);
      });
      return out;
    },
  }),
  params: ([x, ...ys], o) => {
    for (const y of ys) sameShape(x!, y, 'cmpMul');
    return { n: numel(x!.shape), pay: [...o.pay] };
  },
  outputs: (_p, [x, ...ys]) => [{ shape: x!.shape, fracBits: 0 }, ...ys],
  clear({ p, xs: [x, ...ys] }) {
    const sx = new BigInt64Array(x!.data.buffer, x!.data.byteOffset, p.n),
      bit = new BigUint64Array(p.n);
    for (let i = 0; i < p.n; i++) bit[i] = sx[i]! >= 0n ? 1n : 0n;
    return [bit, ...ys.map((y) => selected(bit, y.data))];
  },
  async secure(ctx, mat, { p, xs: [x, ...ys] }) {
    const { n } = p,
      r = mat.ring('r'),
      first = ctx.me === 0;
    // 1. open x̂ and the payloads' masked values
    const xr = addInto(new BigUint64Array(n), x!.data, r);
    const masked = p.pay.flatMap((k, j) => {
      if (k === 'x') return [];
      const ry = mat.ring(`ry${j}`);
      return [addInto(new BigUint64Array(n), ys[j]!.data, ry)];
    });
    const [xh, ...opened] = await open(ctx, 'cmp.open', [{ ring: xr }, ...masked.map((ring) => ({ ring }))]);
    // 2-3. blocks, then the L1 nodes' masked inputs
    const monB = mat.xor('mon'),
      mm1B = mat.xor('mm1'),
      mm2B = mat.xor('mm2');
    const [u1] = await open(ctx, 'cmp.l1', [
      { bytes: l1Inputs(xh!, new Uint16Array(monB.buffer, monB.byteOffset, n * BLOCKS), mat.xor('m1')) },
    ]);
    // 4. L1 outputs → top node inputs
    const u2 = await openFields(
      ctx,
      'cmp.top',
      topInputs(u1, new Uint32Array(mm1B.buffer, mm1B.byteOffset, 4 * n), mat.xor('m2'), first),
      7,
    );
    // 5. b = [x ≥ 0] as XOR shares, masked by s
    const mm2 = new Uint32Array(mm2B.buffer, mm2B.byteOffset, n),
      r63 = mat.xor('r63'),
      s = mat.xor('s'),
      w = new Uint32Array(xh!.buffer, xh!.byteOffset, 2 * n);
    const bm = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const u = u2[i]!;
      let msb = parity32(TOP.coefXor[u]! & mm2[i]!) ^ r63[i]!;
      if (first) msb ^= TOP.constant[u]! ^ (w[2 * i + 1]! >>> 31) ^ 1; // ⊕1: b = 1 − MSB
      bm[i] = (msb ^ s[i]!) & 1;
    }
    const [bh] = await openBits(ctx, 'cmp.select', [bm]);
    let extra = 0;
    const yh = p.pay.map((k) => (k === 'x' ? xh! : opened[extra++]!));
    return select(
      ctx,
      mat,
      p,
      ys.map((y) => y.data),
      yh,
      bh!,
    );
  },
  relation,
  example: (rng) => ({
    inputs: [uniformInput(rng, [300], -1e6, 1e6), uniformInput(rng, [300], -10, 10)],
    program: async (P, [x, y]) => {
      const { bit, prods } = await P.cmpMul(x!, [x!, y!]);
      return [bit, ...prods];
    },
  }),
});
