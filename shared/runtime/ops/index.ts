/**
 * The registry of ops for `npm run op` (parties and dealer resolve names here). Adding an op =
 * define it in a file of this folder and list it below.
 */
import { MpcError } from '../../util/errors.js';
import type { OpSpec } from './types.js';
import { MATMUL_OP, MATVEC_OP, MUL_OP, TRUNC_OP } from './linear.js';

export type { OpSpec, OpCheck, InputRng } from './types.js';
export { defineOp } from './types.js';

export const OPS: ReadonlyArray<OpSpec> = [MUL_OP, MATVEC_OP, MATMUL_OP, TRUNC_OP];

export function getOp(name: string): OpSpec {
  const op = OPS.find((o) => o.name === name);
  if (!op) throw new MpcError('E_INPUT', `unknown op '${name}' (known: ${OPS.map((o) => o.name).join(', ')})`);
  return op;
}
