export type {
  AnyModelParams,
  AttnMask,
  LlamaBlockParams,
  LlamaParams,
  RotaryShape,
  BackendTypes,
  BlockParams,
  KVCache,
  ModelParams,
  Ops,
  PlainTypes,
  TensorLike,
} from './types.js';
export { floatOps, floatTensor, FloatKVCache, type FloatTensor, type FloatTypes } from './float.js';
export { dims } from './float-cache.js';
export { plainBackend, plainBackendNames } from './registry.js';
