/**
 * The non-linear protocol suite: every recipe is a program over `Prims`, so it runs bit-identically
 * as two-party computation, as the fixed-point emulation and (shape only) on the dealer. Costs and
 * error bounds: each file's header and docs/protocols.md.
 */
export { drelu, relu, ge, eq, clip, select, mux, type WidthOpt } from './compare.js';
export { max2, maxLast, maxPacked, argmaxLast, tournament, type ArgmaxOut } from './max.js';
export { onehot, gatherFixed, gatherIndexFixed, gatherSecret } from './gather.js';
export { topk, RANK_MAX_N, type TopkOpts, type TopkOut } from './topk.js';
export { expNeg, EXP_SPLINE_ERR, type ExpOpts } from './exp.js';
export { reciprocal, rsqrt, RECIP_SPLINE_ERR, RSQRT_SPLINE_ERR, type PowOpts } from './reciprocal.js';
export { gelu, siluAct, ACT_SPLINE_ERR, type ActOpts } from './activation.js';
export { softmax, type SoftmaxOpts } from './softmax.js';
export { layerNorm, rmsNorm, type NormOpts } from './norm.js';
export { layoutOf, scatterIndex, padIndex, rowSums, type Layout, type RowMask } from './ragged.js';
export { fitSpline, splineTable, valueTable, geluTanh, geluErf, silu, erf } from './tables.js';
export { NONLINEAR_SUITE } from './suite.js';
export { topkSelection, blockMinMax, maxPool } from './selection.js';
