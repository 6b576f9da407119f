export type { Prims, PublicConst, CmpOut, CmpKOpts, CmpKOut, FixedHandle, TruncMode } from './types.js';
export type { ClientIO } from '../ctx.js';
export { SecurePrims } from './secure.js';
export { ClearPrims, type ClearFixed } from './clear.js';
export { DealerPrims } from './dealer.js';
export { RevealPrims } from './reveal.js';
