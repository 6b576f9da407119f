export type { AttnMask, BackendTypes, BlockParams, KVCache, ModelParams, Ops, PlainTypes, TensorLike } from './types.js';
export type { BlockAgg, CachePiece, ClusterScoreRule, ClusterSeries, EvictionOps, GatherUse } from './eviction-types.js';
export { floatOps, floatTensor, FloatKVCache, type FloatTensor, type FloatTypes } from './float.js';
export { plainBackend, plainBackendNames } from './registry.js';
