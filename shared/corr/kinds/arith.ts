/**
 * Beaver-style arithmetic correlations.
 * - `mul`:    (a, b, c = a·b) for x·y: open x − a and y − b. `m` < n broadcasts y over rows:
 *             y has m elements and element i of x pairs with y[⌊i·m/n⌋] (n/m per row), so a
 *             row-wise scale (softmax's 1/Σ, LayerNorm's 1/σ) costs m openings, not n.
 * - `square`: (a, c = a²) for x²: open x − a (one element per square).
 */
import { z } from 'zod';
import { Material, defineKind, ring } from '../kind.js';

const MulParams = z.object({ n: z.number().int().nonnegative(), m: z.number().int().nonnegative() })
  .refine((p) => (p.m === 0 ? p.n === 0 : p.n % p.m === 0), 'n must be a multiple of m');

export const MUL = defineKind({
  name: 'mul',
  params: MulParams,
  fields: (p) => [ring('a', p.n), ring('b', p.m), ring('c', p.n, true)],
  derive(free, p) {
    const a = free.ring('a'), b = free.ring('b'), c = new BigUint64Array(p.n);
    const per = p.m === 0 ? 1 : p.n / p.m;
    for (let i = 0; i < p.n; i++) c[i] = a[i]! * b[Math.floor(i / per)]!;
    return new Material().set('c', c);
  },
});

export const SQUARE = defineKind({
  name: 'square',
  params: z.object({ n: z.number().int().nonnegative() }),
  fields: (p) => [ring('a', p.n), ring('c', p.n, true)],
  derive(free, p) {
    const a = free.ring('a'), c = new BigUint64Array(p.n);
    for (let i = 0; i < p.n; i++) c[i] = a[i]! * a[i]!;
    return new Material().set('c', c);
  },
});
