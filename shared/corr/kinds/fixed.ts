/**
 * Fixed-mask correlations (DESIGN §4): a matrix W is held as a public Ŵ = W − B with B secret
 * shared; B is generated once (`fixed.append`, free randomness, no correction bytes) and opened
 * into Ŵ once by the parties. Each product with a fresh activation x then takes `fixed.product`:
 * a fresh mask r for x and shares of B·r, so only x − r is ever opened.
 *
 * Layout: `groups` independent matrices (e.g. one per attention head), each `rowsCap` rows of
 * `cols` elements (row-major, stride `cols`). 'nt' multiplies x (K×cols) by the first `rows` rows
 * transposed → K×rows; 'nn' multiplies x (K×rows) by the first `rows` rows → K×cols.
 */
import { z } from 'zod';
import { invariant } from '../../util/errors.js';
import { Material, defineKind, ring } from '../kind.js';

export const FIXED_ALLOC = defineKind({
  name: 'fixed.alloc',
  params: z.object({ id: z.string(), groups: z.number().int().positive(), rowsCap: z.number().int().positive(), cols: z.number().int().positive() }),
  fields: () => [],
  derive(_free, p, env) {
    env.alloc(p.id, p.groups, p.rowsCap, p.cols);
    return new Material();
  },
});

export const FIXED_APPEND = defineKind({
  name: 'fixed.append',
  params: z.object({ id: z.string(), groups: z.number().int().positive(), rows: z.number().int().positive(), cols: z.number().int().positive() }),
  fields: (p) => [ring('b', p.groups * p.rows * p.cols)],
  derive(free, p, env) {
    const m = env.get(p.id);
    invariant(m.groups === p.groups && m.cols === p.cols && m.rowsUsed + p.rows <= m.rowsCap, 'E_CORR_MISMATCH',
      `fixed.append '${p.id}': ${p.rows} rows do not fit (${m.rowsUsed}/${m.rowsCap} used)`);
    const b = free.ring('b');
    for (let g = 0; g < p.groups; g++) {
      env.kernels.u64(m.region, (g * m.rowsCap + m.rowsUsed) * m.cols, p.rows * m.cols).set(b.subarray(g * p.rows * p.cols, (g + 1) * p.rows * p.cols));
    }
    m.rowsUsed += p.rows;
    return new Material();
  },
});

export const FixedProductParams = z.object({
  id: z.string(),
  layout: z.enum(['nt', 'nn']),
  groups: z.number().int().positive(),
  K: z.number().int().positive(),
  rows: z.number().int().nonnegative(),
  cols: z.number().int().positive(),
});
export type FixedProductParams = z.infer<typeof FixedProductParams>;

/** Input and output lengths per group of a fixed product. */
export function fixedDims(p: FixedProductParams): { inLen: number; outLen: number } {
  return p.layout === 'nt' ? { inLen: p.cols, outLen: p.rows } : { inLen: p.rows, outLen: p.cols };
}

export const FIXED_PRODUCT = defineKind({
  name: 'fixed.product',
  params: FixedProductParams,
  fields: (p) => {
    const { inLen, outLen } = fixedDims(p);
    return [ring('r', p.groups * p.K * inLen), ring('c', p.groups * p.K * outLen, true)];
  },
  derive(free, p, env) {
    const m = env.get(p.id);
    invariant(m.groups === p.groups && m.cols === p.cols && p.rows <= m.rowsUsed, 'E_CORR_MISMATCH',
      `fixed.product '${p.id}': ${p.groups}x${p.rows}x${p.cols} does not fit the mask (${m.groups}x${m.rowsUsed}x${m.cols})`);
    const { inLen, outLen } = fixedDims(p);
    const r = free.ring('r'), c = new BigUint64Array(p.groups * p.K * outLen);
    for (let g = 0; g < p.groups; g++) {
      const w = { offset: m.region.offset + g * m.rowsCap * m.cols * 8, length: m.rowsCap * m.cols };
      const rg = r.subarray(g * p.K * inLen, (g + 1) * p.K * inLen), cg = c.subarray(g * p.K * outLen, (g + 1) * p.K * outLen);
      if (p.layout === 'nt') env.kernels.matmulNT(cg, rg, w, p.K, p.rows, p.cols, m.cols);
      else env.kernels.matmulNN(cg, rg, w, p.K, p.cols, p.rows, m.cols);
    }
    return new Material().set('c', c);
  },
});
