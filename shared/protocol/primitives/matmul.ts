/**
 * matmul: secret × secret matrix product x [.., m, k] · y [.., k, n] with a Beaver matrix triple.
 * Exact in the ring (the caller truncates); scale fracBits(x) + fracBits(y). For gathers by
 * one-hot from a matrix that is *not* under a fixed mask; a fixed-mask matrix should use
 * fixed-product.ts instead (it opens only the one-hots).
 *
 * Kind `matmul`: A, B free, C = A·B (per batch item). Rounds: 1; online 8·(mk + kn) bytes per
 * party per batch item; dealer 8·mn.
 *  1. Open D = X − A and E = Y − B (uniform: A, B are fresh randomness).
 *  2. XY = D·E (party 0) + D·B + A·E + C.
 */
import { z } from 'zod';
import { invariant } from '../../util/errors.js';
import { Material, defineKind, ring } from '../../corr/kind.js';
import { matmulAddInto } from '../../ring/matrix.js';
import { subInto } from '../../ring/u64.js';
import { definePrimitive, differs, uniformInput } from '../primitive.js';
import { openRing } from '../open.js';

const MatmulParams = z.object({
  batch: z.number().int().positive(),
  m: z.number().int().positive(),
  k: z.number().int().positive(),
  n: z.number().int().positive(),
});
type MatmulParams = z.infer<typeof MatmulParams>;

/** Batch, m, k, n of a product [.., m, k] × [.., k, n]. */
function dims(a: readonly number[], b: readonly number[]): MatmulParams {
  invariant(
    a.length >= 2 &&
      b.length === a.length &&
      a.slice(0, -2).every((d, i) => d === b[i]) &&
      a[a.length - 1] === b[b.length - 2],
    'E_SHAPE',
    `cannot multiply [${a.join(', ')}] by [${b.join(', ')}]`,
  );
  return {
    batch: a.slice(0, -2).reduce((x, y) => x * y, 1),
    m: a[a.length - 2]!,
    k: a[a.length - 1]!,
    n: b[b.length - 1]!,
  };
}

function product(a: BigUint64Array, b: BigUint64Array, p: MatmulParams): BigUint64Array {
  const out = new BigUint64Array(p.batch * p.m * p.n);
  matmulAddInto(out, a, b, p);
  return out;
}

export const MATMUL = definePrimitive<object, MatmulParams>({
  name: 'matmul',
  kind: defineKind({
    name: 'matmul',
    params: MatmulParams,
    rounds: (p) => [{ u64: [p.batch * p.m * p.k, p.batch * p.k * p.n] }],
    fields: (p) => [
      ring('a', p.batch * p.m * p.k),
      ring('b', p.batch * p.k * p.n),
      ring('c', p.batch * p.m * p.n, true),
    ],
    derive: (free, p) => new Material().set('c', product(free.ring('a'), free.ring('b'), p)),
  }),
  params: ([x, y]) => dims(x!.shape, y!.shape),
  outputs: (p, [x, y]) => [{ shape: [...x!.shape.slice(0, -1), p.n], fracBits: x!.fracBits + y!.fracBits }],
  clear: ({ p, xs: [x, y] }) => [product(x!.data, y!.data, p)],
  async secure(ctx, mat, { p, xs: [x, y] }) {
    const A = mat.ring('a'),
      B = mat.ring('b'),
      C = mat.ring('c');
    const [D, E] = await openRing(ctx, 'matmul.open', [
      subInto(new BigUint64Array(A.length), x!.data, A),
      subInto(new BigUint64Array(B.length), y!.data, B),
    ]);
    const out = C.slice();
    matmulAddInto(out, D!, B, p);
    matmulAddInto(out, A, E!, p);
    if (ctx.me === 0) matmulAddInto(out, D!, E!, p);
    return [out];
  },
  relation: (v, p) => {
    const want = new BigUint64Array(p.batch * p.m * p.n),
      a = v.ring('a'),
      b = v.ring('b');
    for (let t = 0; t < p.batch; t++)
      for (let i = 0; i < p.m; i++)
        for (let j = 0; j < p.n; j++) {
          for (let l = 0; l < p.k; l++)
            want[(t * p.m + i) * p.n + j] =
              want[(t * p.m + i) * p.n + j]! + a[(t * p.m + i) * p.k + l]! * b[(t * p.k + l) * p.n + j]!;
        }
    return differs('c', v.ring('c'), want);
  },
  example: (rng) => ({
    inputs: [uniformInput(rng, [2, 3, 5], -4, 4), uniformInput(rng, [2, 5, 4], -4, 4)],
    program: async (P, [x, y]) => [await P.matmul(x!, y!)],
  }),
});
