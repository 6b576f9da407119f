/**
 * GPT-2 model configuration: the Hugging Face `config.json` fields the forward pass depends on,
 * validated once and normalised to camelCase.
 *
 * Extra keys are allowed (HF configs carry many that do not change the computation), but any
 * setting that would change the computation in a way this implementation does not reproduce is
 * rejected rather than silently ignored.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { MpcError } from '../util/index.js';

/** Activation names HF maps to the tanh approximation of GeLU (all compute the same function). */
const GELU_TANH = ['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast'];

/** The end-of-text id of GPT-2's BPE vocabulary (`<|endoftext|>`). */
export const GPT2_EOT = 50256;

const count = z.number().int().positive();

const HfGpt2Config = z.looseObject({
  model_type: z.string().optional(),
  n_layer: count,
  n_head: count,
  n_embd: count,
  n_positions: count,
  vocab_size: count,
  n_inner: count.nullable().optional(),
  layer_norm_epsilon: z.number().positive().default(1e-5),
  activation_function: z.string().default('gelu_new'),
  tie_word_embeddings: z.boolean().default(true),
  scale_attn_weights: z.boolean().default(true),
  scale_attn_by_inverse_layer_idx: z.boolean().default(false),
  tokenizer: z.enum(['byte', 'gpt2', 'hf']).optional(),
  eot_token_id: z.number().int().nonnegative().optional(),
  eos_token_id: z.number().int().nonnegative().nullable().optional(),
  bos_token_id: z.number().int().nonnegative().nullable().optional(),
});

/** A validated GPT-2 configuration. */
export interface Gpt2Config {
  readonly arch: 'gpt2';
  readonly nLayer: number;
  readonly nHead: number;
  readonly nEmbd: number;
  /** n_embd / n_head. */
  readonly headDim: number;
  /** Width of the MLP hidden layer (`n_inner`, default 4 · n_embd). */
  readonly nInner: number;
  readonly nPositions: number;
  readonly vocabSize: number;
  readonly lnEps: number;
  readonly tieWordEmbeddings: boolean;
  /**
   * 'byte' for the project's tiny models (bytes + EOT), 'gpt2' for GPT-2's BPE (the default), 'hf'
   * for the model folder's tokenizer.json.
   */
  readonly tokenizer: 'byte' | 'gpt2' | 'hf';
  /** Token id that ends a text (generation stops on it). */
  readonly eotTokenId: number;
  /** Token id put before every sequence: the EOT, or a tokenizer.json model's `bos_token_id`. */
  readonly bosTokenId: number;
}

function reject(source: string, msg: string): never {
  throw new MpcError('E_MODEL', `${source}: ${msg}`);
}

/**
 * Validates a parsed HF GPT-2 `config.json` object.
 * @throws MpcError E_MODEL if a field is missing or invalid, n_embd is not divisible by n_head,
 *   the activation is not GeLU-tanh, attention scaling differs from GPT-2's, or the EOT id is
 *   outside the vocabulary.
 */
export function parseGpt2Config(json: unknown, source = 'config.json'): Gpt2Config {
  const r = HfGpt2Config.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    reject(source, `invalid ${issue?.path.join('.') || 'config'}: ${issue?.message ?? 'bad value'}`);
  }
  const c = r.data;
  if (c.model_type !== undefined && c.model_type !== 'gpt2') reject(source, `model_type "${c.model_type}" is not gpt2`);
  if (c.n_embd % c.n_head !== 0) reject(source, `n_embd ${c.n_embd} is not divisible by n_head ${c.n_head}`);
  if (!GELU_TANH.includes(c.activation_function)) {
    reject(source, `activation_function "${c.activation_function}" is not supported (only ${GELU_TANH.join(', ')})`);
  }
  if (!c.scale_attn_weights || c.scale_attn_by_inverse_layer_idx) {
    reject(source, 'only the standard 1/sqrt(head_dim) attention scaling is supported');
  }
  const tokenizer = c.tokenizer ?? 'gpt2';
  const eot = tokenizer === 'byte' ? c.eot_token_id : (c.eot_token_id ?? c.eos_token_id ?? GPT2_EOT);
  if (eot === undefined || eot === null) reject(source, 'a byte-tokenizer model needs eot_token_id');
  if (eot >= c.vocab_size) reject(source, `EOT id ${eot} is outside the vocabulary of ${c.vocab_size}`);
  const bos = tokenizer === 'hf' ? (c.bos_token_id ?? eot) : eot;
  if (bos >= c.vocab_size) reject(source, `BOS id ${bos} is outside the vocabulary of ${c.vocab_size}`);
  return Object.freeze({
    arch: 'gpt2' as const,
    nLayer: c.n_layer,
    nHead: c.n_head,
    nEmbd: c.n_embd,
    headDim: c.n_embd / c.n_head,
    nInner: c.n_inner ?? 4 * c.n_embd,
    nPositions: c.n_positions,
    vocabSize: c.vocab_size,
    lnEps: c.layer_norm_epsilon,
    tieWordEmbeddings: c.tie_word_embeddings,
    tokenizer,
    eotTokenId: eot,
    bosTokenId: bos,
  });
}

/**
 * A `config.json` file's JSON, not yet validated.
 * @throws MpcError E_MODEL if the file is unreadable or not JSON.
 */
export function readConfigJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new MpcError('E_MODEL', `${path}: cannot read config (${(err as Error).message})`, { cause: err });
  }
}

/**
 * Reads and validates a `config.json` file.
 * @throws MpcError E_MODEL if the file is unreadable, not JSON, or invalid (see `parseGpt2Config`).
 */
export function readGpt2Config(path: string): Gpt2Config {
  return parseGpt2Config(readConfigJson(path), path);
}
