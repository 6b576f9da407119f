/**
 * A random Llama of a given shape, written as a Hugging Face folder (config.json +
 * model.safetensors): what `npm run bench` measures Llama costs on (`--model smollm2-135m`,
 * `smollm2-135m-mha`, and `llama-tiny` for tests). Deterministic for a seed; the config says
 * `random_weights` so no report can mistake it for a trained model.
 *
 * Tokenizer: the byte tokenizer (`"tokenizer": "byte"`, ids 0–255 for bytes, 256 the end marker,
 * `eot_token_id: 256`), with the vocabulary kept at the shape's size. SmolLM2's own tokenizer
 * (tokenizer.json, 49,152 BPE ids; readable by tokenizer/hf-json.ts) is not on this machine, and its
 * cost would be the same: what the
 * protocol pays for the vocabulary is the embedding gather and the head's [V, d] product and V-way
 * argmax, which depend on V, not on which text an id stands for. So the rows 257 … V − 1 are ids the
 * tokenizer never produces — the padding a checkpoint may carry — and prompts are bytes only; the
 * model still scores all V ids and may generate any of them (a token id, compared with the
 * emulation's; the benchmark never decodes it to text). Shrinking V to 257 would have dropped most
 * of the head's cost (49,152 × 576 of the model's 134.5 M weights are the tied embedding).
 *
 * Weights: linear layers std 1/√fan_in (variance preserving), RMSNorm gains 1 ± 0.1, embeddings
 * std 0.5; the outputs mean nothing — costs do not depend on them. Written as F32.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSafetensors, type TensorToWrite } from '../../shared/model/index.js';
import { normal } from './random-model.js';

export interface LlamaShape {
  nLayer: number;
  /** Query heads. */
  nHead: number;
  /** Key/value heads (grouped-query attention when fewer than nHead). */
  nKvHead: number;
  headDim: number;
  nEmbd: number;
  /** SwiGLU hidden width. */
  nInner: number;
  nPositions: number;
  vocab: number;
  ropeTheta: number;
  rmsEps: number;
  tied: boolean;
}

/** The byte tokenizer's end marker (shared/model/tokenizer/byte.ts): the vocabulary must exceed it. */
const BYTE_EOT = 256;

/**
 * SmolLM2-135M (HuggingFaceTB/SmolLM2-135M config.json): 30 layers, width 576, 9 query heads and 3
 * key/value heads of 64, MLP 1536, vocabulary 49,152, 8,192 positions, RoPE θ 100,000, rms_norm_eps
 * 1e-5, tied embeddings. `kvHeads` 9 is the same model without grouped-query attention.
 */
export function smolLm2Shape(kvHeads: 3 | 9): LlamaShape {
  return {
    nLayer: 30,
    nHead: 9,
    nKvHead: kvHeads,
    headDim: 64,
    nEmbd: 576,
    nInner: 1536,
    nPositions: 8192,
    vocab: 49152,
    ropeTheta: 100000,
    rmsEps: 1e-5,
    tied: true,
  };
}

/**
 * A small Llama for tests (seconds per cell): 2 layers, width 64, 4 query heads and 2 key/value
 * heads of 16, MLP 128, 320 ids (257 byte-tokenizer ids and 63 never produced, as in SmolLM2's
 * padding), 256 positions, tied embeddings.
 */
export const LLAMA_TINY_SHAPE: LlamaShape = {
  nLayer: 2,
  nHead: 4,
  nKvHead: 2,
  headDim: 16,
  nEmbd: 64,
  nInner: 128,
  nPositions: 256,
  vocab: 320,
  ropeTheta: 10000,
  rmsEps: 1e-5,
  tied: true,
};

/** The config.json of a random Llama of shape `s` (byte tokenizer; `random_weights` says how it was made). */
export function randomLlamaConfigJson(s: LlamaShape, random: string): Record<string, unknown> {
  return {
    model_type: 'llama',
    num_hidden_layers: s.nLayer,
    hidden_size: s.nEmbd,
    num_attention_heads: s.nHead,
    num_key_value_heads: s.nKvHead,
    head_dim: s.headDim,
    intermediate_size: s.nInner,
    vocab_size: s.vocab,
    max_position_embeddings: s.nPositions,
    rope_theta: s.ropeTheta,
    rms_norm_eps: s.rmsEps,
    tie_word_embeddings: s.tied,
    hidden_act: 'silu',
    tokenizer: 'byte',
    eot_token_id: BYTE_EOT,
    random_weights: random,
  };
}

/**
 * Writes config.json and model.safetensors of a random Llama of shape `s` into `dir`.
 * Holds the weights as F32 (≈ 0.54 GB at SmolLM2-135M's shape) plus the encoded file.
 */
export function writeRandomLlama(dir: string, s: LlamaShape, seed: number): void {
  const rnd = normal(seed),
    d = s.nEmbd,
    t: Record<string, TensorToWrite> = {};
  const put = (name: string, shape: number[], std: number, mean = 0) => {
    const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
    for (let i = 0; i < a.length; i++) a[i] = mean + std * rnd();
    t[name] = { dtype: 'F32', shape, data: a };
  };
  const q = s.nHead * s.headDim,
    kv = s.nKvHead * s.headDim;
  put('model.embed_tokens.weight', [s.vocab, d], 0.5);
  for (let i = 0; i < s.nLayer; i++) {
    const at = `model.layers.${i}`;
    put(`${at}.input_layernorm.weight`, [d], 0.1, 1);
    put(`${at}.self_attn.q_proj.weight`, [q, d], 1 / Math.sqrt(d));
    put(`${at}.self_attn.k_proj.weight`, [kv, d], 1 / Math.sqrt(d));
    put(`${at}.self_attn.v_proj.weight`, [kv, d], 1 / Math.sqrt(d));
    put(`${at}.self_attn.o_proj.weight`, [d, q], 1 / Math.sqrt(q));
    put(`${at}.post_attention_layernorm.weight`, [d], 0.1, 1);
    put(`${at}.mlp.gate_proj.weight`, [s.nInner, d], 1 / Math.sqrt(d));
    put(`${at}.mlp.up_proj.weight`, [s.nInner, d], 1 / Math.sqrt(d));
    put(`${at}.mlp.down_proj.weight`, [d, s.nInner], 1 / Math.sqrt(s.nInner));
  }
  put('model.norm.weight', [d], 0.1, 1);
  if (!s.tied) put('lm_head.weight', [s.vocab, d], 1 / Math.sqrt(d));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(randomLlamaConfigJson(s, `seed ${seed}`)));
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(t, { note: `random weights, seed ${seed}` }));
}
