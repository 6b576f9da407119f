/**
 * square: x² of a secret x with a Beaver pair. Exact in the ring; scale 2·fracBits(x).
 *
 * Kind `square`: a free, c = a². Rounds: 1; online 8n bytes per party; dealer 8n bytes (c).
 *  1. Open d = x − a (uniform: a is fresh randomness).
 *  2. x² = d² (party 0) + 2d·a + c.
 */
import { z } from 'zod';
import { Material, defineKind, ring } from '../../corr/kind.js';
import { numel } from '../../ring/tensor.js';
import { mulInto } from '../../ring/u64.js';
import { definePrimitive, differs, uniformInput } from '../primitive.js';
import { openRing } from '../open.js';

const SquareParams = z.object({ n: z.number().int().nonnegative() });
type SquareParams = z.infer<typeof SquareParams>;

export const SQUARE = definePrimitive<object, SquareParams>({
  name: 'square',
  kind: defineKind({
    name: 'square',
    params: SquareParams,
    rounds: (p) => [{ u64: [p.n] }],
    fields: (p) => [ring('a', p.n), ring('c', p.n, true)],
    derive(free, p) {
      const a = free.ring('a'),
        c = new BigUint64Array(p.n);
      for (let i = 0; i < p.n; i++) c[i] = a[i]! * a[i]!;
      return new Material().set('c', c);
    },
  }),
  params: ([x]) => ({ n: numel(x!.shape) }),
  outputs: (_p, [x]) => [{ shape: x!.shape, fracBits: 2 * x!.fracBits }],
  clear: ({ xs: [x] }) => [mulInto(new BigUint64Array(x!.data.length), x!.data, x!.data)],
  async secure(ctx, mat, { p, xs: [x] }) {
    const a = mat.ring('a'),
      c = mat.ring('c');
    const dx = new BigUint64Array(p.n);
    for (let i = 0; i < p.n; i++) dx[i] = x!.data[i]! - a[i]!;
    const [d] = await openRing(ctx, 'square.open', [dx]);
    const out = new BigUint64Array(p.n),
      first = ctx.me === 0;
    for (let i = 0; i < p.n; i++) {
      const di = d![i]!;
      let v = 2n * di * a[i]! + c[i]!;
      if (first) v += di * di;
      out[i] = v;
    }
    return [out];
  },
  relation: (v) =>
    differs(
      'c',
      v.ring('c'),
      v.ring('a').map((a) => a * a),
    ),
  example: (rng) => ({ inputs: [uniformInput(rng, [40], -50, 50)], program: async (P, [x]) => [await P.square(x!)] }),
});
