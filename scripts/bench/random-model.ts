/**
 * A random GPT-2 of a given shape, written as a Hugging Face folder (config.json + model.safetensors):
 * what the benchmarks measure cost on (`--model gpt2-small`, or the embedded model's shape when it is
 * missing). Deterministic for a seed; the config says `random_weights` so no report can mistake it
 * for a trained model.
 * Weights are unit-variance preserving (std 1/√fan_in), embeddings and LayerNorm gains as a trained
 * small model's orders of magnitude; the outputs mean nothing — costs do not depend on them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSafetensors, type TensorToWrite } from '../../shared/model/index.js';

export interface ModelShape {
  nLayer: number;
  nHead: number;
  nEmbd: number;
  nPositions: number;
  vocab: number;
  tokenizer: 'byte' | 'gpt2';
}

/** The embedded model's shape (models/tiny-gpt2). */
export const TINY_GPT2_SHAPE: ModelShape = {
  nLayer: 4,
  nHead: 4,
  nEmbd: 128,
  nPositions: 2048,
  vocab: 257,
  tokenizer: 'byte',
};

/** GPT-2 small (124M): 12 layers, 12 heads of 64, 1024 positions, GPT-2 BPE (50 257 ids, EOT 50256). */
export const GPT2_SMALL_SHAPE: ModelShape = {
  nLayer: 12,
  nHead: 12,
  nEmbd: 768,
  nPositions: 1024,
  vocab: 50257,
  tokenizer: 'gpt2',
};

/** A seeded standard normal generator (Box–Muller over a 32-bit mixer): the same weights for a seed. */
export function normal(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 2 ** 32;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** The config.json of a random model of shape `s` (it says `random_weights`). */
export function randomConfigJson(s: ModelShape, seed: number): Record<string, unknown> {
  return {
    model_type: 'gpt2',
    n_layer: s.nLayer,
    n_head: s.nHead,
    n_embd: s.nEmbd,
    n_positions: s.nPositions,
    vocab_size: s.vocab,
    layer_norm_epsilon: 1e-5,
    activation_function: 'gelu_new',
    tokenizer: s.tokenizer,
    eot_token_id: s.vocab - 1,
    random_weights: `seed ${seed}`,
  };
}

export function writeRandomGpt2(dir: string, s: ModelShape, seed: number): void {
  const rnd = normal(seed),
    d = s.nEmbd,
    t: Record<string, TensorToWrite> = {};
  const put = (name: string, shape: number[], std: number, mean = 0) => {
    const n = shape.reduce((a, b) => a * b, 1);
    t[name] = { dtype: 'F32', shape, data: Float64Array.from({ length: n }, () => mean + std * rnd()) };
  };
  put('wte.weight', [s.vocab, d], 0.5);
  put('wpe.weight', [s.nPositions, d], 0.3);
  for (let i = 0; i < s.nLayer; i++) {
    put(`h.${i}.ln_1.weight`, [d], 0.1, 1);
    put(`h.${i}.ln_1.bias`, [d], 0.1);
    put(`h.${i}.attn.c_attn.weight`, [d, 3 * d], 1 / Math.sqrt(d));
    put(`h.${i}.attn.c_attn.bias`, [3 * d], 0.1);
    put(`h.${i}.attn.c_proj.weight`, [d, d], 1 / Math.sqrt(d));
    put(`h.${i}.attn.c_proj.bias`, [d], 0.1);
    put(`h.${i}.ln_2.weight`, [d], 0.1, 1);
    put(`h.${i}.ln_2.bias`, [d], 0.1);
    put(`h.${i}.mlp.c_fc.weight`, [d, 4 * d], 1 / Math.sqrt(d));
    put(`h.${i}.mlp.c_fc.bias`, [4 * d], 0.1);
    put(`h.${i}.mlp.c_proj.weight`, [4 * d, d], 1 / Math.sqrt(4 * d));
    put(`h.${i}.mlp.c_proj.bias`, [d], 0.1);
  }
  put('ln_f.weight', [d], 0.1, 1);
  put('ln_f.bias', [d], 0.1);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(randomConfigJson(s, seed)));
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(t, { note: `random weights, seed ${seed}` }));
}
