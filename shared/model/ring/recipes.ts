/**
 * The non-linear recipes the model runs with, in every role: parties, dealer and the fixed-point
 * emulation must use the very same recipes (and widths), or the dealer's schedule and the
 * emulation's values would not match the parties'. One constant, imported everywhere.
 */
import type { RingNonlinear } from './ops.js';
import { NONLINEAR_SUITE, rmsNorm, siluAct } from '../../protocol/nonlinear/index.js';

/**
 * The suite plus Llama's RMSNorm and SiLU (SiLU left at 2f: SwiGLU's product truncates anyway;
 * bounds as the suite's: RMS² + eps in [2^−8, 2^28)/d, |gate| < 16384).
 */
export const STANDARD_NL: RingNonlinear = {
  ...NONLINEAR_SUITE,
  rmsNorm: (P, x, eps) => rmsNorm(P, x, { eps }),
  silu: (P, x) => siluAct(P, x, { width: 32, outFrac: 2 * x.fracBits }),
};

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
