/**
 * GPT-2 weights in plain float64, mapped from the Hugging Face tensor names and checked against
 * the config. This is what a backend's `prepare` turns into its own parameter handles.
 *
 * HF layout: `wte` [V, d], `wpe` [P, d], per block `h.{i}.ln_1`, `attn.c_attn` (Conv1D, weight
 * [d, 3d] stored [in, out]), `attn.c_proj` [d, d], `ln_2`, `mlp.c_fc` [d, inner], `mlp.c_proj`
 * [inner, d], then `ln_f`; `lm_head.weight` [V, d] is usually absent because it is tied to `wte`.
 * Names may carry a `transformer.` prefix (as saved from `GPT2LMHeadModel`) or not (`GPT2Model`);
 * the causal-mask buffers `attn.bias` / `attn.masked_bias` of older checkpoints are ignored.
 */
import { join } from 'node:path';
import { MpcError } from '../util/index.js';
import { readGpt2Config, type Gpt2Config } from './config.js';
import { readSafetensorsFile, tensorData, type Safetensors } from './safetensors.js';

/** A Conv1D / linear layer: y = x · W + b with W row-major [inDim, outDim]. */
export interface LinearWeights {
  readonly inDim: number;
  readonly outDim: number;
  readonly weight: Float64Array;
  readonly bias: Float64Array | null;
}

export interface NormWeights {
  readonly weight: Float64Array;
  readonly bias: Float64Array;
}

export interface BlockWeights {
  readonly ln1: NormWeights;
  /** c_attn: d → 3d, output columns ordered q, k, v, each head-major (head h at h·hd). */
  readonly attnQkv: LinearWeights;
  readonly attnProj: LinearWeights;
  readonly ln2: NormWeights;
  readonly mlpFc: LinearWeights;
  readonly mlpProj: LinearWeights;
}

export interface Gpt2Weights {
  readonly config: Gpt2Config;
  /** Token embeddings [V, d]. */
  readonly wte: Float64Array;
  /** Position embeddings [P, d]. */
  readonly wpe: Float64Array;
  readonly blocks: readonly BlockWeights[];
  readonly lnF: NormWeights;
  /** Output projection [V, d] (logits = x · lmHeadᵀ); the same array as `wte` when tied. */
  readonly lmHead: Float64Array;
}

const IGNORED = /^h\.\d+\.attn\.(bias|masked_bias)$/;

/** Strips the optional `transformer.` prefix; refuses files that mix both spellings of a name. */
function canonicalNames(st: Safetensors): Map<string, string> {
  const names = new Map<string, string>();
  for (const name of st.tensors.keys()) {
    const short = name.startsWith('transformer.') ? name.slice('transformer.'.length) : name;
    if (names.has(short))
      throw new MpcError('E_MODEL', `${st.source}: tensor "${short}" appears twice (with and without "transformer.")`);
    names.set(short, name);
  }
  return names;
}

/** Reads tensors by (canonical) name, checking shapes and recording which were used. */
export class Reader {
  readonly used = new Set<string>();
  constructor(
    private readonly st: Safetensors,
    private readonly names: Map<string, string>,
  ) {}

  has(name: string): boolean {
    return this.names.has(name);
  }

  /** Reads tensor `name`, checking its shape. */
  get(name: string, shape: readonly number[]): Float64Array {
    const full = this.names.get(name);
    if (full === undefined) throw new MpcError('E_MODEL', `${this.st.source}: missing tensor "${name}"`);
    const got = (this.st.tensors.get(full) as { shape: readonly number[] }).shape;
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      throw new MpcError(
        'E_MODEL',
        `${this.st.source}: tensor "${full}" has shape [${got.join(', ')}], config implies [${shape.join(', ')}]`,
      );
    }
    this.used.add(name);
    return tensorData(this.st, full);
  }

  linear(prefix: string, inDim: number, outDim: number): LinearWeights {
    return {
      inDim,
      outDim,
      weight: this.get(`${prefix}.weight`, [inDim, outDim]),
      bias: this.get(`${prefix}.bias`, [outDim]),
    };
  }

  norm(prefix: string, d: number): NormWeights {
    return { weight: this.get(`${prefix}.weight`, [d]), bias: this.get(`${prefix}.bias`, [d]) };
  }
}

function readBlock(r: Reader, c: Gpt2Config, i: number): BlockWeights {
  const d = c.nEmbd;
  return {
    ln1: r.norm(`h.${i}.ln_1`, d),
    attnQkv: r.linear(`h.${i}.attn.c_attn`, d, 3 * d),
    attnProj: r.linear(`h.${i}.attn.c_proj`, d, d),
    ln2: r.norm(`h.${i}.ln_2`, d),
    mlpFc: r.linear(`h.${i}.mlp.c_fc`, d, c.nInner),
    mlpProj: r.linear(`h.${i}.mlp.c_proj`, c.nInner, d),
  };
}

/**
 * Maps the tensors of an HF GPT-2 safetensors file to `Gpt2Weights`, checking every shape.
 * @throws MpcError E_MODEL if a tensor is missing, has the wrong shape or dtype, or the file holds
 *   tensors the config does not account for (e.g. more layers than `n_layer`).
 */
export function gpt2WeightsFromSafetensors(config: Gpt2Config, st: Safetensors): Gpt2Weights {
  const r = new Reader(st, canonicalNames(st));
  const { vocabSize: V, nEmbd: d } = config;
  const wte = r.get('wte.weight', [V, d]);
  const wpe = r.get('wpe.weight', [config.nPositions, d]);
  const blocks = Array.from({ length: config.nLayer }, (_, i) => readBlock(r, config, i));
  const lnF = r.norm('ln_f', d);
  if (!r.has('lm_head.weight') && !config.tieWordEmbeddings) {
    throw new MpcError('E_MODEL', `${st.source}: missing tensor "lm_head.weight" (tie_word_embeddings is false)`);
  }
  const lmHead = r.has('lm_head.weight') ? r.get('lm_head.weight', [V, d]) : wte;
  const extra = [...canonicalNames(st).keys()].filter((n) => !r.used.has(n) && !IGNORED.test(n));
  if (extra.length > 0) {
    throw new MpcError(
      'E_MODEL',
      `${st.source}: unexpected tensors ${extra
        .slice(0, 5)
        .map((n) => `"${n}"`)
        .join(', ')}${extra.length > 5 ? ', ...' : ''} (config has ${config.nLayer} layers)`,
    );
  }
  return { config, wte, wpe, blocks, lnF, lmHead };
}

/**
 * Loads `config.json` and `model.safetensors` from a model folder.
 * @throws MpcError E_MODEL if either file is missing, malformed or inconsistent with the other.
 */
export function loadGpt2(dir: string): Gpt2Weights {
  const config = readGpt2Config(join(dir, 'config.json'));
  return gpt2WeightsFromSafetensors(config, readSafetensorsFile(join(dir, 'model.safetensors')));
}
