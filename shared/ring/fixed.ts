/** Old path of ring/fixed-point.ts, kept only for scripts/bench-ops.ts (outside this change); import fixed-point.js. */
export * from './fixed-point.js';
