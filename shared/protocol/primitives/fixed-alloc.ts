/**
 * fixedAlloc: a new fixed-mask matrix of `groups` × `rowsCap` rows × `cols` (fixed-mask.ts). Each
 * role makes its own storage for the handle (prims/); the item tells the dealer to reserve the
 * matrix's mask under the same id. Kind `fixed.alloc`: no fields, no bytes, no round.
 */
import { z } from 'zod';
import { Material, defineKind } from '../../corr/kind.js';
import { definePrimitive, uniformInput } from '../primitive.js';

const AllocParams = z.object({
  id: z.string(),
  groups: z.number().int().positive(),
  rowsCap: z.number().int().positive(),
  cols: z.number().int().positive(),
});
type AllocParams = z.infer<typeof AllocParams>;

export const FIXED_ALLOC = definePrimitive<object, AllocParams>({
  name: 'fixedAlloc',
  alwaysSecure: true,
  kind: defineKind({
    name: 'fixed.alloc',
    params: AllocParams,
    rounds: () => [],
    fields: () => [],
    derive(_free, p, env) {
      env.alloc(p.id, p.groups, p.rowsCap, p.cols);
      return new Material();
    },
  }),
  params: (_xs, _o, [w]) => ({ id: w!.id, groups: w!.groups, rowsCap: w!.rowsCap, cols: w!.cols }),
  outputs: () => [],
  clear: () => [],
  secure: async () => [],
  relation(_v, p, env) {
    const m = env.get(p.id);
    return m.groups === p.groups && m.rowsCap === p.rowsCap && m.cols === p.cols && m.rowsUsed === 0
      ? undefined
      : `mask '${p.id}' has other dimensions`;
  },
  example: (rng) => ({
    inputs: [uniformInput(rng, [2, 3, 4], -2, 2)],
    program: async (P, [rows]) => {
      const w = await P.fixedAlloc('ex', 2, 5, 4, 16);
      await P.fixedAppend(w, rows!);
      return [P.fixedRows(w, [2, 0])];
    },
  }),
});
