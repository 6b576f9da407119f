/** Old path of ring/u64.ts, kept only for scripts/bench-kernels.ts (outside this change); import u64.js. */
export * from './u64.js';
