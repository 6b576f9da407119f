/**
 * The non-linear recipes the model runs with, in every role: parties, dealer and the fixed-point
 * emulation must use the very same recipes (and widths), or the dealer's schedule and the
 * emulation's values would not match the parties'. One constant, imported everywhere.
 */
import type { RingNonlinear } from './ops.js';
import { NONLINEAR_SUITE } from '../../protocol/nonlinear/index.js';

/**
 * The suite, Llama's RMSNorm and SiLU included (protocol/nonlinear/suite.ts; a class: its recipes
 * are methods, and `tuned(network)` returns the same recipes with designs for another network).
 */
export const STANDARD_NL: RingNonlinear = NONLINEAR_SUITE;

import { Kernels } from '../../ring/kernels.js';
import { FRAC_BITS } from '../../ring/fixed-point.js';
import type { Clear } from '../../ring/tensor.js';
import { ClearPrims, type ClearFixed } from '../../protocol/prims/clear.js';
import { RingOps } from './ops.js';
import { CLEAR_TOKEN_IO } from './io-clear.js';

/** The fixed-point emulation backend: exactly the ring values the secure pipeline computes. */
export function fixedOps(): RingOps<Clear, ClearFixed, readonly number[]> {
  return new RingOps(new ClearPrims(new Kernels()), STANDARD_NL, CLEAR_TOKEN_IO, FRAC_BITS);
}
