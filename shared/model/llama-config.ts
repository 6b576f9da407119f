/**
 * Llama-family configuration (`model_type: llama`): the Hugging Face `config.json` fields the
 * forward pass depends on, validated once, and the architecture-discriminated `ModelConfig`.
 *
 * As for GPT-2, extra keys are allowed, but any setting that would change the computation in a
 * way this implementation does not reproduce (RoPE scaling, biases, another activation, partial
 * rotary dimensions) is rejected rather than ignored.
 */
import { z } from 'zod';
import { MpcError } from '../util/index.js';
import { parseGpt2Config, readConfigJson, type Gpt2Config } from './config.js';

const count = z.number().int().positive();
const tokenId = z.number().int().nonnegative();

const HfLlamaConfig = z.looseObject({
  model_type: z.literal('llama'),
  num_hidden_layers: count,
  num_attention_heads: count,
  num_key_value_heads: count.nullable().optional(),
  hidden_size: count,
  head_dim: count.nullable().optional(),
  intermediate_size: count,
  max_position_embeddings: count,
  vocab_size: count,
  rms_norm_eps: z.number().positive().default(1e-6),
  rope_theta: z.number().positive().optional(),
  rope_scaling: z.null().optional(),
  /** transformers ≥ 5 writes θ here instead of `rope_theta`; only the default (unscaled) type is supported. */
  rope_parameters: z
    .looseObject({ rope_theta: z.number().positive(), rope_type: z.literal('default').default('default') })
    .nullable()
    .optional(),
  hidden_act: z.string().default('silu'),
  attention_bias: z.boolean().default(false),
  mlp_bias: z.boolean().default(false),
  pretraining_tp: z.number().int().default(1),
  tie_word_embeddings: z.boolean().default(false),
  tokenizer: z.enum(['byte', 'hf']).optional(),
  eot_token_id: tokenId.optional(),
  bos_token_id: tokenId.nullable().optional(),
  eos_token_id: z
    .union([tokenId, z.array(tokenId).min(1)])
    .nullable()
    .optional(),
});

/** A validated Llama configuration. Field names follow `Gpt2Config` where the meaning is the same. */
export interface LlamaConfig {
  readonly arch: 'llama';
  readonly nLayer: number;
  /** Query heads. */
  readonly nHead: number;
  /** Key/value heads (grouped-query attention: nHead / nKvHead query heads share each). */
  readonly nKvHead: number;
  /** Residual width (`hidden_size`). */
  readonly nEmbd: number;
  readonly headDim: number;
  /** SwiGLU hidden width (`intermediate_size`). */
  readonly nInner: number;
  readonly nPositions: number;
  readonly vocabSize: number;
  readonly rmsEps: number;
  readonly ropeTheta: number;
  readonly tieWordEmbeddings: boolean;
  /** 'byte' for the project's own models; 'hf' for a checkpoint's tokenizer.json. */
  readonly tokenizer: 'byte' | 'hf';
  readonly eotTokenId: number;
  /**
   * Token id put before every sequence: a tokenizer.json model's `bos_token_id` (Llama-2's `<s>`,
   * Llama-3's `<|begin_of_text|>`), else the EOT (the project's own models start with it).
   */
  readonly bosTokenId: number;
}

/** Any supported architecture's configuration. */
export type ModelConfig = Gpt2Config | LlamaConfig;

function reject(source: string, msg: string): never {
  throw new MpcError('E_MODEL', `${source}: ${msg}`);
}

/** Checks the settings whose effect this implementation does not reproduce. */
function checkSupported(c: z.infer<typeof HfLlamaConfig>, source: string): void {
  if (c.hidden_act !== 'silu') reject(source, `hidden_act "${c.hidden_act}" is not supported (only silu)`);
  if (c.attention_bias || c.mlp_bias) reject(source, 'attention_bias and mlp_bias are not supported');
  if (c.pretraining_tp !== 1) reject(source, 'pretraining_tp other than 1 is not supported');
  if (c.partial_rotary_factor !== undefined && c.partial_rotary_factor !== 1)
    reject(source, 'partial_rotary_factor is not supported');
}

/**
 * Validates a parsed HF Llama `config.json` object.
 * @throws MpcError E_MODEL if a field is missing or invalid, the heads do not divide evenly, the
 *   activation is not SiLU, RoPE scaling or biases are set, or the EOT id is outside the vocabulary.
 */
export function parseLlamaConfig(json: unknown, source = 'config.json'): LlamaConfig {
  const r = HfLlamaConfig.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    reject(source, `invalid ${issue?.path.join('.') || 'config'}: ${issue?.message ?? 'bad value'}`);
  }
  const c = r.data;
  checkSupported(c, source);
  const kv = c.num_key_value_heads ?? c.num_attention_heads;
  if (c.num_attention_heads % kv !== 0)
    reject(source, `num_attention_heads ${c.num_attention_heads} is not a multiple of num_key_value_heads ${kv}`);
  const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0)
    reject(source, `head dimension ${headDim} is not an even integer`);
  const eos = Array.isArray(c.eos_token_id) ? c.eos_token_id[0] : c.eos_token_id;
  const eot = c.eot_token_id ?? eos;
  if (eot === undefined || eot === null) reject(source, 'a Llama model needs eos_token_id or eot_token_id');
  if (eot >= c.vocab_size) reject(source, `EOT id ${eot} is outside the vocabulary of ${c.vocab_size}`);
  const tokenizer = c.tokenizer ?? 'hf';
  // byte-tokenizer models were trained with the EOT first, whatever bos_token_id says
  const bos = tokenizer === 'hf' ? (c.bos_token_id ?? eot) : eot;
  if (bos >= c.vocab_size) reject(source, `BOS id ${bos} is outside the vocabulary of ${c.vocab_size}`);
  return Object.freeze({
    arch: 'llama' as const,
    nLayer: c.num_hidden_layers,
    nHead: c.num_attention_heads,
    nKvHead: kv,
    nEmbd: c.hidden_size,
    headDim,
    nInner: c.intermediate_size,
    nPositions: c.max_position_embeddings,
    vocabSize: c.vocab_size,
    rmsEps: c.rms_norm_eps,
    ropeTheta: c.rope_parameters?.rope_theta ?? c.rope_theta ?? 10000,
    tieWordEmbeddings: c.tie_word_embeddings,
    tokenizer,
    eotTokenId: eot,
    bosTokenId: bos,
  });
}

/**
 * A config of any supported architecture, by `model_type` (`llama`; `gpt2` or absent: GPT-2).
 * @throws MpcError E_MODEL as the architecture's parser does.
 */
export function parseModelConfig(json: unknown, source = 'config.json'): ModelConfig {
  const type = (json as { model_type?: unknown } | null)?.model_type;
  return type === 'llama' ? parseLlamaConfig(json, source) : parseGpt2Config(json, source);
}

/**
 * Reads and validates a `config.json` file of any supported architecture.
 * @throws MpcError E_MODEL if the file is unreadable, not JSON, or invalid.
 */
export function readModelConfig(path: string): ModelConfig {
  return parseModelConfig(readConfigJson(path), path);
}

/** Key/value heads of a config: nKvHead for Llama, nHead for GPT-2. */
export function kvHeadsOf(c: ModelConfig): number {
  return c.arch === 'llama' ? c.nKvHead : c.nHead;
}
