/**
 * mul: secret × secret element-wise product with a Beaver triple. Exact in the ring (the caller
 * truncates); scale fracBits(x) + fracBits(y).
 *
 * Kind `mul`: a, b free, c = a·b. y may be broadcast along x's last axis (m = one element per row):
 * element i of x pairs with y[⌊i·m/n⌋], so a row-wise scale (softmax's 1/Σ, LayerNorm's 1/σ) costs
 * m openings, not n. Rounds: 1; online 8(n + m) bytes per party; dealer 8n bytes (c).
 *  1. Open d = x − a and e = y − b (uniform: a, b are fresh randomness).
 *  2. x·y = d·e (party 0) + d·b + a·e + c.
 */
import { z } from 'zod';
import { invariant } from '../../util/errors.js';
import { Material, defineKind, ring } from '../../corr/kind.js';
import { numel } from '../../ring/tensor.js';
import { definePrimitive, differs, uniformInput } from '../primitive.js';
import { openRing } from '../open.js';

/** Rows of x that y is broadcast over: y.shape equals x.shape, or x.shape with the last axis 1 or dropped. */
export function broadcastRows(xShape: readonly number[], yShape: readonly number[]): number {
  const n = numel(xShape),
    m = numel(yShape);
  if (m === n) return m;
  const lead = xShape.slice(0, -1);
  const ok =
    (yShape.length === xShape.length &&
      yShape[yShape.length - 1] === 1 &&
      yShape.slice(0, -1).every((d, i) => d === lead[i])) ||
    (yShape.length === lead.length && yShape.every((d, i) => d === lead[i]));
  invariant(ok, 'E_SHAPE', `cannot multiply [${xShape.join(', ')}] by [${yShape.join(', ')}]`);
  return m;
}

const MulParams = z
  .object({ n: z.number().int().nonnegative(), m: z.number().int().nonnegative() })
  .refine((p) => (p.m === 0 ? p.n === 0 : p.n % p.m === 0), 'n must be a multiple of m');
type MulParams = z.infer<typeof MulParams>;

const per = (p: MulParams): number => (p.m === 0 ? 1 : p.n / p.m);

export const MUL = definePrimitive<object, MulParams>({
  name: 'mul',
  kind: defineKind({
    name: 'mul',
    params: MulParams,
    rounds: (p) => [{ u64: [p.n, p.m] }],
    fields: (p) => [ring('a', p.n), ring('b', p.m), ring('c', p.n, true)],
    derive(free, p) {
      const a = free.ring('a'),
        b = free.ring('b'),
        c = new BigUint64Array(p.n),
        q = per(p);
      for (let i = 0; i < p.n; i++) c[i] = a[i]! * b[Math.floor(i / q)]!;
      return new Material().set('c', c);
    },
  }),
  params: ([x, y]) => ({ n: numel(x!.shape), m: broadcastRows(x!.shape, y!.shape) }),
  outputs: (_p, [x, y]) => [{ shape: x!.shape, fracBits: x!.fracBits + y!.fracBits }],
  clear({ p, xs: [x, y] }) {
    const out = new BigUint64Array(p.n),
      q = per(p);
    for (let i = 0; i < p.n; i++) out[i] = x!.data[i]! * y!.data[Math.floor(i / q)]!;
    return [out];
  },
  async secure(ctx, mat, { p, xs: [x, y] }) {
    const a = mat.ring('a'),
      b = mat.ring('b'),
      c = mat.ring('c');
    const dx = new BigUint64Array(p.n),
      ey = new BigUint64Array(p.m);
    for (let i = 0; i < p.n; i++) dx[i] = x!.data[i]! - a[i]!;
    for (let i = 0; i < p.m; i++) ey[i] = y!.data[i]! - b[i]!;
    const [d, e] = await openRing(ctx, 'mul.open', [dx, ey]);
    const out = new BigUint64Array(p.n),
      first = ctx.me === 0,
      q = per(p);
    for (let r = 0, i = 0; r < p.m; r++) {
      const er = e![r]!,
        br = b[r]!;
      for (let k = 0; k < q; k++, i++) {
        const di = d![i]!;
        let v = di * br + a[i]! * er + c[i]!;
        if (first) v += di * er;
        out[i] = v;
      }
    }
    return [out];
  },
  relation(v, p) {
    const a = v.ring('a'),
      b = v.ring('b');
    return differs(
      'c',
      v.ring('c'),
      Array.from(a, (ai, i) => ai * b[Math.floor(i / per(p))]!),
    );
  },
  example: (rng) => ({
    inputs: [
      uniformInput(rng, [6, 5], -100, 100),
      uniformInput(rng, [6, 1], -100, 100),
      uniformInput(rng, [6, 5], -100, 100),
    ],
    program: async (P, [x, y, z]) => [await P.mul(x!, y!), await P.mul(x!, z!)],
  }),
});
