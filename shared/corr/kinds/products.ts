/**
 * Product correlations added for the non-linear suite.
 * - `matmul`:  Beaver matrix triple (A, B, C = A·B) for batch × [m,k]·[k,n] secret products.
 * - `mul.seg`: element-wise (a, b, c) where element i of x pairs with y[segment(i)] for public
 *              segment lengths (ragged rows: softmax's 1/Σ per row of a causal mask). Opens each
 *              segment's multiplier once.
 * - `bitmul`:  select a secret bit times secret payloads: s (mask bit, with arithmetic sA = s),
 *              and per payload a mask ry and s·ry. Party 1's correction: 8 + 8·payloads bytes.
 */
import { z } from 'zod';
import { Material, defineKind, ring, xor, type FieldSpec } from '../kind.js';

export const MatmulParams = z.object({
  batch: z.number().int().positive(),
  m: z.number().int().positive(),
  k: z.number().int().positive(),
  n: z.number().int().positive(),
});
export type MatmulParams = z.infer<typeof MatmulParams>;

/** out (batch·m·n) += a (batch·m·k) · b (batch·k·n), mod 2^64. */
export function matmulAddInto(out: BigUint64Array, a: BigUint64Array, b: BigUint64Array, p: MatmulParams): void {
  const { m, k, n } = p;
  for (let t = 0; t < p.batch; t++) {
    const ao = t * m * k, bo = t * k * n, oo = t * m * n;
    for (let i = 0; i < m; i++) {
      for (let l = 0; l < k; l++) {
        const av = a[ao + i * k + l]!;
        if (av === 0n) continue;
        const brow = bo + l * n, orow = oo + i * n;
        for (let j = 0; j < n; j++) out[orow + j] = out[orow + j]! + av * b[brow + j]!;
      }
    }
  }
}

export const MATMUL = defineKind({
  name: 'matmul',
  params: MatmulParams,
  fields: (p) => [ring('a', p.batch * p.m * p.k), ring('b', p.batch * p.k * p.n), ring('c', p.batch * p.m * p.n, true)],
  derive(free, p) {
    const c = new BigUint64Array(p.batch * p.m * p.n);
    matmulAddInto(c, free.ring('a'), free.ring('b'), p);
    return new Material().set('c', c);
  },
});

export const MulSegParams = z.object({ lengths: z.array(z.number().int().nonnegative()) });

export const MUL_SEG = defineKind({
  name: 'mul.seg',
  params: MulSegParams,
  fields: (p) => {
    const n = p.lengths.reduce((a, b) => a + b, 0);
    return [ring('a', n), ring('b', p.lengths.length), ring('c', n, true)];
  },
  derive(free, p) {
    const a = free.ring('a'), b = free.ring('b'), c = new BigUint64Array(a.length);
    let i = 0;
    p.lengths.forEach((len, r) => { for (let e = 0; e < len; e++, i++) c[i] = a[i]! * b[r]!; });
    return new Material().set('c', c);
  },
});

export const BitMulParams = z.object({ n: z.number().int().nonnegative(), py: z.number().int().positive().max(8) });

export const BITMUL = defineKind({
  name: 'bitmul',
  params: BitMulParams,
  fields: (p) => {
    const f: FieldSpec[] = [xor('s', p.n), ring('sA', p.n, true)];
    for (let q = 0; q < p.py; q++) f.push(ring(`ry${q}`, p.n), ring(`sry${q}`, p.n, true));
    return f;
  },
  derive(free, p) {
    const s = free.xor('s'), sA = new BigUint64Array(p.n);
    for (let i = 0; i < p.n; i++) sA[i] = BigInt(s[i]! & 1);
    const out = new Material().set('sA', sA);
    for (let q = 0; q < p.py; q++) {
      const ry = free.ring(`ry${q}`), sry = new BigUint64Array(p.n);
      for (let i = 0; i < p.n; i++) sry[i] = sA[i]! * ry[i]!;
      out.set(`sry${q}`, sry);
    }
    return out;
  },
});
