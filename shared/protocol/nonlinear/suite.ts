/**
 * The suite as the model's ring backend wants it (structurally the `RingNonlinear` of
 * model/ring/ops.ts; protocol/ cannot import model/, so the shape is matched, not imported).
 * Bounds chosen for GPT-2 activations at f = 16 (each a precondition, see the recipes' headers):
 * LayerNorm var + eps in [2^−8, 2^28)/d; GeLU and softmax scores |x| < 16384; argmax logit gaps
 * < 2^23 (comparison width 40 plus the index bits).
 */
import type { AnyTensor } from '../../ring/tensor.js';
import type { FixedHandle, Prims } from '../prims/types.js';
import { gelu } from './activation.js';
import { argmaxLast } from './max.js';
import { layerNorm } from './norm.js';
import { softmax } from './softmax.js';

export const NONLINEAR_SUITE = {
  layerNorm: <T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T, eps: number): Promise<T> =>
    layerNorm(P, x, { eps }),
  gelu: <T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T): Promise<T> => gelu(P, x, { width: 32 }),
  softmax: <T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T, valid: readonly number[]): Promise<T> =>
    softmax(P, x, { lengths: valid, width: 32 }),
  argmax: async <T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T): Promise<T> =>
    (await argmaxLast(P, x, { width: 40 })).index,
};
