/**
 * fixedAppend: appends rows ([groups, k, cols]) to a fixed-mask matrix, masked once for the
 * matrix's lifetime (weights at load, K/V rows as the cache grows). Exact.
 *
 * Kind `fixed.append`: the rows' mask B (free randomness, no dealer bytes); the dealer keeps it
 * in its registry (corr/env.ts) for the products that follow. Rounds: 1; online 8 bytes per
 * element per party, once per row.
 *  1. Open Ŵ = rows − B (uniform: B is fresh and never used for anything but product correlations).
 *  2. Store Ŵ and the online share W_i (party 0: Ŵ + B₀, party 1: B₁).
 */
import { z } from 'zod';
import { invariant } from '../../util/errors.js';
import { Material, defineKind, ring } from '../../corr/kind.js';
import { numel } from '../../ring/tensor.js';
import { subInto } from '../../ring/u64.js';
import { definePrimitive, differs, uniformInput } from '../primitive.js';
import { openRing } from '../open.js';

const AppendParams = z.object({
  id: z.string(),
  groups: z.number().int().positive(),
  rows: z.number().int().positive(),
  cols: z.number().int().positive(),
});
type AppendParams = z.infer<typeof AppendParams>;

export const FIXED_APPEND = definePrimitive<object, AppendParams>({
  name: 'fixedAppend',
  alwaysSecure: true,
  kind: defineKind({
    name: 'fixed.append',
    params: AppendParams,
    rounds: (p) => [{ u64: [p.groups * p.rows * p.cols] }],
    fields: (p) => [ring('b', p.groups * p.rows * p.cols)],
    derive(free, p, env) {
      const m = env.get(p.id),
        b = free.ring('b');
      invariant(
        m.groups === p.groups && m.cols === p.cols && m.rowsUsed + p.rows <= m.rowsCap,
        'E_CORR_MISMATCH',
        `fixed.append '${p.id}': ${p.rows} rows do not fit (${m.rowsUsed}/${m.rowsCap} used)`,
      );
      for (let g = 0; g < p.groups; g++) {
        env.kernels
          .u64(m.region, (g * m.rowsCap + m.rowsUsed) * m.cols, p.rows * m.cols)
          .set(b.subarray(g * p.rows * p.cols, (g + 1) * p.rows * p.cols));
      }
      m.rowsUsed += p.rows;
      return new Material();
    },
  }),
  params([x], _o, [w]) {
    const k = numel(x!.shape) / (w!.groups * w!.cols);
    invariant(
      Number.isInteger(k) && k > 0 && w!.rowsUsed + k <= w!.rowsCap,
      'E_SHAPE',
      `cannot append [${x!.shape.join(', ')}] to fixed matrix '${w!.id}' (${w!.groups}x${w!.rowsUsed}/${w!.rowsCap}x${w!.cols})`,
    );
    invariant(
      x!.fracBits === w!.fracBits,
      'E_INTERNAL',
      `scale ${x!.fracBits} appended to a fixed matrix of scale ${w!.fracBits}`,
    );
    return { id: w!.id, groups: w!.groups, rows: k, cols: w!.cols };
  },
  outputs: () => [],
  clear({ p, xs: [x], ws: [w] }, kernels) {
    const blk = p.rows * w!.cols,
      from = w!.rowsUsed - p.rows;
    for (let g = 0; g < w!.groups; g++)
      kernels.u64(w!.data, (g * w!.rowsCap + from) * w!.cols, blk).set(x!.data.subarray(g * blk, (g + 1) * blk));
    return [];
  },
  async secure(ctx, mat, { p, xs: [x], ws: [w] }) {
    const b = mat.ring('b'),
      blk = p.rows * w!.cols;
    const [hat] = await openRing(ctx, 'fixed.append', [subInto(new BigUint64Array(b.length), x!.data, b)]);
    for (let g = 0; g < w!.groups; g++) {
      const at = (g * w!.rowsCap + w!.rowsUsed - p.rows) * w!.cols;
      const pub = ctx.kernels.u64(w!.pub, at, blk),
        mine = ctx.kernels.u64(w!.mine, at, blk);
      const h = hat!.subarray(g * blk, (g + 1) * blk),
        bg = b.subarray(g * blk, (g + 1) * blk);
      pub.set(h);
      if (ctx.me === 0) for (let i = 0; i < blk; i++) mine[i] = h[i]! + bg[i]!;
      else mine.set(bg);
    }
    return [];
  },
  reserve: (p, [w]) => {
    w!.rowsUsed += p.rows;
  },
  relation(v, p, env) {
    const m = env.get(p.id),
      b = v.ring('b'),
      blk = p.rows * p.cols;
    for (let g = 0; g < p.groups; g++) {
      const bad = differs(
        `mask rows of group ${g}`,
        env.kernels.u64(m.region, (g * m.rowsCap + m.rowsUsed - p.rows) * m.cols, blk),
        b.subarray(g * blk, (g + 1) * blk),
      );
      if (bad) return bad;
    }
    return undefined;
  },
  example: (rng) => ({
    inputs: [uniformInput(rng, [2, 3, 4], -2, 2), uniformInput(rng, [2, 2, 4], -2, 2)],
    program: async (P, [a, b]) => {
      const w = await P.fixedAlloc('ex', 2, 6, 4, 16);
      await P.fixedAppend(w, a!);
      await P.fixedAppend(w, b!);
      return [P.fixedRows(w, [4, 0, 3])];
    },
  }),
});
