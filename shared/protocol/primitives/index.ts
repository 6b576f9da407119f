/**
 * The registry: every interactive primitive, one module each (primitive.ts says what a module
 * declares). The Prims implementations interpret these records; test/protocol/primitives.test.ts
 * loops over this list. Adding a primitive = one module + one line here (+ a Prims method if
 * programs should call it by name rather than through `P.run`).
 */
import type { CorrKind } from '../../corr/kind.js';
import type { Primitive } from '../primitive.js';
import { CMP } from './cmp.js';
import { CMPK } from './cmpk.js';
import { FIXED_ALLOC } from './fixed-alloc.js';
import { FIXED_APPEND } from './fixed-append.js';
import { FIXED_CLIENT } from './fixed-client.js';
import { FIXED_COPY } from './fixed-copy.js';
import { FIXED_PRODUCT } from './fixed-product.js';
import { FIXED_SELECT } from './fixed-select.js';
import { LUT } from './lut.js';
import { MATMUL } from './matmul.js';
import { MUL } from './mul.js';
import { MUL_BIT } from './mul-bit.js';
import { MUL_SEG } from './mul-seg.js';
import { SQUARE } from './square.js';
import { TRUNC } from './trunc.js';
import { TRUNC_LEAN } from './trunc-lean.js';
import { XLUT } from './xlut.js';

export const PRIMITIVES: readonly Primitive[] = [
  MUL,
  SQUARE,
  TRUNC,
  TRUNC_LEAN,
  CMP,
  CMPK,
  LUT,
  XLUT,
  MATMUL,
  MUL_SEG,
  MUL_BIT,
  FIXED_ALLOC,
  FIXED_APPEND,
  FIXED_COPY,
  FIXED_PRODUCT,
  FIXED_SELECT,
  FIXED_CLIENT,
];

/** Every correlation kind, once (fixedMatmulClient shares fixedMatmul's). */
export const KINDS: readonly CorrKind<unknown>[] = [...new Set(PRIMITIVES.map((p) => p.kind))];

export {
  CMP,
  CMPK,
  FIXED_ALLOC,
  FIXED_APPEND,
  FIXED_CLIENT,
  FIXED_COPY,
  FIXED_PRODUCT,
  FIXED_SELECT,
  LUT,
  MATMUL,
  MUL,
  MUL_BIT,
  MUL_SEG,
  SQUARE,
  TRUNC,
  TRUNC_LEAN,
  XLUT,
};
export { broadcastRows } from './mul.js';
export { MAX_TRUNC_BITS } from './trunc.js';
export { useLeanTrunc, LEAN_TRUNC_MAX_BITS, LEAN_TRUNC_MIN_ELEMENTS } from './trunc-lean.js';
export type { CmpOpts } from './cmp.js';
export type { CmpkOpts, CmpkParams } from './cmpk.js';
export { lutOutFrac, type LutField, type LutTable, type LutOpts, type LutParams } from './lut.js';
export type { MulSegOpts } from './mul-seg.js';
export type { XlutField, XlutOpts, XlutParams } from './xlut.js';
export type { FixedCopyOpts } from './fixed-copy.js';
export {
  fixedProductParams,
  fixedDims,
  fixedLayout,
  viewFits,
  type FixedProductParams,
  type FixedProductOpts,
  type FixedView,
} from './fixed-product.js';
export type { FixedSelectOpts, FixedSelectParams, SelectView } from './fixed-select.js';
export type { ClientProductOpts } from './fixed-client.js';
