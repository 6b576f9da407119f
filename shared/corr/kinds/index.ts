/**
 * The registry of correlation kinds. Dealer and parties both import this list; nothing else
 * switches on a kind's name. Adding a kind = one file here + one line below + its relation test.
 */
import type { CorrKind } from '../kind.js';
import { MUL, SQUARE } from './arith.js';
import { FIXED_ALLOC, FIXED_APPEND, FIXED_COPY, FIXED_PRODUCT } from './fixed.js';
import { FIXED_SELECT } from './fixed-select.js';
import { TRUNC } from './trunc.js';
import { TRUNC_LEAN } from './trunc-lean.js';
import { CMP } from './compare.js';
import { CMPK } from './compare-k.js';
import { LUT } from './lut.js';
import { BITMUL, MATMUL, MUL_SEG } from './products.js';

export { MUL, SQUARE } from './arith.js';
export { FIXED_ALLOC, FIXED_APPEND, FIXED_COPY, copyRows, FIXED_PRODUCT, FixedProductParams, fixedDims, fixedLayout, fixedProductParams, viewProduct, viewFits, type FixedView } from './fixed.js';
export { FIXED_SELECT, FixedSelectParams, selectDims, viewRegion, regionNN, regionNT, transpose } from './fixed-select.js';
export { TRUNC, TRUNC_NODES, truncBlocks, MAX_TRUNC_BITS } from './trunc.js';
export { TRUNC_LEAN, LEAN_TRUNC_NODES, LEAN_TRUNC_MAX_BITS, leanBlocks } from './trunc-lean.js';
export { CMP, CMP_L1, CMP_TOP, CMP_BLOCKS, CmpParams } from './compare.js';
export { CMPK, CmpkParams, cmpkPlan, blockOf, treeNode, type CmpkPlan } from './compare-k.js';
export { LUT, LutParams, lutBorrow, LUT_MAX_S, LUT_MAX_W } from './lut.js';
export { MATMUL, MatmulParams, matmulAddInto, MUL_SEG, BITMUL } from './products.js';

export const KINDS: ReadonlyArray<CorrKind<any>> = [MUL, SQUARE, FIXED_ALLOC, FIXED_APPEND, FIXED_COPY, FIXED_PRODUCT, FIXED_SELECT, TRUNC, TRUNC_LEAN, CMP,
  CMPK, LUT, MATMUL, MUL_SEG, BITMUL];
