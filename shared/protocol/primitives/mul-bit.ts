/**
 * mulBit: (b mod 2)·y_q for a secret bit b (an arithmetic share of 0/1, fracBits 0) and secret
 * payloads y_q of b's shape. Exact (uses b mod 2: the low bit of an arithmetic share of a bit is an
 * XOR share of it); each output at its payload's scale.
 *
 * Kind `bitmul`: a mask bit s (with arithmetic sA = s) and per payload a mask ry and s·ry.
 * Rounds: 1; online 1/8 + 8 per payload bytes per element; dealer 8 + 8 per payload.
 *  1. Open b̂ = b ⊕ s (1 bit) and ŷ = y + ry (uniform: s and ry are fresh).
 *  2. b·y = b̂ ? y − s·y : s·y with s·y = sA·ŷ − s·ry.
 */
import { z } from 'zod';
import { Material, defineKind, ring, xor, type FieldSpec } from '../../corr/kind.js';
import { numel } from '../../ring/tensor.js';
import { addInto, mulInto } from '../../ring/u64.js';
import { selected } from './cmp.js';
import { sameShape } from '../shapes.js';
import { definePrimitive, differs, uniformInput } from '../primitive.js';
import { open } from '../open.js';

const BitMulParams = z.object({ n: z.number().int().nonnegative(), py: z.number().int().positive().max(8) });
type BitMulParams = z.infer<typeof BitMulParams>;

export const MUL_BIT = definePrimitive<object, BitMulParams>({
  name: 'mulBit',
  kind: defineKind({
    name: 'bitmul',
    params: BitMulParams,
    rounds: (p) => [{ bits: [p.n], u64: Array<number>(p.py).fill(p.n) }],
    fields: (p) => {
      const f: FieldSpec[] = [xor('s', p.n), ring('sA', p.n, true)];
      for (let q = 0; q < p.py; q++) f.push(ring(`ry${q}`, p.n), ring(`sry${q}`, p.n, true));
      return f;
    },
    derive(free, p) {
      const sA = BigUint64Array.from(free.xor('s'), (s) => BigInt(s & 1)),
        out = new Material().set('sA', sA);
      for (let q = 0; q < p.py; q++) out.set(`sry${q}`, mulInto(new BigUint64Array(p.n), sA, free.ring(`ry${q}`)));
      return out;
    },
  }),
  params([b, ...ys]) {
    for (const y of ys) sameShape(b!, y, 'mulBit');
    return { n: numel(b!.shape), py: ys.length };
  },
  outputs: (_p, [, ...ys]) => ys,
  clear: ({ xs: [b, ...ys] }) => ys.map((y) => selected(b!.data, y.data)),
  async secure(ctx, mat, { p, xs: [b, ...ys] }) {
    const { n } = p,
      s = mat.xor('s'),
      sA = mat.ring('sA'),
      bw = new Uint32Array(b!.data.buffer, b!.data.byteOffset, 2 * n);
    const bm = new Uint8Array(n);
    for (let i = 0; i < n; i++) bm[i] = (bw[2 * i]! ^ s[i]!) & 1;
    const yr = ys.map((y, q) => {
      const ry = mat.ring(`ry${q}`);
      return addInto(new BigUint64Array(n), y.data, ry);
    });
    const [bh, ...yh] = await open(ctx, 'bitmul.open', [{ bits: bm }, ...yr.map((ring) => ({ ring }))]);
    return ys.map((y, q) => {
      const sry = mat.ring(`sry${q}`),
        out = new BigUint64Array(n);
      for (let i = 0; i < n; i++) {
        const sy = sA[i]! * (yh[q] as BigUint64Array)[i]! - sry[i]!;
        out[i] = bh![i] ? y.data[i]! - sy : sy;
      }
      return out;
    });
  },
  relation: (v, p) =>
    differs(
      'sA',
      v.ring('sA'),
      Array.from(v.xor('s'), (s) => s & 1),
    ) ??
    Array.from({ length: p.py }, (_, q) =>
      differs(
        `sry${q}`,
        v.ring(`sry${q}`),
        Array.from(v.ring(`ry${q}`), (r, i) => v.ring('sA')[i]! * r),
      ),
    ).find((e) => e),
  example: (rng) => ({
    inputs: [
      { shape: [10], fracBits: 0, values: Float64Array.from({ length: 10 }, () => rng.int(0, 2)) },
      uniformInput(rng, [10], -3, 3),
      uniformInput(rng, [10], -3, 3),
    ],
    program: async (P, [b, x, y]) => P.mulBit(b!, [x!, y!]),
  }),
});
