/**
 * fixedCopy: appends the rows of one fixed-mask matrix at public segments [start, end) to another,
 * masks included (a KV cache that keeps public rows, e.g. sinks and a recent window). The parties
 * copy Ŵ and their shares, the dealer copies the mask rows: kind `fixed.copy`, no randomness, no
 * bytes, no round; only the schedule records it.
 */
import { z } from 'zod';
import { invariant } from '../../util/errors.js';
import { Material, defineKind } from '../../corr/kind.js';
import type { Kernels, Region } from '../../ring/kernels.js';
import { definePrimitive, differs, uniformInput } from '../primitive.js';

const CopyParams = z.object({
  src: z.string(),
  dst: z.string(),
  groups: z.number().int().positive(),
  cols: z.number().int().positive(),
  segs: z.array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])).min(1),
});
type CopyParams = z.infer<typeof CopyParams>;
export interface FixedCopyOpts {
  readonly segs: readonly (readonly [number, number])[];
}

const rowCount = (segs: readonly (readonly [number, number])[]): number => segs.reduce((t, [a, b]) => t + b - a, 0);

/** Appends src's rows at the segments to dst (every group; dst.rowsUsed is not changed here). */
function copyRows(
  kernels: Kernels,
  src: { region: Region; rowsCap: number; cols: number; groups: number },
  dst: { region: Region; rowsCap: number; rowsUsed: number },
  segs: readonly (readonly [number, number])[],
): void {
  const cols = src.cols;
  for (let g = 0; g < src.groups; g++) {
    let at = dst.rowsUsed;
    for (const [s, e] of segs) {
      const from = kernels.u64(src.region, (g * src.rowsCap + s) * cols, (e - s) * cols).slice();
      kernels.u64(dst.region, (g * dst.rowsCap + at) * cols, (e - s) * cols).set(from);
      at += e - s;
    }
  }
}

export const FIXED_COPY = definePrimitive<FixedCopyOpts, CopyParams>({
  name: 'fixedCopy',
  alwaysSecure: true,
  kind: defineKind({
    name: 'fixed.copy',
    params: CopyParams,
    rounds: () => [],
    fields: () => [],
    derive(_free, p, env) {
      const a = env.get(p.src),
        b = env.get(p.dst),
        rows = rowCount(p.segs);
      invariant(
        a.groups === p.groups &&
          b.groups === p.groups &&
          a.cols === p.cols &&
          b.cols === p.cols &&
          b.rowsUsed + rows <= b.rowsCap &&
          p.segs.every(([s, e]) => s <= e && e <= a.rowsUsed),
        'E_CORR_MISMATCH',
        `fixed.copy '${p.src}' → '${p.dst}': rows do not fit`,
      );
      copyRows(env.kernels, a, b, p.segs);
      b.rowsUsed += rows;
      return new Material();
    },
  }),
  params(_xs, { segs }, [dst, src]) {
    const rows = rowCount(segs);
    invariant(
      segs.length > 0 &&
        src!.groups === dst!.groups &&
        src!.cols === dst!.cols &&
        src!.fracBits === dst!.fracBits &&
        dst!.rowsUsed + rows <= dst!.rowsCap &&
        segs.every(([a, b]) => Number.isInteger(a) && Number.isInteger(b) && 0 <= a && a <= b && b <= src!.rowsUsed),
      'E_SHAPE',
      () =>
        `fixed copy of rows ${JSON.stringify(segs)} from '${src!.id}' (${src!.rowsUsed} rows) to '${dst!.id}' (${dst!.rowsUsed}/${dst!.rowsCap})`,
    );
    return {
      src: src!.id,
      dst: dst!.id,
      groups: dst!.groups,
      cols: dst!.cols,
      segs: segs.map(([a, b]) => [a, b] as [number, number]),
    };
  },
  outputs: () => [],
  clear({ p, ws: [dst, src] }, kernels) {
    copyRows(
      kernels,
      { region: src!.data, rowsCap: src!.rowsCap, cols: src!.cols, groups: src!.groups },
      { region: dst!.data, rowsCap: dst!.rowsCap, rowsUsed: dst!.rowsUsed - rowCount(p.segs) },
      p.segs,
    );
    return [];
  },
  async secure(ctx, _mat, { p, ws: [dst, src] }) {
    for (const r of ['pub', 'mine'] as const) {
      copyRows(
        ctx.kernels,
        { region: src![r], rowsCap: src!.rowsCap, cols: src!.cols, groups: src!.groups },
        { region: dst![r], rowsCap: dst!.rowsCap, rowsUsed: dst!.rowsUsed - rowCount(p.segs) },
        p.segs,
      );
    }
    return [];
  },
  reserve: (p, [dst]) => {
    dst!.rowsUsed += rowCount(p.segs);
  },
  relation(_v, p, env) {
    const a = env.get(p.src),
      b = env.get(p.dst),
      rows = rowCount(p.segs);
    for (let g = 0; g < p.groups; g++) {
      const want = p.segs.flatMap(([s, e]) =>
        Array.from(env.kernels.u64(a.region, (g * a.rowsCap + s) * p.cols, (e - s) * p.cols)),
      );
      const bad = differs(
        `copied rows of group ${g}`,
        env.kernels.u64(b.region, (g * b.rowsCap + b.rowsUsed - rows) * p.cols, rows * p.cols),
        want,
      );
      if (bad) return bad;
    }
    return undefined;
  },
  example: (rng) => ({
    inputs: [uniformInput(rng, [2, 6, 3], -2, 2), uniformInput(rng, [2, 1, 3], -2, 2)],
    program: async (P, [rows, q]) => {
      const src = await P.fixedAlloc('src', 2, 6, 3, 16),
        dst = await P.fixedAlloc('dst', 2, 8, 3, 16);
      await P.fixedAppend(src, rows!);
      await P.fixedCopy(dst, src, [
        [0, 1],
        [3, 6],
      ]);
      return [P.fixedRows(dst, [0, 1, 2, 3]), await P.fixedMatmul(q!, dst, 'nt')];
    },
  }),
});
