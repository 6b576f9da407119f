/**
 * Either architecture in the ring backends, chosen by `config.arch`: the tensor spec a share file
 * holds, the encoding the model owner shares, and loading the tensors as fixed-mask matrices. The
 * runtime (share-model, the parties, the dealer, start) goes through these so that GPT-2 and Llama
 * take the same path.
 */
import { join } from 'node:path';
import { FRAC_BITS } from '../../ring/fixed-point.js';
import type { AnyTensor } from '../../ring/tensor.js';
import type { FixedHandle, Prims } from '../../protocol/prims/types.js';
import { readModelConfig, type ModelConfig } from '../llama-config.js';
import { llamaWeightsFromSafetensors, type LlamaWeights } from '../llama-weights.js';
import { gpt2WeightsFromSafetensors, type Gpt2Weights } from '../weights.js';
import { readSafetensorsFile } from '../safetensors.js';
import type { AnyModelParams, BackendTypes, Ops } from '../ops/types.js';
import { encodeRingModel, ringModelSpec, type EncodedTensor, type RingTensorSpec } from './fold.js';
import { encodeLlamaModel, llamaRingSpec, loadRingLlama } from './llama.js';
import { loadRingModel, type RingTypes } from './ops.js';

/** Plain weights of either architecture; `config.arch` tells which. */
export type AnyWeights = Gpt2Weights | LlamaWeights;

/**
 * Loads `config.json` and `model.safetensors` from a model folder of either architecture
 * (`model_type: llama`, or GPT-2).
 * @throws MpcError E_MODEL if either file is missing, malformed or inconsistent with the other.
 */
export function loadAnyModel(dir: string): AnyWeights {
  const config = readModelConfig(join(dir, 'config.json'));
  const st = readSafetensorsFile(join(dir, 'model.safetensors'));
  return config.arch === 'llama' ? llamaWeightsFromSafetensors(config, st) : gpt2WeightsFromSafetensors(config, st);
}

/** Builds a backend's parameter handles for either architecture (`ops.prepare` or `ops.prepareLlama`). */
export function prepareAnyModel<B extends BackendTypes>(ops: Ops<B>, w: AnyWeights): Promise<AnyModelParams<B>> {
  return w.config.arch === 'llama' ? ops.prepareLlama(w as LlamaWeights) : ops.prepare(w as Gpt2Weights);
}

/** Names and shapes of the ring model's tensors, in a fixed order (`ringModelSpec` or `llamaRingSpec`). */
export function anyRingSpec(c: ModelConfig, f = FRAC_BITS): Array<[string, RingTensorSpec]> {
  return c.arch === 'llama' ? llamaRingSpec(c, f) : ringModelSpec(c, f);
}

/** Folds and encodes either architecture: the ring values the emulation and share files hold. */
export function encodeAnyModel(w: AnyWeights, f = FRAC_BITS): Map<string, EncodedTensor> {
  return w.config.arch === 'llama' ? encodeLlamaModel(w as LlamaWeights, f) : encodeRingModel(w as Gpt2Weights, f);
}

/** Registers either architecture's ring tensors as fixed-mask matrices (each opened once). */
export function loadAnyRingModel<T extends AnyTensor, F extends FixedHandle, Tok extends { readonly length: number }>(
  P: Prims<T, F>,
  config: ModelConfig,
  get: (name: string) => T,
): Promise<AnyModelParams<RingTypes<T, F, Tok>>> {
  return config.arch === 'llama' ? loadRingLlama<T, F, Tok>(P, config, get) : loadRingModel<T, F, Tok>(P, config, get);
}
