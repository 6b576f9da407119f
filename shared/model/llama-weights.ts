/**
 * Llama weights in plain float64, mapped from the Hugging Face tensor names and checked against
 * the config.
 *
 * HF layout (`LlamaForCausalLM`): `model.embed_tokens` [V, d]; per layer `model.layers.{i}.`
 * `input_layernorm`, `self_attn.{q,k,v,o}_proj` (nn.Linear, weight stored [out, in]: q [H·hd, d],
 * k and v [G·hd, d], o [d, H·hd]), `post_attention_layernorm`, `mlp.{gate,up,down}_proj`
 * (gate, up [I, d], down [d, I]); then `model.norm` and `lm_head` [V, d], absent when tied.
 * Linear weights are returned as `LinearWeights` ([in, out], like GPT-2's Conv1D), q, k and v
 * fused into one d → (H + 2G)·hd layer and gate and up into one d → 2I layer.
 */
import { join } from 'node:path';
import { MpcError } from '../util/index.js';
import { readModelConfig, type LlamaConfig } from './llama-config.js';
import { readSafetensorsFile, type Safetensors } from './safetensors.js';
import { Reader, type LinearWeights } from './weights.js';

export interface LlamaBlockWeights {
  /** RMSNorm gain before attention. */
  readonly attnNorm: Float64Array;
  /** q, k, v fused: output columns q (H heads), then k, then v (G heads each), head-major. */
  readonly qkv: LinearWeights;
  readonly o: LinearWeights;
  /** RMSNorm gain before the MLP. */
  readonly mlpNorm: Float64Array;
  /** gate and up fused: output columns gate (I), then up (I). */
  readonly gateUp: LinearWeights;
  readonly down: LinearWeights;
}

export interface LlamaWeights {
  readonly config: LlamaConfig;
  /** Token embeddings [V, d]. */
  readonly wte: Float64Array;
  readonly blocks: readonly LlamaBlockWeights[];
  /** Final RMSNorm gain. */
  readonly norm: Float64Array;
  /** Output projection [V, d]; the same array as `wte` when tied. */
  readonly lmHead: Float64Array;
}

/** Reads nn.Linear weights [out, in] for each part and fuses them into one [in, Σout] layer. */
function fused(r: Reader, names: readonly string[], outs: readonly number[], inDim: number): LinearWeights {
  const outDim = outs.reduce((a, b) => a + b, 0);
  const weight = new Float64Array(inDim * outDim);
  let col = 0;
  names.forEach((name, p) => {
    const o = outs[p]!,
      w = r.get(`${name}.weight`, [o, inDim]);
    for (let j = 0; j < o; j++) for (let i = 0; i < inDim; i++) weight[i * outDim + col + j] = w[j * inDim + i]!;
    col += o;
  });
  return { inDim, outDim, weight, bias: null };
}

function readBlock(r: Reader, c: LlamaConfig, i: number): LlamaBlockWeights {
  const d = c.nEmbd,
    hd = c.headDim,
    at = `model.layers.${i}`;
  const attn = ['q', 'k', 'v'].map((x) => `${at}.self_attn.${x}_proj`);
  return {
    attnNorm: r.get(`${at}.input_layernorm.weight`, [d]),
    qkv: fused(r, attn, [c.nHead * hd, c.nKvHead * hd, c.nKvHead * hd], d),
    o: fused(r, [`${at}.self_attn.o_proj`], [d], c.nHead * hd),
    mlpNorm: r.get(`${at}.post_attention_layernorm.weight`, [d]),
    gateUp: fused(r, [`${at}.mlp.gate_proj`, `${at}.mlp.up_proj`], [c.nInner, c.nInner], d),
    down: fused(r, [`${at}.mlp.down_proj`], [d], c.nInner),
  };
}

/**
 * Maps the tensors of an HF Llama safetensors file to `LlamaWeights`, checking every shape.
 * @throws MpcError E_MODEL if a tensor is missing, has the wrong shape or dtype, or the file holds
 *   tensors the config does not account for.
 */
export function llamaWeightsFromSafetensors(config: LlamaConfig, st: Safetensors): LlamaWeights {
  const names = new Map([...st.tensors.keys()].map((n) => [n, n]));
  const r = new Reader(st, names);
  const { vocabSize: V, nEmbd: d } = config;
  const wte = r.get('model.embed_tokens.weight', [V, d]);
  const blocks = Array.from({ length: config.nLayer }, (_, i) => readBlock(r, config, i));
  const norm = r.get('model.norm.weight', [d]);
  if (!r.has('lm_head.weight') && !config.tieWordEmbeddings)
    throw new MpcError('E_MODEL', `${st.source}: missing tensor "lm_head.weight" (tie_word_embeddings is false)`);
  const lmHead = r.has('lm_head.weight') ? r.get('lm_head.weight', [V, d]) : wte;
  // rotary tables are recomputed from rope_theta; older checkpoints saved them as buffers
  const extra = [...names.keys()].filter((n) => !r.used.has(n) && !/\.rotary_emb\.inv_freq$/.test(n));
  if (extra.length > 0)
    throw new MpcError(
      'E_MODEL',
      `${st.source}: unexpected tensors ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', ...' : ''} (config has ${config.nLayer} layers)`,
    );
  return { config, wte, blocks, norm, lmHead };
}

/**
 * Loads `config.json` and `model.safetensors` from a Llama model folder.
 * @throws MpcError E_MODEL if either file is missing, malformed, inconsistent, or not a Llama model.
 */
export function loadLlama(dir: string): LlamaWeights {
  const config = readModelConfig(join(dir, 'config.json'));
  if (config.arch !== 'llama') throw new MpcError('E_MODEL', `${dir}: config.json is not a Llama model`);
  return llamaWeightsFromSafetensors(config, readSafetensorsFile(join(dir, 'model.safetensors')));
}
