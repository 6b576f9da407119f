export * from './fixed-point.js';
export * from './tensor.js';
export * from './u64.js';
export { Kernels, matmulNTRef, matmulNNRef, type Region } from './kernels.js';
export { Prg, randomSeed, SEED_BYTES } from './prg.js';
