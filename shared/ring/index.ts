export * from './fixed.js';
export * from './tensor.js';
export * from './ops.js';
export { Kernels, matmulNTRef, matmulNNRef, type Region } from './kernels.js';
export { Prg, randomSeed, SEED_BYTES } from './prg.js';
