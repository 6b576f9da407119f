/**
 * The registry of ops for `npm run op` (parties and dealer resolve names here). Adding an op =
 * define it in a file of this folder and list it below.
 */
import { MpcError } from '../../util/errors.js';
import type { OpSpec } from './types.js';
import { MATMUL_OP, MATVEC_OP, MUL_OP, TRUNC_OP } from './linear.js';
import { ARGMAX_OP, DRELU_OP, EQ_OP, GATHER_OP, MAX_OP, ONEHOT_OP, RELU_OP, TOPK_OP } from './nonlinear.js';
import {
  EXP_OP,
  GELU_OP,
  LAYERNORM_OP,
  RECIPROCAL_OP,
  RMSNORM_OP,
  RSQRT_OP,
  SILU_OP,
  SOFTMAX_OP,
} from './nonlinear-approx.js';

export type { OpSpec, OpCheck, InputRng } from './types.js';
export { defineOp } from './types.js';

export const OPS: ReadonlyArray<OpSpec> = [
  MUL_OP,
  MATVEC_OP,
  MATMUL_OP,
  TRUNC_OP,
  DRELU_OP,
  RELU_OP,
  EQ_OP,
  MAX_OP,
  ARGMAX_OP,
  ONEHOT_OP,
  GATHER_OP,
  TOPK_OP,
  EXP_OP,
  RECIPROCAL_OP,
  RSQRT_OP,
  GELU_OP,
  SILU_OP,
  SOFTMAX_OP,
  LAYERNORM_OP,
  RMSNORM_OP,
];

export function getOp(name: string): OpSpec {
  const op = OPS.find((o) => o.name === name);
  if (!op) throw new MpcError('E_INPUT', `unknown op '${name}' (known: ${OPS.map((o) => o.name).join(', ')})`);
  return op;
}
