export { parseGpt2Config, readGpt2Config, GPT2_EOT, type Gpt2Config } from './config.js';
export {
  parseSafetensors,
  readSafetensorsFile,
  tensorData,
  encodeSafetensors,
  MAX_HEADER_BYTES,
  type Safetensors,
  type TensorInfo,
  type TensorToWrite,
  type FloatDtype,
} from './safetensors.js';
export {
  gpt2WeightsFromSafetensors,
  loadGpt2,
  type Gpt2Weights,
  type BlockWeights,
  type LinearWeights,
  type NormWeights,
} from './weights.js';
export {
  parseLlamaConfig,
  parseModelConfig,
  readModelConfig,
  kvHeadsOf,
  type LlamaConfig,
  type ModelConfig,
} from './llama-config.js';
export { llamaWeightsFromSafetensors, loadLlama, type LlamaWeights, type LlamaBlockWeights } from './llama-weights.js';
export * from './ops/index.js';
export {
  forward,
  createState,
  resetState,
  FULL_ATTENTION,
  type AttentionPolicy,
  type AttentionStep,
  type ForwardOptions,
  type ForwardState,
} from './forward.js';
export {
  generate,
  GreedySession,
  positionsNeeded,
  type GenerateLimits,
  type GenerateOptions,
  type GenerateResult,
} from './generate.js';
export * from './tokenizer/index.js';
