/**
 * mulSeg: element-wise product of a flat x [n] with y [m] over public segment lengths: element i
 * of x pairs with y[r] for the segment r that contains it (ragged rows: softmax's 1/Σ per row of a
 * causal mask, each row's multiplier opened once). Exact; scale fracBits(x) + fracBits(y).
 *
 * Kind `mul.seg`: a [n], b [m] free, c_i = a_i·b_seg(i). Rounds: 1; online 8(n + m) bytes per
 * party; dealer 8n.
 *  1. Open d = x − a and e = y − b (uniform).
 *  2. x_i·y_r = d_i·e_r (party 0) + d_i·b_r + a_i·e_r + c_i.
 */
import { z } from 'zod';
import { invariant } from '../../util/errors.js';
import { Material, defineKind, ring } from '../../corr/kind.js';
import { numel } from '../../ring/tensor.js';
import { subInto } from '../../ring/u64.js';
import { definePrimitive, differs, uniformInput } from '../primitive.js';
import { openRing } from '../open.js';

const MulSegParams = z.object({ lengths: z.array(z.number().int().nonnegative()) });
type MulSegParams = z.infer<typeof MulSegParams>;
export interface MulSegOpts {
  readonly lengths: readonly number[];
}

/** out_i = x_i · y_seg(i). */
function segmented(x: BigUint64Array, y: BigUint64Array, lengths: readonly number[]): BigUint64Array {
  const out = new BigUint64Array(x.length);
  let i = 0;
  lengths.forEach((len, r) => {
    for (let e = 0; e < len; e++, i++) out[i] = x[i]! * y[r]!;
  });
  return out;
}

export const MUL_SEG = definePrimitive<MulSegOpts, MulSegParams>({
  name: 'mulSeg',
  kind: defineKind({
    name: 'mul.seg',
    params: MulSegParams,
    rounds: (p) => [{ u64: [p.lengths.reduce((a, b) => a + b, 0), p.lengths.length] }],
    fields: (p) => [
      ring(
        'a',
        p.lengths.reduce((a, b) => a + b, 0),
      ),
      ring('b', p.lengths.length),
      ring(
        'c',
        p.lengths.reduce((a, b) => a + b, 0),
        true,
      ),
    ],
    derive: (free, p) => new Material().set('c', segmented(free.ring('a'), free.ring('b'), p.lengths)),
  }),
  params([x, y], o) {
    const n = numel(x!.shape),
      m = numel(y!.shape);
    invariant(
      o.lengths.length === m && o.lengths.reduce((s, l) => s + l, 0) === n,
      'E_SHAPE',
      `segments of total ${n} over ${m} multipliers do not match`,
    );
    return { lengths: [...o.lengths] };
  },
  outputs: (_p, [x, y]) => [{ shape: x!.shape, fracBits: x!.fracBits + y!.fracBits }],
  clear: ({ p, xs: [x, y] }) => [segmented(x!.data, y!.data, p.lengths)],
  async secure(ctx, mat, { p, xs: [x, y] }) {
    const a = mat.ring('a'),
      b = mat.ring('b'),
      c = mat.ring('c');
    const [d, e] = await openRing(ctx, 'mulseg.open', [
      subInto(new BigUint64Array(a.length), x!.data, a),
      subInto(new BigUint64Array(b.length), y!.data, b),
    ]);
    const out = new BigUint64Array(d!.length),
      first = ctx.me === 0;
    let i = 0;
    p.lengths.forEach((len, r) => {
      const er = e![r]!,
        br = b[r]!;
      for (let t = 0; t < len; t++, i++) {
        const di = d![i]!;
        out[i] = di * br + a[i]! * er + c[i]! + (first ? di * er : 0n);
      }
    });
    return [out];
  },
  relation: (v, p) => {
    const a = v.ring('a'),
      b = v.ring('b'),
      seg = p.lengths.flatMap((len, r) => Array<number>(len).fill(r));
    return differs(
      'c',
      v.ring('c'),
      seg.map((r, i) => a[i]! * b[r]!),
    );
  },
  example: (rng) => ({
    inputs: [uniformInput(rng, [10], -3, 3), uniformInput(rng, [3], -2, 2)],
    program: async (P, [x, y]) => [await P.mulSeg(x!, y!, [4, 0, 6])],
  }),
});
