/**
 * The suite as the model's ring backend wants it (structurally the `RingNonlinear` of
 * model/ring/ops.ts; protocol/ cannot import model/, so the shape is matched, not imported).
 * Bounds chosen for GPT-2 activations at f = 16 (each a precondition, see the recipes' headers):
 * LayerNorm var + eps in [2^−8, 2^28)/d; GeLU and softmax scores |x| < 16384; argmax logit gaps
 * < 2^23 (comparison width 40 plus the index bits); Llama's RMSNorm and SiLU as LayerNorm's and
 * GeLU's (RMS² + eps in [2^−8, 2^28)/d, |gate| < 16384).
 *
 * Tuned per network (cost-model.ts): the recipes run with a design whose knobs are decided per
 * call for the suite's network (design.ts `tunedFor`), or with one fixed design (measurements).
 * A design never changes a value, so every role, the emulation included, computes the same
 * result whatever the network.
 */
import type { AnyTensor, Shape } from '../../ring/tensor.js';
import type { Network } from '../cost-model.js';
import type { FixedHandle, Prims, TruncMode } from '../prims/types.js';
import { gelu, siluAct } from './activation.js';
import { truncBy, tunedFor, type Design } from './design.js';
import { argmaxLast } from './max.js';
import { layerNorm, rmsNorm } from './norm.js';
import { softmax, softmaxTimes } from './softmax.js';

/** The non-linear recipes of the ring backend, with one design (tuned for a network by default). */
export class NonlinearSuite {
  readonly design: Design;

  constructor(
    readonly network: Network,
    design?: Design,
  ) {
    this.design = design ?? tunedFor(network);
  }

  /** The same recipes tuned for another network. */
  tuned(network: Network): NonlinearSuite {
    return network === this.network ? this : new NonlinearSuite(network);
  }

  /** ⌊x / 2^s⌋ for a bulk truncation (linear layers' outputs) by the design's protocol. */
  trunc<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T, s: number): Promise<T> {
    return truncBy(P, x, s, this.design);
  }

  layerNorm<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T, eps: number): Promise<T> {
    return layerNorm(P, x, { eps, design: this.design });
  }

  /** RMSNorm without gain (Llama). */
  rmsNorm<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T, eps: number): Promise<T> {
    return rmsNorm(P, x, { eps, design: this.design });
  }

  /** SiLU left at 2f (Llama: SwiGLU's product truncates anyway). */
  silu<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T): Promise<T> {
    return siluAct(P, x, { width: 32, outFrac: 2 * x.fracBits, design: this.design });
  }

  gelu<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T): Promise<T> {
    return gelu(P, x, { width: 32, design: this.design });
  }

  /** GeLU at 2f (no truncation: the next fixed-mask product truncates by 2f). */
  geluWide<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T): Promise<T> {
    return gelu(P, x, { width: 32, design: this.design, outFrac: 2 * x.fracBits });
  }

  softmax<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T, valid: readonly number[]): Promise<T> {
    return softmax(P, x, { lengths: valid, width: 32, design: this.design });
  }

  /**
   * apply(softmax(x)) without the probabilities (softmax.ts `softmaxTimes`): `apply` is linear
   * over the last axis and gets the exponentials at 24 fractional bits.
   */
  attention<T extends AnyTensor, F extends FixedHandle>(
    P: Prims<T, F>,
    x: T,
    valid: readonly number[],
    apply: (e: T) => Promise<T>,
    _outShape: Shape,
  ): Promise<T> {
    return softmaxTimes(P, x, apply, { lengths: valid, width: 32, design: this.design });
  }

  async argmax<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T): Promise<T> {
    return (await argmaxLast(P, x, { width: 40, design: this.design })).index;
  }
}

export type { TruncMode };

/** The recipes the model runs with by default (tuned for the LAN of cost-model.ts). */
export const NONLINEAR_SUITE = new NonlinearSuite('lan');
